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

    @Test
    void theMinorIsTheSecondPieceBetweenDotsAndDashes() {
        assertEquals(Optional.of("kernel 5-16 is too old: memleak4j needs Linux 5.17 or newer "
                + "(BPF attach cookies on uprobes, bpf_loop)"), Preflight.kernelProblem("5-16"));
        assertEquals(Optional.of("kernel 5. is too old: memleak4j needs Linux 5.17 or newer "
                + "(BPF attach cookies on uprobes, bpf_loop)"), Preflight.kernelProblem("5."));
        assertEquals(Optional.empty(), Preflight.kernelProblem("5..17"));
        assertEquals(Optional.empty(), Preflight.kernelProblem("-5.17"));
        assertEquals(Optional.empty(), Preflight.kernelProblem(""));
    }

    @Test
    void capabilitiesPassWithBpfAndPerfmonOrSysAdmin() {
        String lacking = "this process lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN): run the JVM as root or grant"
                + " them, e.g. setcap cap_bpf,cap_perfmon+ep on the java binary";
        assertEquals(Optional.empty(), Preflight.capabilityProblem("Name:\tjava\nCapEff:\t000001ffffffffff\n"));
        assertEquals(Optional.empty(), Preflight.capabilityProblem("CapEff:\t000000c000000000\n"));
        assertEquals(Optional.empty(), Preflight.capabilityProblem("CapEff:\t0000000000200000\n"));
        assertEquals(Optional.of(lacking), Preflight.capabilityProblem("CapEff:\t0000004000000000\n"));
        assertEquals(Optional.of(lacking), Preflight.capabilityProblem("CapInh:\t0\nCapEff:\t0000000000000000\n"));
        assertEquals(Optional.empty(), Preflight.capabilityProblem("Name:\tjava\n"));
    }
}
