package dev.memleak4j.it.programs;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import javax.management.JMException;
import javax.management.ObjectName;

/**
 * The soak's application (scripts/soak.sh). {@code SoakProgram REPORT_FILE SECONDS}: runs under the agent with
 * {@code older=0,output=REPORT_FILE}; churns (JNI malloc/free, short-lived threads, Inflater/Deflater, direct
 * buffers) and leaks {@value #LEAK_BATCH} blocks of {@value #LEAK_SIZE} bytes each time a new report appears in
 * the file. Each report is checked when the next one has begun (it is complete then): the bytes and allocations it
 * shows for the leak's stack must equal what had been leaked when it was written. Prints one {@code SOAK ...} line
 * per report and {@code SOAK PASS} or {@code SOAK FAIL ...} at the end; exits 0 only on pass.
 */
public final class SoakProgram {
    static final long LEAK_SIZE = 7_919;
    static final int LEAK_BATCH = 2;
    private static final String LEAK_FRAME = "Java_dev_memleak4j_it_programs_LeakLib_soakLeak+0x";
    private static final Pattern HEADER = Pattern.compile("^\\[\\d\\d:\\d\\d:\\d\\d\\] Top \\d+ stacks with outstanding allocations:$");
    private static final Pattern SUMMARY = Pattern.compile("^\\t(\\d+) bytes in (\\d+) allocations from stack.*$");

    private static volatile boolean running = true;

    private SoakProgram() {}

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        Path reportFile = Paths.get(args[0]);
        long seconds = Long.parseLong(args[1]);
        List<Thread> churners = List.of(daemon("churn-jni", SoakProgram::jniChurn),
                daemon("churn-threads", SoakProgram::threadChurn), daemon("churn-zip", SoakProgram::zipChurn));
        churners.forEach(Thread::start);

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        List<Long> leakedWhenSeen = new ArrayList<>(); // per report: blocks leaked before its header was seen
        long leaked = 0;
        int checked = 0;
        List<String> failures = new ArrayList<>();
        while (System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(50);
            List<List<String>> reports = split(reportFile);
            while (leakedWhenSeen.size() < reports.size()) {
                leakedWhenSeen.add(leaked);
                for (int i = 0; i < LEAK_BATCH; i++) {
                    if (LeakLib.soakLeak(LEAK_SIZE) == 0) {
                        throw new IllegalStateException("malloc failed");
                    }
                    leaked++;
                }
            }
            // A report is complete once the next one has begun.
            for (; checked < reports.size() - 1; checked++) {
                String failure = check(checked, reports.get(checked), leakedWhenSeen.get(checked));
                if (failure != null) {
                    failures.add(failure);
                }
                reports.set(checked, List.of()); // checked: keep the heap flat
            }
        }
        running = false;
        if (checked == 0) {
            failures.add("no complete report in " + reportFile);
        }
        System.out.println(failures.isEmpty() ? "SOAK PASS " + checked + " reports, leak exact in every one"
                : "SOAK FAIL " + failures.size() + " of " + checked + " reports: " + failures.get(0));
        System.out.flush();
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    /** Null when report {@code index} shows exactly {@code expectedBlocks} leaked blocks; else why not. */
    private static String check(int index, List<String> report, long expectedBlocks) throws Exception {
        long bytes = 0;
        long count = 0;
        String losses = "none";
        for (int i = 0; i < report.size(); i++) {
            Matcher m = SUMMARY.matcher(report.get(i));
            if (m.matches() && i + 1 < report.size() && report.get(i + 1).contains(LEAK_FRAME)) {
                bytes += Long.parseLong(m.group(1));
                count += Long.parseLong(m.group(2));
            }
            if (report.get(i).startsWith("\t[memleak4j] ")) {
                losses = report.get(i).substring("\t[memleak4j] ".length());
            }
        }
        boolean exact = bytes == expectedBlocks * LEAK_SIZE && count == expectedBlocks;
        System.out.println("SOAK report=" + (index + 1) + " expected=" + expectedBlocks * LEAK_SIZE + "/"
                + expectedBlocks + " reported=" + bytes + "/" + count + " " + (exact ? "exact" : "MISMATCH")
                + " rss_kb=" + rssKb() + " map_bytes=" + mapMemoryBytes() + " losses=" + losses);
        return exact ? null : "report " + (index + 1) + ": expected " + expectedBlocks * LEAK_SIZE + " bytes in "
                + expectedBlocks + ", reported " + bytes + " in " + count;
    }

    private static final List<List<String>> REPORTS = new ArrayList<>();
    private static long readUpTo;
    private static String partialLine = "";

    /** The reports in the file so far, as lines (read incrementally); the last one may still be being written. */
    private static List<List<String>> split(Path file) throws IOException {
        if (!Files.exists(file)) {
            return REPORTS;
        }
        byte[] added;
        try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
            long length = in.length();
            if (length <= readUpTo) {
                return REPORTS;
            }
            added = new byte[(int) Math.min(length - readUpTo, 64 << 20)];
            in.seek(readUpTo);
            in.readFully(added);
            readUpTo += added.length;
        }
        String text = partialLine + new String(added, StandardCharsets.UTF_8);
        int end = text.lastIndexOf('\n');
        partialLine = text.substring(end + 1);
        if (end < 0) {
            return REPORTS;
        }
        for (String line : text.substring(0, end).split("\n", -1)) {
            if (HEADER.matcher(line).matches()) {
                REPORTS.add(new ArrayList<>());
            } else if (!REPORTS.isEmpty()) {
                REPORTS.get(REPORTS.size() - 1).add(line);
            }
        }
        return REPORTS;
    }

    private static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    /**
     * The agent's BPF map memory, read from its MBean (the agent's classes are its own loader's, out of the
     * application's sight).
     */
    private static long mapMemoryBytes() {
        try {
            return (long) ManagementFactory.getPlatformMBeanServer()
                    .getAttribute(new ObjectName("memleak4j:type=NativeMemory"), "MapMemoryBytes");
        } catch (JMException | RuntimeException e) {
            return -1;
        }
    }

    private static Thread daemon(String name, Runnable body) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        return thread;
    }

    private static void jniChurn() {
        long size = 16;
        while (running) {
            LeakLib.churn(5_000, size);
            size = size >= 65_536 ? 16 : size * 2;
            pause(20);
        }
    }

    private static void threadChurn() {
        while (running) {
            Thread[] batch = new Thread[8];
            for (int i = 0; i < batch.length; i++) {
                batch[i] = new Thread(() -> {
                    long block = LeakLib.viaMalloc(3_001);
                    LeakLib.release(block);
                });
                batch[i].start();
            }
            for (Thread thread : batch) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    return;
                }
            }
            pause(50);
        }
    }

    private static void zipChurn() {
        byte[] input = new byte[64 * 1024];
        for (int i = 0; i < input.length; i++) {
            input[i] = (byte) (i % 251 < 128 ? i % 7 : i % 13);
        }
        byte[] compressed = new byte[input.length + 1024];
        byte[] output = new byte[input.length];
        while (running) {
            Deflater deflater = new Deflater();
            deflater.setInput(input);
            deflater.finish();
            int length = deflater.deflate(compressed);
            deflater.end();
            Inflater inflater = new Inflater();
            inflater.setInput(compressed, 0, length);
            try {
                inflater.inflate(output);
            } catch (java.util.zip.DataFormatException e) {
                throw new IllegalStateException(e);
            }
            inflater.end();
            ByteBuffer.allocateDirect(4096).putInt(0, length);
            pause(5);
        }
    }

    private static void pause(long millis) {
        try {
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
