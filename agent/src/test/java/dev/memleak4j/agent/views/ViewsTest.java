package dev.memleak4j.agent.views;

import dev.memleak4j.agent.bpf.Stat;
import dev.memleak4j.agent.views.cost.ViewsCost;
import dev.memleak4j.agent.leaks.LeakDetector;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.report.StackReport;
import dev.memleak4j.agent.stacks.Frame;
import dev.memleak4j.agent.views.flamegraph.FlameGraph;
import dev.memleak4j.agent.views.jfrfile.JfrRecording;
import dev.memleak4j.agent.views.pprof.PprofProfile;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.io.ByteArrayInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The three views of a made-up snapshot: the flame graph's tree adds the stacks up by function, pprof and JFR files
 * are written. Reading them back with the real readers (Chromium, go tool pprof, JMC's parser, jfr) is the
 * integration tests' job; {@link #sixteenThousandStacks()} prints what the largest snapshot costs to write.
 */
class ViewsTest {
    static final Path OUT = Paths.get("target", "views-test");

    /** Two stacks through the same Java caller into two native functions, one through a JVM stub. */
    static Snapshot leakSnapshot() {
        Frame malloc = new Frame(0x7f0000001000L, Frame.Kind.NATIVE, "Java_dev_Leak_viaMalloc", "libleak.so", 0x1f);
        Frame calloc = new Frame(0x7f0000002000L, Frame.Kind.NATIVE, "Java_dev_Leak_viaCalloc", "libleak.so", 0x2a);
        Frame wrapper = Frame.java(0x7e0000000100L, Frame.Kind.NATIVE_WRAPPER, "dev.Leak.viaMalloc", -1);
        Frame jit = Frame.java(0x7e0000000200L, Frame.Kind.JIT, "dev.Leak.run", 42, "Leak.java");
        Frame inlined = Frame.java(0x7e0000000200L, Frame.Kind.INLINED, "dev.Leak.helper", 7, "Leak.java");
        Frame interpreted = Frame.java(0x4000000000000123L, Frame.Kind.INTERPRETED, "dev.Leak.main", 12, "Leak.java");
        Frame stub = Frame.stub(0x7e0000000300L, "call_stub");
        Frame jvm = new Frame(0x7f1000000000L, Frame.Kind.NATIVE, "JavaCalls::call_helper", "libjvm.so", 0x10);
        StackReport a = new StackReport(0x11, 5_999_979, 3, 3, 5_999_979, -1,
                List.of(malloc, wrapper, inlined, jit, interpreted, stub, jvm), List.of(), 5_999_979 + 8192, 5);
        StackReport b = new StackReport(0x22, 4096, 1, 1, 4096, -1,
                List.of(calloc, jit, interpreted, stub, jvm), List.of(), 4096, 1);
        return snapshot(List.of(a, b));
    }

    static Snapshot snapshot(List<StackReport> stacks) {
        long bytes = stacks.stream().mapToLong(StackReport::bytes).sum();
        long count = stacks.stream().mapToLong(StackReport::count).sum();
        return new Snapshot(Instant.parse("2026-01-02T03:04:05Z"), stacks.subList(0, Math.min(10, stacks.size())),
                stacks.size(), bytes, count, 1, 0, 0, new long[Stat.values().length],
                Instant.parse("2026-01-02T03:00:00Z"), 10, stacks, List.of(), 0, false, null, null);
    }

    @Test
    void theLeakSuspectsPathIsMarkedWithItsRankAndNoOtherPath() {
        Snapshot plain = leakSnapshot();
        StackReport leak = plain.allStacks().get(0);
        LeakDetector.Suspect suspect = new LeakDetector.Suspect(leak.stackId(), leak.bytes(), leak.count(), 1e6,
                Instant.parse("2026-01-02T03:01:00Z"), LeakDetector.Confidence.HIGH, 4, 4, 20_000_000_000L,
                leak.frames());
        Snapshot withSuspect = new Snapshot(plain.time(), plain.stacks(), plain.stackCount(), plain.totalBytes(),
                plain.totalCount(), 1, 0, 0, plain.stats(), plain.trackingSince(), plain.top(), plain.allStacks(),
                List.of(), 0, false, new LeakDetector.Verdicts(List.of(suspect), 0, 0, 0, 60), null);
        StackTree.Node root = StackTree.of(withSuspect.allStacks());
        StackTree.markSuspects(root, List.of(suspect.frames()));
        StackTree.Node run = only(only(only(only(root))));
        assertEquals(1, run.suspectRank(), "shared by both stacks, on the suspect's path");
        assertEquals(1, only(only(run.children().get(0))).suspectRank(), "the suspect's leaf");
        assertEquals(0, run.children().get(1).suspectRank(), "the other stack's leaf is not marked");
        String page = FlameGraph.html(withSuspect, "t");
        assertTrue(page.contains("\"suspects\":1"), "the summary counts it");
        assertTrue(page.contains(",5999979,3,[],1]"), "the suspect's leaf carries its rank");
        assertTrue(FlameGraph.html(plain, "t").contains(",5999979,3]"), "without suspects the leaf carries none");
    }

    @Test
    void treeAddsStacksUpByFunctionOutermostFirst() {
        StackTree.Node root = StackTree.of(leakSnapshot().allStacks());
        assertEquals(5_999_979 + 4096, root.bytes());
        assertEquals(4, root.count());
        StackTree.Node jvm = only(root);
        assertEquals("JavaCalls::call_helper", jvm.function());
        assertEquals(FrameLabels.Category.JVM, jvm.category());
        StackTree.Node stub = only(jvm);
        assertEquals(FrameLabels.Category.JVM, stub.category());
        StackTree.Node main = only(stub);
        assertEquals(FrameLabels.Category.INTERPRETED, main.category());
        StackTree.Node run = only(main);
        assertEquals(FrameLabels.Category.JIT, run.category());
        assertEquals(2, run.children().size());
        StackTree.Node helper = run.children().get(0);
        assertEquals("dev.Leak.helper", helper.function());
        assertEquals(5_999_979, helper.bytes());
        StackTree.Node leaf = only(only(helper));
        assertEquals("Java_dev_Leak_viaMalloc", leaf.function());
        assertEquals("libleak.so", leaf.module());
        assertEquals(FrameLabels.Category.NATIVE, leaf.category());
        assertEquals(3, leaf.count());
        assertEquals("Java_dev_Leak_viaCalloc", run.children().get(1).function());
        assertEquals(4096, run.children().get(1).bytes());
    }

    @Test
    void pageEmbedsNoMarkupFromFrameNames() {
        Frame hostile = new Frame(0x1000, Frame.Kind.NATIVE, "f</script><script>alert(1)</script>", "lib<b>.so", 0);
        String page = FlameGraph.html(snapshot(List.of(new StackReport(1, 10, 1, 1, 10, -1, List.of(hostile),
                List.of(), 10, 1))), "t</title><script>");
        assertTrue(!page.contains("</script><script>alert") && !page.contains("t</title><script>"), page);
        assertTrue(page.contains("f\\u003c/script\\u003e"));
    }

    @Test
    void pprofIsGzippedAndHasTheSampleValues() throws Exception {
        byte[] gz = PprofProfile.gzipped(leakSnapshot(), "test");
        byte[] raw;
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            raw = in.readAllBytes();
        }
        // Sample 1's values (alloc_objects, alloc_space, inuse_objects, inuse_space), packed.
        assertTrue(indexOf(raw, packedValues(5, 5_999_979 + 8192, 3, 5_999_979)) > 0,
                "no sample with 5 allocations of 6008171 bytes made, 3 of 5999979 outstanding");
        assertTrue(indexOf(raw, "alloc_objects".getBytes(StandardCharsets.UTF_8)) > 0);
        Files.createDirectories(OUT);
        Files.write(OUT.resolve("leak.pb.gz"), gz);
        Files.write(OUT.resolve("leak.jfr"), JfrRecording.bytes(leakSnapshot()));
        Files.writeString(OUT.resolve("leak.html"), FlameGraph.html(leakSnapshot(), "leak"));
    }

    @Test
    void pprofHasTheStacksWhoseBlocksWereAllFreedWithOnlyAllocValues() throws Exception {
        Snapshot leak = leakSnapshot();
        Frame churn = new Frame(0x7f0000003000L, Frame.Kind.NATIVE, "Java_dev_Leak_churn", "libleak.so", 0x11);
        StackReport freed = new StackReport(0x33, 0, 0, 0, 0, -1, List.of(churn), List.of(), 4_096_000, 1000);
        Snapshot withFreed = new Snapshot(leak.time(), leak.stacks(), leak.stackCount(), leak.totalBytes(),
                leak.totalCount(), 1, 0, 0, leak.stats(), leak.trackingSince(), leak.top(), leak.allStacks(),
                List.of(freed), 3, false, null, null);
        byte[] raw;
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(PprofProfile.gzipped(withFreed,
                "test")))) {
            raw = in.readAllBytes();
        }
        // Proto3 writes the zeros of a packed field too: [1000, 4096000, 0, 0].
        assertTrue(indexOf(raw, packedValues(1000, 4_096_000, 0, 0)) > 0, "no sample for the freed stack");
        assertTrue(indexOf(raw, "leaves out 2 stacks whose blocks were all freed".getBytes(StandardCharsets.UTF_8))
                > 0, "the comment does not say that 2 freed stacks were left out");
    }

    /** A sample's values field as the profile holds it: field 2, wire type 2, the varints. */
    private static byte[] packedValues(long... values) {
        java.io.ByteArrayOutputStream varints = new java.io.ByteArrayOutputStream();
        for (long value : values) {
            while ((value & ~0x7FL) != 0) {
                varints.write((int) ((value & 0x7F) | 0x80));
                value >>>= 7;
            }
            varints.write((int) value);
        }
        java.io.ByteArrayOutputStream field = new java.io.ByteArrayOutputStream();
        field.write(0x12);
        field.write(varints.size());
        field.writeBytes(varints.toByteArray());
        return field.toByteArray();
    }

    /** Not an assertion on time (no timing in tests): prints what the largest snapshot costs (the bench's note). */
    @Test
    void sixteenThousandStacks() {
        Snapshot snapshot = ViewsCost.snapshot(16_384);
        assertEquals(snapshot.totalBytes(), StackTree.of(snapshot.allStacks()).bytes());
        ViewsCost.main(new String[] {"16384"});
    }

    private static StackTree.Node only(StackTree.Node node) {
        assertEquals(1, node.children().size(), node.function() + " has " + node.children().size() + " children");
        return node.children().get(0);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
