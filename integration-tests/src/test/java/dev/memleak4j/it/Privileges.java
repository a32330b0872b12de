package dev.memleak4j.it;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Paths;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What a test needs from the machine. Where the suite must run in full, a missing need fails the test: in CI
 * ({@code CI=true}), with {@code -Dmemleak4j.it.requirePrivileges=true}, and in any process that may load BPF programs
 * (root, or CAP_BPF+CAP_PERFMON, or CAP_SYS_ADMIN) — there a skip would turn a broken machine or a broken test into a
 * green build. Elsewhere (a developer without privileges) the test is skipped with the reason.
 */
final class Privileges {
    static final String REQUIRE_PROPERTY = "memleak4j.it.requirePrivileges";

    private Privileges() {}

    /** CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON, in this process's effective set. */
    static boolean canLoadBpf() {
        try {
            BigInteger effective = BigInteger.ZERO;
            for (String line : Files.readString(Paths.get("/proc/self/status")).split("\n")) {
                if (line.startsWith("CapEff:")) {
                    effective = new BigInteger(line.substring(7).trim(), 16);
                }
            }
            return effective.testBit(21) || (effective.testBit(38) && effective.testBit(39));
        } catch (IOException | NumberFormatException e) {
            return false;
        }
    }

    /** Whether every test must run here (see the class comment). */
    static boolean mustRunEverything() {
        return "true".equalsIgnoreCase(System.getenv("CI")) || Boolean.getBoolean(REQUIRE_PROPERTY) || canLoadBpf();
    }

    /** Skips the test (unprivileged developer) or fails it (where everything must run) when {@code present} is false. */
    static void require(boolean present, String missing) {
        if (present) {
            return;
        }
        if (mustRunEverything()) {
            fail("not skipped, because this machine must run every test (CI=true, -D" + REQUIRE_PROPERTY
                    + "=true, or BPF privileges): " + missing);
        }
        assumeTrue(false, "skipped: " + missing);
    }

    static void assumeBpf() {
        require(canLoadBpf(), "loading BPF programs needs CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN (run as root)");
        require(Files.exists(Paths.get("/sys/bus/event_source/devices/uprobe/type")), "this kernel has no uprobe PMU");
        require(Files.exists(Paths.get("/sys/kernel/btf/vmlinux")),
                "this kernel has no BTF (/sys/kernel/btf/vmlinux): the BPF programs are compiled once, for any kernel");
    }
}
