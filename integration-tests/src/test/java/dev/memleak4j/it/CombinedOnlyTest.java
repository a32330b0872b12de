package dev.memleak4j.it;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * combined-only: the report comes from the kernel's per-stack counters alone, never from the per-address table. The
 * counters must still hold exactly what LeakProgram's all-functions scenario left outstanding per stack (frees,
 * reallocations and failures netted out), and the options that need per-address state say that they do not apply.
 */
class CombinedOnlyTest {
    private static final String LIB = "Java_dev_memleak4j_it_programs_LeakLib_";

    @Test
    void perStackCountersHoldTheExactLeakAndOlderAndShowAllocsSayTheyDoNotApply() throws Exception {
        Privileges.assumeBpf();
        AgentRun run = AgentRun.leakProgram(AgentRun.tempDir("combined"),
                "interval=1,count=2,older=500,show-allocs,top=100,sample-bytes=0,min-size=900000,combined-only",
                "all-functions", "3500");
        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.agentLines().contains("memleak4j: warning: 'older' does not apply with combined-only (the "
                + "per-stack counters carry no ages)"), run.describe());
        assertTrue(run.agentLines().contains("memleak4j: warning: 'show-allocs' does not apply with combined-only (no "
                + "per-address state is read)"), run.describe());
        Report report = run.lastReport();
        for (Map.Entry<String, long[]> e : AllocatorFunctionsTest.EXPECTED.entrySet()) {
            String frame = LIB + e.getKey() + "+0x";
            assertEquals(e.getValue()[0], report.bytesFrom(frame), "bytes from " + e.getKey() + "\n" + report);
            assertEquals(e.getValue()[1], report.countFrom(frame), "allocations from " + e.getKey() + "\n" + report);
        }
        // No addresses listed: the per-address table is not read.
        assertTrue(report.stacks.stream().allMatch(s -> s.allocations.isEmpty()), run.reports);
        assertTrue(!run.reports.contains("addr = "), run.reports);
    }
}
