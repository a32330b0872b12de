package dev.memleak4j.agent.memory;

import dev.memleak4j.agent.leaks.LeakDetector;
import dev.memleak4j.agent.lang.Instants;
import dev.memleak4j.agent.text.DecimalText;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One line per report on the process's memory as a whole: what grows, and which kind of problem that is.
 *
 * @param kind    the verdict
 * @param text    the line, figures and what to try included
 * @param now     the figures at this report
 * @param rssGrowthPerMinute RSS growth over the window, per minute
 */
public record MemoryVerdict(Kind kind, String text, ProcessMemory now, double rssGrowthPerMinute) {
    /** The kinds of answer, from the question "why does my process's memory grow?". */
    public enum Kind {
        /** Outstanding malloc'd memory of tracked stacks grows: the suspects explain it. */
        NATIVE_LEAK,
        /** RSS grows while outstanding malloc bytes do not: glibc keeps freed memory in its arenas. */
        ARENA_RETENTION,
        /** malloc'd memory grows but no tracked stack does (filtered out by min-size, or from unprobed code). */
        UNTRACKED_MALLOC,
        /** RSS grows outside malloc: the Java heap, metaspace and code, thread stacks, mmap. */
        OUTSIDE_MALLOC,
        /** Nothing grows. */
        NOTHING_GROWING,
        /** The figures do not yet span enough time to tell growth from the JVM's and the agent's start. */
        TOO_EARLY;

