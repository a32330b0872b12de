package dev.memleak4j.agent.report;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The agent's one thread: every interval it takes a snapshot and prints the report. Its own native allocations
 * (symbolizing, reading maps) are excluded from tracking by {@code onStart}, which runs on the thread itself.
 */
public final class Reporter implements Runnable {
    private final SnapshotCollector collector;
    private final Supplier<ReportSettings> settings;
    private final long intervalMillis;
    private final long count;
    private final PrintStream out;
    private final Runnable onStart;
    private final Consumer<String> onFinish;
    private volatile boolean stopped;
    private Thread thread;

    /**
     * @param count    reports before stopping, 0 for unlimited
     * @param output   the file to write to, or null for stderr
     * @param onFinish called on the reporter thread when {@code count} reports were printed, with a message
     */
    public Reporter(SnapshotCollector collector, Supplier<ReportSettings> settings, long intervalMillis, long count,
                    Path output, Runnable onStart, Consumer<String> onFinish) throws IOException {
        this.collector = collector;
        this.settings = settings;
        this.intervalMillis = intervalMillis;
        this.count = count;
        this.onStart = onStart;
        this.onFinish = onFinish;
        this.out = output == null ? System.err : new PrintStream(openOutput(output), true, StandardCharsets.UTF_8);
    }

    private static OutputStream openOutput(Path output) throws IOException {
        Path parent = output.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        return Files.newOutputStream(output);
    }

    public synchronized void start() {
        thread = new Thread(this, "memleak4j-reporter");
        thread.setDaemon(true);
        thread.start();
    }

    public void stop() {
        stopped = true;
        Thread current = thread;
        if (current != null && current != Thread.currentThread()) {
            current.interrupt();
            try {
                current.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (out != System.err) {
            out.close();
        }
    }

    @Override
    public void run() {
        onStart.run();
        long printed = 0;
        long next = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(intervalMillis);
        while (!stopped) {
            long wait = next - System.nanoTime();
            if (wait > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(wait);
                } catch (InterruptedException e) {
                    return;
                }
                continue;
            }
            next += TimeUnit.MILLISECONDS.toNanos(intervalMillis);
            ReportSettings current = settings.get();
            try {
                String text = TextReport.format(collector.collect(current), current.top());
                synchronized (out) {
                    out.print(text);
                    out.flush();
                }
            } catch (RuntimeException e) {
                System.err.println("memleak4j: a report failed: " + e + "; the next interval tries again");
            }
            printed++;
            if (count > 0 && printed >= count) {
                onFinish.accept("memleak4j: stopped after " + printed + " reports (count=" + count
                        + "); probes detached");
                return;
            }
        }
    }
}
