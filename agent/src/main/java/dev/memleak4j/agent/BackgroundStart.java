package dev.memleak4j.agent;

import dev.memleak4j.agent.report.Reporter;

/**
 * premain's start, on the daemon thread {@code memleak4j-start}: the JVM's exit never waits for it. Whether tracking
 * began before the JVM started to exit is decided here, under one lock, so that exactly one of two things is said:
 * tracking began (the start line; the exit report follows at exit), or the JVM exits before it did (one line at exit,
 * and the start thread ends without another word).
 *
 * <p>Why not wait for the start at exit: the start (BPF programs, the code map, weaving) can take longer than a short
 * program runs, and the program would then end that much later; what it allocated before tracking began would not be
 * in a report anyway.
 */
final class BackgroundStart {
    private static final Object LOCK = new Object();
    /** When premain ran (System.nanoTime), for the exit line. */
    private static long begun;
    private static boolean tracking;
    private static boolean ended;
    private static boolean exited;
    private static Thread exitHook;

    private BackgroundStart() {}

    /** The JVM exits before tracking began: the start thread stops at its next step, without saying more. */
    static final class JvmExiting extends RuntimeException {
        JvmExiting() {
            super("the JVM exits before tracking began", null, false, false);
        }
    }

    /**
     * In premain: runs {@code start} on the daemon thread, and at exit says so if tracking had not begun by then. The
     * threads are classes, not lambdas: the JVM's first lambda would bootstrap its machinery before main.
     */
    static void run(Runnable start) {
        Thread hook = new Thread("memleak4j-exit-before-tracking") {
            @Override
            public void run() {
                atExit();
            }
        };
        synchronized (LOCK) {
            begun = System.nanoTime();
            exitHook = hook;
        }
        Runtime.getRuntime().addShutdownHook(hook);
        Thread thread = new Thread("memleak4j-start") {
            @Override
            public void run() {
                try {
                    start.run();
                } finally {
                    startEnded();
                }
            }
        };
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * On the start thread, once the probes are on: starts the reporter's clock (and its exit report from now on)
     * unless the JVM exits already, and then throws {@link JvmExiting} instead. Under the lock the exit hook takes:
     * either tracking began or the exit line is said, never both.
     */
    static void beginTracking(Reporter reporter) {
        synchronized (LOCK) {
            if (exited) {
                throw new JvmExiting();
            }
            tracking = true;
            reporter.trackingStarted();
        }
    }

    /**
     * Whether the JVM exits before tracking began, said in the exit line (printed now, if the exit hook has not run
     * yet): a failure of the start is then the exit's doing (e.g. no shutdown hook may be added any more) and is not
     * reported as the agent's.
     */
    static boolean exitedFirst() {
        synchronized (LOCK) {
            if (!exited && !tracking && shuttingDown()) {
                sayExited();
            }
            return exited;
        }
    }

    private static boolean shuttingDown() {
        Thread probe = new Thread("memleak4j-exit-probe"); // never started: only asks whether hooks may be added
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException e) {
            return true;
        }
    }

    /** The start returned or failed: its outcome is said; at exit there is nothing to add. */
    private static void startEnded() {
        Thread hook;
        synchronized (LOCK) {
            ended = true;
            hook = exitHook;
            exitHook = null;
        }
        if (hook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // The JVM is exiting: the hook finds the start ended and says nothing.
            }
        }
    }

    private static void atExit() {
        synchronized (LOCK) {
            if (!tracking && !ended && !exited) {
                sayExited();
            }
        }
    }

    private static void sayExited() {
        exited = true;
        long afterPremain = (System.nanoTime() - begun) / 1_000_000;
        AgentLog.line("the JVM exits " + afterPremain + " ms after the agent's start began, before tracking began: "
                + "nothing was tracked and there is no report (the start runs in the background; a program this "
                + "short can wait while the system property " + RunStatus.STARTING + " is set)");
    }
}
