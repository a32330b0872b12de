package dev.memleak4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * max-tracked in a real JVM: 5 s of malloc(4096)/free churn (at 8 KiB sampling about every other call would be
 * tracked, hundreds of thousands a second) with a leak of 4099-byte blocks from another stack in between. The agent
 * must raise the sampling interval, track far fewer calls, still estimate the leak without bias (each tracked block
 * keeps the weight it was chosen with, 8 KiB ones and raised ones mixed), and come back to 8 KiB once the churn
 * stops.
 */
class MaxTrackedTest {
    private static final String LIB = "Java_dev_memleak4j_it_programs_LeakLib_";
    private static final long BUDGET = 5_000;
    private static final Pattern RAISED_NOW = Pattern.compile("sampled 1 per 8192 bytes; 1 per (\\d+) now, over max-tracked");
    private static final Pattern RAISE_LOG = Pattern.compile(
            "sampling new allocations 1 per (\\d+) bytes \\((\\d+) tracked/s in the last second, max-tracked=5000\\)");

    @BeforeAll
    static void privileges() throws Exception {
        Privileges.assumeBpf();
    }

    @Test
    void churnBeyondTheBudgetRaisesTheIntervalAndTheLeakIsStillEstimated() throws Exception {
        Path dir = AgentRun.tempDir("max-tracked");
        Path json = dir.resolve("snapshot.json");
        // Only the test's block sizes, so that what is counted as tracked is the churn and the leak.
        AgentRun run = AgentRun.leakProgram(dir, "interval=1,older=0,top=5,verbose,min-size=4096,max-size=4099,"
                + "max-tracked=" + BUDGET + ",json=" + json, "budget", "4000");
        assertEquals(0, run.exitCode, run.describe());
        long churned = number(run.stdout, "CHURNED");
        long leaked = number(run.stdout, "MADE");

        // Raised while churning, with the rate that made it, and said so in the reports.
        List<String> raises = run.agentLines().stream().filter(l -> RAISE_LOG.matcher(l).find()).toList();
        assertFalse(raises.isEmpty(), "no sampling change logged\n" + run.describe());
        Matcher first = RAISE_LOG.matcher(raises.get(0));
        assertTrue(first.find());
        assertTrue(Long.parseLong(first.group(1)) >= 16_384, raises.get(0));
        assertTrue(Long.parseLong(first.group(2)) > BUDGET, "raised only when over the budget: " + raises.get(0));
        Matcher inReports = RAISED_NOW.matcher(run.reports);
        assertTrue(inReports.find(), "reports say the interval was raised\n" + run.reports);
        assertTrue(Long.parseLong(inReports.group(1)) >= 16_384);

        // Far fewer calls tracked than 8 KiB sampling would: about half of the churn's mallocs.
        JsonNode last = new ObjectMapper().readTree(Files.readString(json));
        long sampled = last.get("counters").get("allocSampled").asLong();
        assertTrue(sampled < churned / 4, sampled + " tracked of " + churned + " churned pairs (8 KiB: ~" + churned / 2 + ")");

        // After the churn the interval comes back to 8 KiB (the program waits for it, then for two reports after), and
        // the leak is estimated without bias.
        assertEquals(8192, last.get("sampling").get("sampleBytesNow").asLong(), last.toString());
        Report report = run.lastReport();
        String lastText = run.reports.substring(run.reports.lastIndexOf("] Top "));
        assertTrue(lastText.contains("(estimated: sampled 1 per 8192 bytes)"), lastText);
        assertFalse(RAISED_NOW.matcher(lastText).find(), lastText);
        assertTrue(report.stacksFrom(LIB + "churn+0x").isEmpty(), "the churn's blocks were all freed\n" + report);
        long bytes = report.bytesFrom(LIB + "mallocMany+0x");
        long count = report.countFrom(LIB + "mallocMany+0x");
        // A block of s bytes chosen under interval I is tracked with probability s/I and weighs I bytes (I/s blocks):
        // its variance is s*I - s^2 bytes^2 (I/s - 1 blocks^2). No block was chosen under more than the largest
        // interval logged, so the standard deviation is at most sqrt(leaked * (s*Imax - s^2)). Within 4 of those;
        // weights lost (every tracked block counted once) would be off by 100x.
        long largest = 8192;
        for (String raise : raises) {
            Matcher m = RAISE_LOG.matcher(raise);
            assertTrue(m.find());
            largest = Math.max(largest, Long.parseLong(m.group(1)));
        }
        double sigmaBytes = Math.sqrt((double) leaked * (4099.0 * largest - 4099.0 * 4099));
        double sigmaCount = Math.sqrt((double) leaked * (largest / 4099.0 - 1));
        assertTrue(Math.abs(bytes - leaked * 4099) <= 4 * sigmaBytes,
                "estimated " + bytes + " bytes of " + leaked * 4099 + " (4 sigma " + 4 * sigmaBytes + ", largest interval " + largest + ")");
        assertTrue(Math.abs(count - leaked) <= 4 * sigmaCount,
                "estimated " + count + " blocks of " + leaked + " (4 sigma " + 4 * sigmaCount + ")");
    }

    private static long number(String stdout, String label) {
        Matcher m = Pattern.compile("^" + label + " (\\d+)$", Pattern.MULTILINE).matcher(stdout);
        assertTrue(m.find(), label + " missing from\n" + stdout);
        return Long.parseLong(m.group(1));
    }
}
