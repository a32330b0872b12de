package dev.memleak4j.agent.report;

import dev.memleak4j.agent.jnimarks.JniMarks;
import dev.memleak4j.agent.nativelib.JvmManagement;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The agent's one thread: every interval it takes a snapshot and hands it to every listener (the text report, the
 * JSON file, the latest-snapshot holder that JFR and JMX read). Its own native allocations (symbolizing, reading
 * maps) are excluded from tracking by {@code onStart}, which runs on the thread itself before anything else.
 *
 * <p>With {@link #reportAtExit()}, the JVM's exit (end of {@code main}, {@code System.exit}, SIGTERM) makes it take
 * one more snapshot, marked as the exit report, so that a JVM shorter than the interval, and the last interval of
 * every JVM, are reported too. The exit hook only asks: the snapshot is taken on this thread, whose allocations are
 * not tracked, and never on the hook's.
 */
public final class Reporter implements Runnable {
    private final SnapshotCollector collector;
    private final Supplier<ReportSettings> settings;
    private final long count;
    private final Runnable onStart;
    private final Runnable onCountReached;
    private final List<Consumer<Snapshot>> listeners = new CopyOnWriteArrayList<>();
    private final CountDownLatch tracking = new CountDownLatch(1);
    private volatile Consumer<String> verboseLog;
    /** Null when none is set (a shared no-op would be a lambda: a hidden class for good in the application's JVM). */
    private volatile Runnable betweenReports;
    private volatile Runnable beforeExitReport;
    private volatile boolean allStacks;
    /** Snapshots with every stack asked for from other threads (MBean operations), taken here between reports. */
    private final ConcurrentLinkedQueue<CompletableFuture<Snapshot>> requests = new ConcurrentLinkedQueue<>();
    private volatile boolean stopped;
    private volatile Thread thread;
    /** Naps between reports wait on this, so that the exit hook can end them at once. */
    private final Object wakeUp = new Object();
    private volatile boolean exitRequested;
    private final CountDownLatch exitReported = new CountDownLatch(1);
    private Thread exitHook;

    /**
     * @param count          reports before stopping, 0 for unlimited
     * @param onCountReached called on the reporter thread after {@code count} reports
     */
    public Reporter(SnapshotCollector collector, Supplier<ReportSettings> settings, long count, Runnable onStart,
                    Runnable onCountReached) {
        this.collector = collector;
        this.settings = settings;
        this.count = count;
        this.onStart = onStart;
        this.onCountReached = onCountReached;
    }

    /** With verbose: one line per report saying what it cost (wall and CPU time of this thread). */
    public void setVerboseLog(Consumer<String> log) {
        this.verboseLog = log;
    }

    /**
     * Runs {@code task} on this thread between reports, every 200 ms or so (the sampling budget's check): on this
     * thread because its allocations are the agent's own, never tracked.
     */
    public void setBetweenReports(Runnable task) {
        this.betweenReports = task;
    }

    /**
     * Runs {@code task} on this thread before the exit report, which the JVM's exit waits for (e.g. to give up the
     * background priority {@code onStart} took).
     */
    public void setBeforeExitReport(Runnable task) {
        this.beforeExitReport = task;
    }

    /** Whether each snapshot also carries every stack, not only the top ones (flame graph, pprof, JFR file). */
    public void setAllStacks(boolean all) {
        this.allStacks = all;
    }

    /**
     * A snapshot with every stack, taken on this thread (whose native allocations are not tracked) within about
     * 200 ms; null when this thread does not answer in {@code timeoutMillis} (not running, or busy with a report).
     */
    public Snapshot completeSnapshot(long timeoutMillis) throws InterruptedException {
        Thread running = thread;
        if (running == null || !running.isAlive() || stopped || Thread.currentThread() == running) {
            return null;
        }
        CompletableFuture<Snapshot> request = new CompletableFuture<>();
        requests.add(request);
        try {
            return request.get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            request.cancel(false);
            return null;
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException ? (RuntimeException) e.getCause()
                    : new IllegalStateException(e.getCause());
        }
    }

    private void answerRequests() {
        for (CompletableFuture<Snapshot> request = requests.poll(); request != null; request = requests.poll()) {
            if (request.isDone()) {
                continue; // the caller gave up
            }
            try {
                request.complete(collector.collect(settings.get(), true));
            } catch (RuntimeException | OutOfMemoryError e) {
                request.completeExceptionally(e);
            }
        }
    }

    public void addListener(Consumer<Snapshot> listener) {
        listeners.add(listener);
    }

    public synchronized void start() {
        Thread started = new Thread(this, "memleak4j-reporter");
        started.setDaemon(true);
        thread = started;
        started.start();
    }

    /** Starts the interval clock: called once the probes are attached, so the first report covers a full interval. */
    public void trackingStarted() {
        tracking.countDown();
    }

    /**
     * Takes one more report when the JVM exits, marked as the exit report; the JVM's exit waits for it at most
     * {@code EXIT_REPORT_WAIT_SECONDS}. Call before {@link #start()}.
     */
    public synchronized void reportAtExit() {
        // A subclass, not a method reference: its hidden class would stay in the application's JVM for good.
        exitHook = new Thread("memleak4j-exit-report") {
            @Override
            public void run() {
                exitReport();
            }
        };
        Runtime.getRuntime().addShutdownHook(exitHook);
    }

    /**
     * How long the JVM's exit waits for the exit report: generous, since even a report of a million allocations takes
     * a fraction of it (docs/benchmarks.md).
     */
    private static final long EXIT_REPORT_WAIT_SECONDS = 10;

    /** On the exit hook's thread: asks the reporter thread for the exit report and waits for it. */
    private void exitReport() {
        if (stopped || thread == null) {
            return;
        }
        exitRequested = true;
        synchronized (wakeUp) {
            wakeUp.notifyAll();
        }
        try {
            if (!exitReported.await(EXIT_REPORT_WAIT_SECONDS, TimeUnit.SECONDS)) {
                System.err.println("memleak4j: the exit report took more than " + EXIT_REPORT_WAIT_SECONDS
                        + " s; the JVM exits without it");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the thread and waits for it (unless called from it). */
    public void stop() {
        stopped = true;
        removeExitHook();
        Thread current = thread;
        if (current != null && current != Thread.currentThread()) {
            current.interrupt();
            try {
                current.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private synchronized void removeExitHook() {
        if (exitHook != null && Thread.currentThread() != exitHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(exitHook);
            } catch (IllegalStateException e) {
                // The JVM is exiting already: the hook sees that the reporter stopped and returns.
            }
            exitHook = null;
        }
    }

    /** For the verbose line: how the JNI marks found Java callers so far (the frame walk's share of known paths). */
    private static String jniCaptures() {
        JniMarks marks = JniMarks.active();
        if (marks == null) {
            return "";
        }
        long[] counts = marks.captureCounts();
        return "; Java callers of JNI calls captured " + counts[0] + " times, " + counts[1] + " from known call paths";
    }

    private static long threadCpuNanos() {
        return JvmManagement.currentThreadCpuNanos();
    }

    @Override
    public void run() {
        try {
            report();
        } finally {
            exitReported.countDown();
        }
    }

    private void report() {
        onStart.run();
        try {
            while (!tracking.await(200, TimeUnit.MILLISECONDS)) {
                if ((stopped || exitRequested) && tracking.getCount() != 0) {
                    return; // no probe was attached: nothing to report at exit
                }
            }
        } catch (InterruptedException e) {
            return;
        }
        long printed = 0;
        long last = System.nanoTime(); // before the first pass: it must not push the first report back
        warmUp();
        while (!stopped) {
            if (exitRequested) {
                try {
                    Runnable beforeExit = beforeExitReport;
                    if (beforeExit != null) {
                        beforeExit.run();
                    }
                } catch (RuntimeException | LinkageError e) {
                    // the exit report is taken all the same, only maybe later
                }
                takeReport(printed, true);
                return;
            }
            try {
                Runnable between = betweenReports;
                if (between != null) {
                    between.run();
                }
            } catch (RuntimeException e) {
                System.err.println("memleak4j: " + e + " between reports; reports go on");
            }
            answerRequests();
            long due = last + TimeUnit.SECONDS.toNanos(settings.get().intervalSeconds());
            long wait = due - System.nanoTime();
            if (wait > 0) {
                try {
                    // Short naps so that a shorter interval set at run time takes effect soon.
                    synchronized (wakeUp) {
                        if (!exitRequested) {
                            TimeUnit.NANOSECONDS.timedWait(wakeUp, Math.min(wait,
                                    TimeUnit.MILLISECONDS.toNanos(200)));
                        }
                    }
                } catch (InterruptedException e) {
                    return;
                }
                continue;
            }
            last = due;
            takeReport(printed, false);
            printed++;
            if (count > 0 && printed >= count) {
                stopped = true;
                removeExitHook();
                onCountReached.run();
                return;
            }
        }
    }

    /**
     * One snapshot taken and dropped as soon as tracking began, at this thread's background priority: it loads and
     * runs the report's code (and names the stacks there are so far) once while the application starts. A program
     * that ends within the first interval gets only the exit report, which its exit waits for: cold, that report
     * took about twice as long. On-demand snapshots (JMX, JFR) take the same path and leave no trace in the
     * reports' history.
     */
    private void warmUp() {
        if (exitRequested || stopped) {
            return;
        }
        long wall = System.nanoTime();
        try {
            collector.collect(settings.get(), false);
        } catch (RuntimeException | OutOfMemoryError e) {
            return; // the first report says what is wrong, if anything still is
        }
        Consumer<String> log = verboseLog;
        if (log != null) {
            log.accept("the reporter's first pass took " + (System.nanoTime() - wall) / 1_000_000 + " ms");
        }
    }

    private void takeReport(long printed, boolean atExit) {
        try {
            long wall = System.nanoTime();
            long cpu = threadCpuNanos();
            // At exit nothing will be freed any more: 'older' (which hides blocks in flight) does not apply.
            Snapshot snapshot = atExit
                    ? collector.collectForExitReport(settings.get().withOlderMillis(0), allStacks).asExitReport()
                    : collector.collectForReport(settings.get(), allStacks);
            for (Consumer<Snapshot> listener : listeners) {
                listener.accept(snapshot);
            }
            Consumer<String> log = verboseLog;
            if (log != null) {
                log.accept(String.format("%s took %d ms (%d ms of CPU)%s",
                        atExit ? "the exit report" : "report " + (printed + 1),
                        (System.nanoTime() - wall) / 1_000_000, (threadCpuNanos() - cpu) / 1_000_000,
                        jniCaptures()));
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            // The reporter must outlive a bad interval (a heap too small for this many allocations, a
            // listener's bug): say so, and try again at the next one.
            System.err.println("memleak4j: a report failed: " + e + "; the next interval tries again");
        }
    }
}
