package dev.memleak4j.agent.views.cost;

import dev.memleak4j.agent.bpf.Stat;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.report.StackReport;
import dev.memleak4j.agent.stacks.Frame;
import dev.memleak4j.agent.views.flamegraph.FlameGraph;
import dev.memleak4j.agent.views.jfrfile.JfrRecording;
import dev.memleak4j.agent.views.pprof.PprofProfile;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * What writing the flame graph, the pprof profile and the JFR file of a large snapshot costs: for the bench's notes
 * ({@code java -jar memleak4j-agent.jar views-cost [STACKS [FORMAT...]]}, FORMAT one of
 * flamegraph, pprof, jfr: only those, in that order; a format's first write is only its own in a fresh JVM when it
 * comes first, since the formats share code). The snapshot is made up: STACKS distinct stacks of 25 frames (a native
 * allocator caller under 24 Java frames), sharing their frames as real stacks do, and as the stack resolver
 * does, one Frame object per distinct frame (its caches hand out the same object for an address).
 */
public final class ViewsCost {
    /** The jar's command line for it (cli.JarMain), as the tool's usage and its errors print it. */
    public static final String COMMAND = "views-cost [STACKS [flamegraph|pprof|jfr ...]]";

    private ViewsCost() {}

    public static void main(String[] args) {
        int count;
        try {
            count = args.length > 0 ? Integer.parseInt(args[0]) : 16_384;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("STACKS must be a whole number, not " + args[0]);
        }
        if (count < 1) {
            throw new IllegalArgumentException("STACKS must be at least 1, not " + count);
        }
        Snapshot snapshot = snapshot(count);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Map<String, Function<Snapshot, byte[]>> known = new LinkedHashMap<>();
        known.put("flamegraph", s -> FlameGraph.bytes(s, "cost"));
        known.put("pprof", s -> PprofProfile.gzipped(s, "cost"));
        known.put("jfr", JfrRecording::bytes);
        Map<String, Function<Snapshot, byte[]>> formats = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (!known.containsKey(args[i])) {
                throw new IllegalArgumentException("unknown format " + args[i] + ", known: " + known.keySet());
            }
            formats.put(args[i], known.get(args[i]));
        }
        if (formats.isEmpty()) {
            formats.putAll(known);
        }
        for (Map.Entry<String, Function<Snapshot, byte[]>> format : formats.entrySet()) {
            long firstCpu = threads.getCurrentThreadCpuTime();
            format.getValue().apply(snapshot);
            long first = threads.getCurrentThreadCpuTime() - firstCpu;
            for (int i = 0; i < 3; i++) {
                format.getValue().apply(snapshot);
            }
            int runs = 3;
            long cpu = threads.getCurrentThreadCpuTime();
            long process = processCpuNanos();
            int size = 0;
            for (int i = 0; i < runs; i++) {
                size = format.getValue().apply(snapshot).length;
            }
            // The process's CPU too: JMC's writer merges chunk data on a thread of its own (and GC and JIT count).
            System.out.printf("%s of %d stacks x 25 frames: %d KiB; first write %d ms of CPU, then %d ms (writing "
                            + "thread) / %d ms (process) each%n", label(format.getKey()), count, size / 1024, first / 1_000_000,
                    (threads.getCurrentThreadCpuTime() - cpu) / runs / 1_000_000,
                    (processCpuNanos() - process) / runs / 1_000_000);
        }
    }

    private static String label(String format) {
        return format.equals("flamegraph") ? "flame graph" : format.equals("jfr") ? "JFR file" : format;
    }

    /** {@code count} distinct stacks of 25 frames, innermost (native) first, with a made-up byte count each. */
    public static Snapshot snapshot(int count) {
        List<StackReport> stacks = new ArrayList<>(count);
        Map<Frame, Frame> resolved = new HashMap<>();
        for (int i = 0; i < count; i++) {
            List<Frame> frames = new ArrayList<>(25);
            frames.add(new Frame(0x7f0000000000L + i * 16L, Frame.Kind.NATIVE, "native_" + (i % 512), "libapp.so",
                    4));
            for (int d = 0; d < 24; d++) {
                Frame frame = Frame.java(0x7e0000000000L + d * 64L + (i % 7), d % 3 == 0 ? Frame.Kind.INLINED
                        : Frame.Kind.JIT, "com.example.pkg" + (d % 5) + ".Class" + ((i >> (d % 10)) % 37) + ".m" + d,
                        100 + d, "Class.java");
                frames.add(resolved.computeIfAbsent(frame, f -> f));
            }
            stacks.add(new StackReport(i + 1, 1000 + i, 1 + i % 3, 1 + i % 3, 1000 + i, -1, List.copyOf(frames),
                    List.of(), 4L * (1000 + i), 4L * (1 + i % 3)));
        }
        long bytes = stacks.stream().mapToLong(StackReport::bytes).sum();
        long allocations = stacks.stream().mapToLong(StackReport::count).sum();
        Instant now = Instant.now();
        return new Snapshot(now, stacks.subList(0, Math.min(10, count)), count, bytes, allocations, 1, 0, 0,
                new long[Stat.values().length], now.minusSeconds(60), 10, List.copyOf(stacks), List.of(), 0, false,
                null, null);
    }

    private static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : 0;
    }
}
