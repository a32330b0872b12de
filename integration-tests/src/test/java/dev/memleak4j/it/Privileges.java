package dev.memleak4j.it;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Paths;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Tests that load BPF programs skip, with the reason, where this process could not. */
final class Privileges {
    private Privileges() {}

    static void assumeBpf() throws Exception {
        String status = Files.readString(Paths.get("/proc/self/status"));
        BigInteger effective = BigInteger.ZERO;
        for (String line : status.split("\n")) {
            if (line.startsWith("CapEff:")) {
                effective = new BigInteger(line.substring(7).trim(), 16);
            }
        }
        boolean capable = effective.testBit(21) || (effective.testBit(38) && effective.testBit(39));
        assumeTrue(capable, "skipped: loading BPF programs needs CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN (run as root)");
        assumeTrue(Files.exists(Paths.get("/sys/bus/event_source/devices/uprobe/type")),
                "skipped: this kernel has no uprobe PMU");
    }
}
