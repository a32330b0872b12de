package dev.memleak4j.it;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** older, min-size, max-size, top, count and sample-rate, each seen in real reports. */
class ReportOptionsTest {
    private static final String LIB = "Java_dev_memleak4j_it_programs_LeakLib_";

    @BeforeEach
    void privileges() throws Exception {
        Privileges.assumeBpf();
    }

    @Test
    void olderHidesAllocationsYoungerThanTheGivenAge() throws Exception {
        // Leaks at start, then five reports a second apart; older=2500 ms.
        AgentRun run = AgentRun.leakProgram(AgentRun.tempDir("older"),
                "interval=1,count=5,older=2500,top=100,min-size=900000", "all-functions", "6000");
        List<Report> reports = run.parsedReports();
        assertEquals(5, reports.size(), run.describe());
        assertEquals(0, reports.get(0).bytesFrom(LIB + "viaMalloc+0x"), "1 s old, hidden:\n" + reports.get(0));
        assertEquals(3 * 1_999_993L + 1_222_223L, reports.get(4).bytesFrom(LIB + "viaMalloc+0x"),
                "over 2.5 s old, shown:\n" + reports.get(4));
    }

    @Test
    void minAndMaxSizeTrackOnlySizesInRange() throws Exception {
        AgentRun run = AgentRun.leakProgram(AgentRun.tempDir("sizes"),
                "interval=1,count=2,older=0,top=100,min-size=1000000,max-size=1500000", "all-functions", "3500");
        Report report = run.lastReport();
        assertEquals(1_222_223L, report.bytesFrom(LIB + "viaMalloc+0x"), report.toString());
        assertEquals(1_444_447L, report.bytesFrom(LIB + "viaRealloc+0x"), report.toString());
        assertEquals(1_233_339L, report.bytesFrom(LIB + "viaReallocarray+0x"), report.toString());
        assertEquals(1_122_227L, report.bytesFrom(LIB + "viaPosixMemalign+0x"), report.toString());
        assertEquals(1_011_712L, report.bytesFrom(LIB + "viaAlignedAlloc+0x"), report.toString());
        for (String outside : List.of("viaCalloc", "viaMemalign", "viaValloc", "viaPvalloc")) {
            assertTrue(report.stacksFrom(LIB + outside + "+0x").isEmpty(), outside + " is out of range:\n" + report);
        }
        for (Report.Stack stack : report.stacks) {
            assertTrue(stack.bytes / stack.count >= 1_000_000 && stack.bytes / stack.count <= 1_500_000,
                    "every tracked block is in range: " + stack);
        }
    }

    @Test
    void topLimitsTheStacksAndCountStopsTheAgent() throws Exception {
        AgentRun run = AgentRun.leakProgram(AgentRun.tempDir("top"),
                "interval=1,count=2,older=0,top=2,min-size=900000", "all-functions", "4000", "0");
        List<Report> reports = run.parsedReports();
        assertEquals(2, reports.size(), "count=2 prints two reports\n" + run.describe());
        Report report = reports.get(1);
        assertEquals(2, report.top);
        assertEquals(2, report.stacks.size(), report.toString());
        assertTrue(report.stacks.get(0).topFrame().startsWith(LIB + "viaMalloc+0x"), report.toString());
        assertTrue(report.stacks.get(1).topFrame().startsWith(LIB + "viaRealloc+0x"), report.toString());
        assertTrue(run.agentLines().stream().anyMatch(l -> l.contains("stopped after 2 reports")), run.describe());
        assertEquals(0, run.exitCode, "the application runs on after the agent stops\n" + run.describe());
        assertTrue(run.stdout.contains("LEAKS DONE"));
    }

    @Test
    void sampleRateTenEstimatesTenThousandAllocationsWithinFourSigma() throws Exception {
        assertSampledEstimateOfTenThousandAllocations("sampling", "sample-rate=10");
    }

    @Test
    void sampleBytesEstimatesSmallAllocationsWithinFourSigma() throws Exception {
        // 4099-byte blocks sampled 1 per 40990 bytes: each tracked with probability 1/10, counting for 10.
        assertSampledEstimateOfTenThousandAllocations("bytesampling", "sample-bytes=40990");
    }

    /**
     * 10,000 blocks of 4099 bytes from one stack, each tracked with probability 1/10 and counted 10 times: the count's
     * standard deviation is 10 * sqrt(10,000 * 0.1 * 0.9) = 300 (the bytes', 4099 times that). Both are checked within
     * 4 sigma (a chance failure once in ~16,000 runs); a weight of 9 or 11 instead of 10 is 3.3 sigma off on
     * average and fails in most runs, 8 or 12 in all.
     */
    private static void assertSampledEstimateOfTenThousandAllocations(String name, String sampling) throws Exception {
        AgentRun run = AgentRun.leakProgram(AgentRun.tempDir(name),
                "interval=1,count=2,older=0,top=20,min-size=4099,max-size=4099," + sampling, "many", "3500");
        assertTrue(run.stdout.contains("MADE 10000"), run.describe());
        Report report = run.lastReport();
        List<Report.Stack> stacks = report.stacksFrom(LIB + "mallocMany+0x");
        assertFalse(stacks.isEmpty(), report.toString());
        long count = report.countFrom(LIB + "mallocMany+0x");
        long bytes = report.bytesFrom(LIB + "mallocMany+0x");
        assertTrue(stacks.stream().allMatch(s -> s.estimated), "sampled totals are marked as estimates\n" + report);
        double sigma = 10 * Math.sqrt(10_000 * 0.1 * 0.9);
        assertTrue(Math.abs(count - 10_000) <= 4 * sigma, "estimated count " + count + " vs 10000 (4 sigma " + 4 * sigma + ")");
        assertTrue(Math.abs(bytes - 40_990_000L) <= 4 * sigma * 4099,
                "estimated bytes " + bytes + " vs 40990000 (4 sigma " + 4 * sigma * 4099 + ")");
        assertEquals(count * 4099, bytes, "every block is 4099 bytes\n" + report);
    }

    @Test
    void threeHundredThousandOutstandingAllocationsAreAllReported() throws Exception {
        assertExactlyOutstanding("300k", "MADE 300000", "mallocMany", 300_000);
    }

    @Test
    void blocksPastThePreallocatedTableAreTrackedAndFreedExactly() throws Exception {
        // 100,000 blocks fill the kernel side's preallocated table (32,768) and go on in the overflow table; the
        // frees of 90,000 of them hit both tables.
        assertExactlyOutstanding("100k-keep-tenth", "KEPT 10000", "fragment", 10_000);
    }

    /**
     * Runs LeakProgram's scenario with every 23-byte block tracked; the last report must hold exactly count of them
     * from the test library's function, and the program must have printed what it made.
     */
    private static void assertExactlyOutstanding(String scenario, String printed, String function, long count)
            throws Exception {
        AgentRun run = AgentRun.leakProgram(AgentRun.tempDir(scenario),
                "interval=2,count=2,older=0,top=5,sample-bytes=0,min-size=23,max-size=23", scenario, "4500");
        assertTrue(run.stdout.contains(printed), run.describe());
        Report report = run.lastReport();
        assertEquals(count, report.countFrom(LIB + function + "+0x"), report.toString());
        assertEquals(count * 23, report.bytesFrom(LIB + function + "+0x"), report.toString());
    }
}
