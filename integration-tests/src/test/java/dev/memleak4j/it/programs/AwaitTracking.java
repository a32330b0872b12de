package dev.memleak4j.it.programs;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * memleak4j starts in the background under {@code -javaagent}, so that {@code main} does not wait for it; a program
 * that allocates at once and must see those allocations tracked waits here first, while the agent says (the system
 * property {@code memleak4j.starting}) that it is still starting. Without the agent, or once it started or failed,
 * this returns at once.
 */
public final class AwaitTracking {
    public static final String AGENT_MBEAN = "memleak4j:type=NativeMemory";

    private AwaitTracking() {}

    public static void start() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.getProperty("memleak4j.starting") != null && System.nanoTime() < deadline) {
            try {
                TimeUnit.MILLISECONDS.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Waits at most {@code millis} for the reports the run is for: with {@code count=N} in the agent's options, until
     * its reports end ({@link #reportsEnded}); without, for the periodic reports after the program's work
     * ({@link #periodicReportsAfter}), before the exit report. Under a flight recording started with the JVM the
     * whole sleep: the recording's periodic events come on JFR's own clock, not with the reports.
     */
    public static void reportsDone(long millis) throws Exception {
        if (millis <= 0) {
            return;
        }
        List<String> jvmArguments = ManagementFactory.getRuntimeMXBean().getInputArguments();
        if (jvmArguments.stream().anyMatch(a -> a.startsWith("-XX:StartFlightRecording"))) {
            TimeUnit.MILLISECONDS.sleep(millis);
        } else if (jvmArguments.stream()
                .anyMatch(a -> a.startsWith("-javaagent:") && a.matches(".*[=,]count=\\d+(,.*)?"))) {
            reportsEnded(millis);
        } else {
            periodicReportsAfter(millis);
        }
    }

    /**
     * Sleeps {@code millis}, or less where the agent's reports end before: under {@code count=N} the agent's reporter
     * thread ends after its last report, once the probes are detached and its lines are printed, and a program that
     * waits only for those reports need not wait longer. Where the agent reports without end (no count), or is not
     * there, this is the whole sleep, as before.
     */
    public static void reportsEnded(long millis) throws InterruptedException {
        if (millis <= 0) {
            return;
        }
        Thread reporter = thread("memleak4j-reporter");
        if (reporter == null) {
            TimeUnit.MILLISECONDS.sleep(millis);
        } else {
            reporter.join(millis);
        }
    }

    /**
     * Sleeps {@code millis}, or less: until the agent took a report that read the allocations entirely after this call
     * ({@link #reportReadAfterNow}). For programs whose reports run without end (no count) and are read at the exit
     * report: the periodic reports before it were taken after the program's work, as in a longer sleep. Without the
     * agent, or where it did not start, this is the whole sleep.
     */
    public static void periodicReportsAfter(long millis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        if (thread("memleak4j-reporter") == null || !reportReadAfterNow(millis)) {
            long rest = deadline - System.nanoTime();
            if (rest > 0) {
                TimeUnit.NANOSECONDS.sleep(rest);
            }
        }
    }

    /**
     * Waits at most {@code millis}, through the agent's MBean, for a report read entirely after this call: the first
     * snapshot newer than the one current now may have read the allocations before the call, the next one cannot
     * have. False when none came in time or the agent stopped.
     */
    public static boolean reportReadAfterNow(long millis) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = new ObjectName(AGENT_MBEAN);
        String seen = (String) server.getAttribute(name, "SnapshotTime");
        for (int newer = 0; newer < 2; ) {
            if (System.nanoTime() >= deadline || !(Boolean) server.getAttribute(name, "Running")) {
                return false;
            }
            TimeUnit.MILLISECONDS.sleep(50);
            String time = (String) server.getAttribute(name, "SnapshotTime");
            if (!time.isEmpty() && !time.equals(seen)) {
                newer++;
                seen = time;
            }
        }
        return true;
    }

    /** The live thread of that name: one look at the threads, no native call of the JVM's per poll. */
    private static Thread thread(String name) {
        ThreadGroup root = Thread.currentThread().getThreadGroup();
        while (root.getParent() != null) {
            root = root.getParent();
        }
        Thread[] threads = new Thread[root.activeCount() + 16];
        int n = root.enumerate(threads, true);
        for (int i = 0; i < n; i++) {
            if (threads[i].getName().equals(name)) {
                return threads[i];
            }
        }
        return null;
    }
}
