package dev.memleak4j.agent.memory;

import dev.memleak4j.agent.nativelib.DiagnosticCommand;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the process's memory is at one moment, from every source that can tell apart where growth comes from: the
 * kernel's RSS, glibc's accounting, the JVM's heap, non-heap and buffer pools, its threads, and NMT's total when
 * NativeMemoryTracking is on. Read on the reporter thread (its allocations are not tracked).
 *
 * @param rssBytes            resident set (VmRSS)
 * @param malloc              glibc's figures, or null when not available
 * @param trackedBytes        outstanding bytes memleak4j tracks (an estimate when sampled)
 * @param heapCommittedBytes  the Java heap's committed memory
 * @param nonHeapCommittedBytes metaspace, class space and the code cache, committed
 * @param directBufferBytes   memory of direct ByteBuffers (malloc'd: also in {@code malloc})
 * @param mappedBufferBytes   memory of mapped ByteBuffers (file mappings)
 * @param threads             live Java threads (each with its stack)
 * @param nmtCommittedBytes   NMT's committed total, or -1 when NMT is off
 */
public record ProcessMemory(Instant time, long rssBytes, MallocStats malloc, long trackedBytes,
                            long heapCommittedBytes, long nonHeapCommittedBytes, long directBufferBytes,
                            long mappedBufferBytes, int threads, long nmtCommittedBytes) {
    private static final Pattern NMT_TOTAL = Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern RSS = Pattern.compile("(?m)^VmRSS:\\s+(\\d+) kB$");

    /** Reads everything now; figures that cannot be read are 0 (malloc: null, NMT: -1). */
    public static ProcessMemory readNow(long trackedBytes, boolean nmtOn) {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long direct = 0;
        long mapped = 0;
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                direct = pool.getMemoryUsed();
            } else if (pool.getName().equals("mapped")) {
                mapped = pool.getMemoryUsed();
            }
        }
        return new ProcessMemory(Instant.now(), rss(), MallocStats.read(), trackedBytes,
                memory.getHeapMemoryUsage().getCommitted(), memory.getNonHeapMemoryUsage().getCommitted(), direct,
                mapped, ManagementFactory.getThreadMXBean().getThreadCount(), nmtOn ? nmtCommitted() : -1);
    }

    /** Whether this JVM runs with -XX:NativeMemoryTracking=summary or detail ({@code VM.flags} lists it then). */
    public static boolean nmtOn() {
        try {
            String flags = DiagnosticCommand.execute("VM.flags");
            return DiagnosticCommand.listsOption(flags, "-XX:NativeMemoryTracking=summary")
                    || DiagnosticCommand.listsOption(flags, "-XX:NativeMemoryTracking=detail");
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    private static long rss() {
        try {
            Matcher m = RSS.matcher(Files.readString(Paths.get("/proc/self/status")));
            return m.find() ? Long.parseLong(m.group(1)) * 1024 : 0;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** NMT's committed total (what {@code jcmd PID VM.native_memory summary} prints), or -1. */
    private static long nmtCommitted() {
        try {
            Matcher m = NMT_TOTAL.matcher(DiagnosticCommand.execute("VM.native_memory summary"));
            return m.find() ? Long.parseLong(m.group(2)) * 1024 : -1;
        } catch (RuntimeException | LinkageError e) {
            return -1;
        }
    }
}
