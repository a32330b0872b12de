package dev.memleak4j.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * What one uprobe hit costs on this machine right now, with no BPF program at all: a tracefs uprobe event on
 * malloc's first instruction (glibc 2.36: {@code push %r12}, emulated, as memleak4j's own probes are), timed around
 * the JNI malloc/free loop. Every tool that probes the allocator pays this
 * per call, and in these VMs it varies from day to day (1.25 us in DESIGN.md, 5.2-6.5 us on 2026-12-03), so the
 * table's absolute costs are read against it.
 *
 * <p>The event is system-wide while enabled (~1 s): any process's malloc traps. It is removed in a finally block;
 * one left behind by a killed run is removed at the next start.
 */
final class BareUprobe {
    private static final Path TRACEFS = Path.of("/sys/kernel/tracing");
    private static final String EVENT = "memleak4j_bench_bare";
    private static final int PAIRS = 20_000;

    private BareUprobe() {}

    /** ns one hit adds (entry probe on malloc, nothing attached but the event), or why it was not measured. */
    static String measure(Path library) {
        Path events = TRACEFS.resolve("uprobe_events");
        if (!Files.isWritable(events)) {
            return "not measured: " + events + " is not writable (needs root and tracefs)";
        }
        try {
            System.setProperty(NativeBench.LIBRARY_PROPERTY, library.toString());
            long address = NativeBench.mallocAddress();
            String probe = probeSpec(address, Files.readAllLines(Path.of("/proc/self/maps")));
            if (probe == null) {
                return "not measured: malloc at 0x" + Long.toHexString(address) + " is in no file mapping";
            }
            remove(events); // one a killed run left
            double without = nsPerPair();
            Files.writeString(events, "p:" + EVENT + " " + probe + "\n", StandardCharsets.US_ASCII,
                    StandardOpenOption.APPEND);
            Path enable = TRACEFS.resolve("events/uprobes/" + EVENT + "/enable");
            double with;
            try {
                Files.writeString(enable, "1");
                with = nsPerPair();
            } finally {
                Files.writeString(enable, "0");
                remove(events);
            }
            return String.format("%,.0f ns (tracefs uprobe on malloc, `%s`; loop %,.0f vs %,.0f ns per pair)",
                    with - without, probe, with, without);
        } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            return "not measured: " + e;
        }
    }

    /** {@code PATH:0xOFFSET} of {@code address} from /proc/self/maps lines, or null. */
    static String probeSpec(long address, List<String> maps) {
        for (String line : maps) {
            String[] fields = line.trim().split("\\s+", 6);
            if (fields.length < 6 || !fields[5].startsWith("/")) {
                continue;
            }
            String[] range = fields[0].split("-");
            long start = Long.parseUnsignedLong(range[0], 16);
            long end = Long.parseUnsignedLong(range[1], 16);
            if (Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0) {
                long offset = address - start + Long.parseUnsignedLong(fields[2], 16);
                return fields[5] + ":0x" + Long.toHexString(offset);
            }
        }
        return null;
    }

    /** The loop's best of five, ns per malloc/free pair. */
    private static double nsPerPair() {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            long started = System.nanoTime();
            NativeBench.mallocFreePairs(PAIRS);
            best = Math.min(best, (System.nanoTime() - started) / (double) PAIRS);
        }
        return best;
    }

    private static void remove(Path events) {
        try {
            Files.writeString(events, "-:" + EVENT + "\n", StandardCharsets.US_ASCII, StandardOpenOption.APPEND);
        } catch (IOException e) {
            // not there: nothing to remove
        }
    }
}
