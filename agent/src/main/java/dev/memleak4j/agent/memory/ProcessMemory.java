package dev.memleak4j.agent.memory;

import dev.memleak4j.agent.nativelib.DiagnosticCommand;
import dev.memleak4j.agent.nativelib.JvmManagement;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Instant;

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

    /** Reads everything now; figures that cannot be read are 0 (malloc: null, NMT: -1). */
    public static ProcessMemory readNow(long trackedBytes, boolean nmtOn) {
        long[] buffers = JvmManagement.bufferPoolBytes();
        return new ProcessMemory(Instant.now(), rss(), MallocStats.read(), trackedBytes,
                JvmManagement.heapCommittedBytes(), JvmManagement.nonHeapCommittedBytes(), buffers[0], buffers[1],
                JvmManagement.liveThreads(), nmtOn ? nmtCommitted() : -1);
    }

    /** Whether this JVM runs with -XX:NativeMemoryTracking=summary or detail ({@code VM.flags} lists it then). */
    public static boolean nmtOn() {
        try {
            String flags = DiagnosticCommand.startFlags();
            return DiagnosticCommand.listsOption(flags, "-XX:NativeMemoryTracking=summary")
                    || DiagnosticCommand.listsOption(flags, "-XX:NativeMemoryTracking=detail");
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    private static long rss() {
        try {
            return rssKiB(Files.readString(Paths.get("/proc/self/status"))) * 1024;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /*
     * The two texts are scanned by hand, not with regular expressions: a Pattern would bring java.util.regex (its
     * classes and tables) into the application's JVM for good, for two numbers read at every report.
     */

    /** The number of a line {@code VmRSS:<whitespace>DIGITS kB}; 0 when there is none. */
    static long rssKiB(String status) {
        int line = 0;
        while (line < status.length()) {
            int end = status.indexOf('\n', line);
            if (end < 0) {
                end = status.length();
            }
            if (status.startsWith("VmRSS:", line)) {
                int at = line + "VmRSS:".length();
                int spaces = at;
                while (at < end && " \t\013\f\r".indexOf(status.charAt(at)) >= 0) { // what \s matches in a line
                    at++;
                }
                int digits = at;
                at = digitsEnd(status, digits); // a line's end is no digit: the run stays within the line
                if (spaces < digits && digits < at && status.startsWith(" kB", at) && at + " kB".length() == end) {
                    return Long.parseLong(status, digits, at, 10);
                }
            }
            line = end + 1;
        }
        return 0;
    }

    /** NMT's committed total (what {@code jcmd PID VM.native_memory summary} prints), or -1. */
    private static long nmtCommitted() {
        try {
            long kib = nmtCommittedKiB(DiagnosticCommand.execute("VM.native_memory summary"));
            return kib < 0 ? -1 : kib * 1024;
        } catch (RuntimeException | LinkageError e) {
            return -1;
        }
    }

    /** The committed KB of the first {@code Total: reserved=DIGITSKB, committed=DIGITSKB}; -1 when there is none. */
    static long nmtCommittedKiB(String summary) {
        String head = "Total: reserved=";
        for (int from = summary.indexOf(head); from >= 0; from = summary.indexOf(head, from + 1)) {
            int at = digitsEnd(summary, from + head.length());
            if (at == from + head.length() || !summary.startsWith("KB, committed=", at)) {
                continue;
            }
            int digits = at + "KB, committed=".length();
            at = digitsEnd(summary, digits);
            if (at > digits && summary.startsWith("KB", at)) {
                return Long.parseLong(summary, digits, at, 10);
            }
        }
        return -1;
    }

    private static int digitsEnd(String text, int from) {
        int at = from;
        while (at < text.length() && text.charAt(at) >= '0' && text.charAt(at) <= '9') {
            at++;
        }
        return at;
    }
}
