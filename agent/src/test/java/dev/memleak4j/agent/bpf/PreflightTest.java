package dev.memleak4j.agent.bpf;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The kernel check says, in one sentence, which kernels are too old for the BPF programs memleak4j loads. */
class PreflightTest {
    @Test
    void kernelsBefore517AreTooOldBecauseTheWalkUsesBpfLoop() {
        assertEquals(Optional.of("kernel 5.16.20-generic is too old: memleak4j needs Linux 5.17 or newer "
                        + "(BPF attach cookies on uprobes, bpf_loop)"),
                Preflight.kernelProblem("5.16.20-generic\n"));
        assertEquals(Optional.of("kernel 4.19.0 is too old: memleak4j needs Linux 5.17 or newer "
                        + "(BPF attach cookies on uprobes, bpf_loop)"),
                Preflight.kernelProblem("4.19.0"));
    }

    @Test
    void kernelsFrom517OnPass() {
        assertEquals(Optional.empty(), Preflight.kernelProblem("5.17.0"));
        assertEquals(Optional.empty(), Preflight.kernelProblem("6.18.44-cloud-amd64"));
        assertEquals(Optional.empty(), Preflight.kernelProblem("10.0"));
    }

    @Test
    void anUnreadableReleaseLeavesTheVerdictToTheLoad() {
        assertEquals(Optional.empty(), Preflight.kernelProblem(null));
        assertEquals(Optional.empty(), Preflight.kernelProblem("weird"));
    }
}