        public String text() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** Growth over the window below this share of RSS (and below {@link #MIN_GROWTH}) is noise, not growth. */
    private static final double RSS_SHARE = 0.04;
    private static final long MIN_GROWTH = 4L << 20;
    /**
     * The shortest span RSS growth is judged over (or the whole window, when shorter). Over one report interval the
     * JVM's and the agent's own settling (eden pages touched for the first time, symbol tables built and freed into
     * the arenas) is as large as a real trend and reads as minutes' worth of growth.
     */
    static final long MIN_SPAN_SECONDS = 10;

    /**
     * Keeps the figures of the reports in the window and judges each new one against the oldest. Fed once per periodic
     * report, on the reporter thread.
     */
    public static final class Watch {
        /**
         * How long after tracking began a sample cannot start a window. The agent's own start goes on a little after
         * the probes are attached (the first reports' symbol tables, the JIT compiling the agent, libbpf's and the
         * loader's buffers handed back): tens of MiB of malloc'd memory freed in those seconds would read as the
         * application's malloc shrinking and its arenas filling.
         */
        static final long SETTLING_SECONDS = 10;
        private final long windowSeconds;
        private final long minSpanSeconds;
        private final Instant settled;
        private final List<ProcessMemory> history = new ArrayList<>();

        public Watch(long windowSeconds, Instant trackingSince) {
            this.windowSeconds = windowSeconds;
            this.minSpanSeconds = Math.min(MIN_SPAN_SECONDS, windowSeconds);
            this.settled = trackingSince.plusSeconds(SETTLING_SECONDS);
        }

        public MemoryVerdict update(ProcessMemory now, LeakDetector.Verdicts leaks) {
            if (!history.isEmpty() && history.get(history.size() - 1).time().isBefore(settled)) {
                history.clear(); // a sample from the agent's start: the window starts over from this one
            }
            history.add(now);
            // Keep one sample at or before the window's start, so the growth covers the whole window.
            Instant start = now.time().minusSeconds(windowSeconds);
            while (history.size() > 2 && !history.get(1).time().isAfter(start)) {
                history.remove(0);
            }
            return judge(history.get(0), now, leaks, minSpanSeconds);
        }
    }

    /** RSS growth is judged only when first and now are at least {@code minSpanSeconds} apart. */
    static MemoryVerdict judge(ProcessMemory first, ProcessMemory now, LeakDetector.Verdicts leaks,
            long minSpanSeconds) {
        long spanNanos = Instants.nanosBetween(first.time(), now.time());
        double minutes = spanNanos / 60e9;
        long rss = now.rssBytes() - first.rssBytes();
        long threshold = Math.max(MIN_GROWTH, Math.round(now.rssBytes() * RSS_SHARE));
        boolean rssGrows = minutes > 0 && rss > threshold;
        MallocStats m0 = first.malloc();
        MallocStats m1 = now.malloc();
        long arenaFree = m0 != null && m1 != null ? m1.freeBytes() - m0.freeBytes() : 0;
        long allocated = m0 != null && m1 != null ? m1.allocatedBytes() - m0.allocatedBytes() : 0;
        long tracked = now.trackedBytes() - first.trackedBytes();
        LeakDetector.Suspect top = leaks == null || leaks.suspects().isEmpty() ? null : leaks.suspects().get(0);
        double perMinute = minutes > 0 ? rss / minutes : 0;

        StringBuilder figures = new StringBuilder();
        figures.append("RSS ").append(mib(now.rssBytes())).append(" (").append(rate(rss, minutes)).append(")");
        if (m1 != null) {
            figures.append(", malloc in use ").append(mib(m1.allocatedBytes())).append(" (").append(rate(allocated, minutes))
                    .append("), free in arenas ").append(mib(m1.freeBytes())).append(" (").append(rate(arenaFree, minutes))
                    .append("), top pad ").append(mib(m1.topPadBytes())).append(", mmapped ")
                    .append(mib(m1.mmappedBytes()));
        }
        figures.append(", tracked ").append(mib(now.trackedBytes())).append(" (").append(rate(tracked, minutes))
                .append("), direct buffers ").append(mib(now.directBufferBytes()));
        if (now.nmtCommittedBytes() >= 0) {
            figures.append(", NMT ").append(mib(now.nmtCommittedBytes()));
        }

        Kind kind;
        String answer;
        if (spanNanos < minSpanSeconds * 1_000_000_000L) {
            String span = "RSS growth is judged once its figures span " + minSpanSeconds + " s, counted from "
                    + Watch.SETTLING_SECONDS + " s after tracking began (" + Math.round(spanNanos / 1e9)
                    + " s so far)";
            if (top != null) {
                kind = Kind.NATIVE_LEAK;
                answer = suspectGrows(top) + " (" + span + ")";
            } else {
                kind = Kind.TOO_EARLY;
                answer = span;
            }
        } else if (!rssGrows) {
            if (top != null) {
                kind = Kind.NATIVE_LEAK;
                answer = suspectGrows(top) + " (RSS not growing beyond noise yet)";
            } else {
                kind = Kind.NOTHING_GROWING;
                answer = "nothing growing";
            }
        } else if (m1 != null && arenaFree * 2 >= rss && allocated * 4 < rss) {
            kind = Kind.ARENA_RETENTION;
            answer = "RSS grows while outstanding malloc bytes do not: glibc's arenas keep " + mib(m1.freeBytes())
                    + " of freed memory; try MALLOC_ARENA_MAX=2 (fewer arenas) or calling malloc_trim(0)";
        } else if (top != null && tracked * 4 >= rss) {
            kind = Kind.NATIVE_LEAK;
            answer = suspectGrows(top) + ", tracked outstanding bytes " + rate(tracked, minutes) + " of RSS "
                    + rate(rss, minutes);
        } else if (m1 != null && allocated * 2 >= rss) {
            kind = Kind.UNTRACKED_MALLOC;
            answer = "malloc'd memory grows " + rate(allocated, minutes) + " but no tracked stack does: lower "
                    + "min-size or sample-bytes, or it comes from code the probes do not see";
        } else {
            kind = Kind.OUTSIDE_MALLOC;
            answer = "RSS grows outside malloc: " + outside(first, now, rss, minutes);
        }
        return new MemoryVerdict(kind, kind.text() + ": " + answer + "; " + figures, now, perMinute);
    }

    private static String suspectGrows(LeakDetector.Suspect top) {
        return "native leak in tracked allocations: suspect #1 grows " + mib(Math.round(top.bytesPerMinute())) + "/min";
    }

    /** Which non-malloc figures grew, largest first in the text, or mmap and the like when none explains it. */
    private static String outside(ProcessMemory first, ProcessMemory now, long rss, double minutes) {
        StringBuilder out = new StringBuilder();
        long heap = now.heapCommittedBytes() - first.heapCommittedBytes();
        long nonHeap = now.nonHeapCommittedBytes() - first.nonHeapCommittedBytes();
        long mapped = now.mappedBufferBytes() - first.mappedBufferBytes();
        int threads = now.threads() - first.threads();
        long explained = 0;
        if (heap > 0) {
            out.append("Java heap committed ").append(rate(heap, minutes)).append("; ");
            explained += heap;
        }
        if (nonHeap > 0) {
            out.append("metaspace and code cache ").append(rate(nonHeap, minutes)).append("; ");
            explained += nonHeap;
        }
        if (mapped > 0) {
            out.append("mapped buffers ").append(rate(mapped, minutes)).append("; ");
            explained += mapped;
        }
        if (threads > 0) {
            out.append(threads).append(" more threads (their stacks); ");
        }
        if (explained * 2 < rss) {
            out.append("mmap or other memory outside malloc and the JVM's pools ")
                    .append(rate(rss - explained, minutes)).append(" (see /proc/PID/smaps, or NMT with "
                            + "-XX:NativeMemoryTracking=summary)");
        } else {
            out.setLength(out.length() - 2);
        }
        return out.toString();
    }

    private static String mib(long bytes) {
        return DecimalText.of(bytes / 1048576.0, 1) + " MiB";
    }

    private static String rate(long bytes, double minutes) {
        double perMinute = minutes > 0 ? bytes / minutes : 0;
        return DecimalText.signed(perMinute / 1048576.0, 1) + " MiB/min";
    }
}
