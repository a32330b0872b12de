package dev.memleak4j.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * pprof's alloc_space/alloc_objects: what each stack allocated since the baseline (here the attach), freed or not,
 * next to inuse_*, read back with go tool pprof. The program makes and frees 1,000 blocks of 4 KiB from one stack and
 * leaks 10 of 4 KiB from another (sample-bytes=0: exact): the freed stack is there with its 4,096,000 bytes allocated
 * and nothing in use, the leak with 40,960 bytes both allocated and in use, 4,136,960 bytes allocated in all.
 */
class PprofAllocatedTest {
    static final String CHURN = "Java_dev_memleak4j_it_programs_LeakLib_churn";
    static final String LEAK = "Java_dev_memleak4j_it_programs_LeakLib_mallocMany";

    private static Path dir;
    private static AgentRun run;

    @BeforeAll
    static void churnAndLeak() throws Exception {
        Privileges.assumeBpf();
        dir = AgentRun.tempDir("pprof-alloc");
        run = AgentRun.leakProgram(dir, "interval=1,count=2,older=0,top=100,sample-bytes=0,min-size=4096"
                + ",max-size=4096,json=" + dir.resolve("snapshot.json") + ",pprof=" + dir.resolve("p.pb.gz"),
                "churn-and-leak", "3500");
        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("CHURNED 1000") && run.stdout.contains("MADE 10"), run.describe());
    }

    @Test
    void allocSpaceCountsTheFreedBlocksAndInuseSpaceOnlyTheLeak() throws Exception {
        Path profile = dir.resolve("p.pb.gz");
        Map<List<String>, List<Long>> alloc = Views.fromPprof(profile, dir, "alloc");
        Map<List<String>, List<Long>> inuse = Views.fromPprof(profile, dir, "inuse");
        assertEquals(List.of(4_096_000L, 1000L), ending(alloc, CHURN), "alloc_* of the churn: " + alloc);
        assertEquals(List.of(40_960L, 10L), ending(alloc, LEAK), "alloc_* of the leak: " + alloc);
        assertEquals(4_136_960L, ending(alloc, CHURN).get(0) + ending(alloc, LEAK).get(0));
        assertEquals(List.of(0L, 0L), ending(inuse, CHURN), "inuse_* of the churn: " + inuse);
        assertEquals(List.of(40_960L, 10L), ending(inuse, LEAK), "inuse_* of the leak: " + inuse);
        // The text report's stacks are the inuse_* samples, frame for frame.
        Views.assertSamePaths(Views.fromText(run.lastReport(), Views.TextFrame::function), inuse,
                "go tool pprof -raw, inuse_*");

        String top = Views.run(List.of(Views.go(), "tool", "pprof", "-top", "-sample_index=alloc_space",
                profile.toString()), dir.resolve("pprof-top.err"));
        assertTrue(top.contains("Type: alloc_space") && top.contains(CHURN) && top.contains(LEAK), top);
    }

    /** combined-only: the same figures from the per-stack counters alone. */
    @Test
    void combinedOnlyGivesTheSameFigures() throws Exception {
        Path only = AgentRun.tempDir("pprof-alloc-combined");
        AgentRun counters = AgentRun.leakProgram(only, "interval=1,count=2,combined-only,top=100,sample-bytes=0"
                + ",min-size=4096,max-size=4096,pprof=" + only.resolve("p.pb.gz"), "churn-and-leak", "3500");
        assertEquals(0, counters.exitCode, counters.describe());
        Map<List<String>, List<Long>> alloc = Views.fromPprof(only.resolve("p.pb.gz"), only, "alloc");
        assertEquals(List.of(4_096_000L, 1000L), ending(alloc, CHURN), alloc.toString());
        assertEquals(List.of(40_960L, 10L), ending(alloc, LEAK), alloc.toString());
        assertEquals(List.of(40_960L, 10L), ending(Views.fromPprof(only.resolve("p.pb.gz"), only, "inuse"), LEAK));
    }

    @Test
    void theJsonSnapshotHasEachStacksAllocationsSinceTheBaseline() throws Exception {
        JsonNode root = new ObjectMapper().readTree(Files.readString(dir.resolve("snapshot.json")));
        JsonNode leak = null;
        for (JsonNode stack : root.path("stacks")) {
            if (stack.path("topNativeFrame").asText().contains(LEAK)) {
                leak = stack;
            }
        }
        assertTrue(leak != null, root.toString());
        assertEquals(40_960, leak.path("allocatedSinceBaselineBytes").asLong());
        assertEquals(10, leak.path("allocationsSinceBaseline").asLong());
    }

    /**
     * resetBaseline over JMX: alloc_* start over at the last report. After it, 10,000 blocks of 4,099 bytes from the
     * leak's stack: alloc_* holds just those, and nothing of the churn before; inuse_* still the leak's 10 blocks too.
     */
    @Test
    void resetBaselineStartsAllocOver() throws Exception {
        Privileges.assumeBpf();
        Path live = AgentRun.tempDir("pprof-alloc-reset");
        int port = JmxTest.freePort();
        try (LiveProgram program = LiveProgram.leakProgram(live, "interval=1,older=0,top=100,sample-bytes=0"
                + ",min-size=4096,max-size=4099", JmxTest.jmxFlags(port), "churn-and-leak");
             JmxTest.Client client = JmxTest.Client.start(live, port)) {
            program.await("LEAKS DONE", 30);
            client.awaitNextSnapshot();
            client.awaitNextSnapshot(); // a report that began after the churn and the leak
            String pid = String.valueOf(program.pid());
            Path before = live.resolve("before.pb.gz");
            OutputFormatsTest.cli("pprof", pid, before.toString());
            assertEquals(List.of(4_096_000L, 1000L), ending(Views.fromPprof(before, live, "alloc"), CHURN));

            client.call("invoke resetBaseline");
            program.send("many");
            assertEquals("MADE 10000", program.await("MADE 10000", 30));
            client.awaitNextSnapshot();
            Path after = live.resolve("after.pb.gz");
            OutputFormatsTest.cli("pprof", pid, after.toString());
            Map<List<String>, List<Long>> alloc = Views.fromPprof(after, live, "alloc");
            assertEquals(List.of(0L, 0L), ending(alloc, CHURN), alloc.toString());
            assertEquals(List.of(10_000L * 4099, 10_000L), ending(alloc, LEAK), alloc.toString());
            assertEquals(List.of(40_960L + 10_000L * 4099, 10_010L),
                    ending(Views.fromPprof(after, live, "inuse"), LEAK));
        }
    }

    /** The values of the paths whose innermost frame is {@code function}, added up: {bytes, count}. */
    private static List<Long> ending(Map<List<String>, List<Long>> paths, String function) {
        long bytes = 0;
        long count = 0;
        for (Map.Entry<List<String>, List<Long>> path : paths.entrySet()) {
            if (path.getKey().get(path.getKey().size() - 1).contains(function)) {
                bytes += path.getValue().get(0);
                count += path.getValue().get(1);
            }
        }
        return List.of(bytes, count);
    }
}
