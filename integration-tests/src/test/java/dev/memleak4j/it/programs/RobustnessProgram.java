package dev.memleak4j.it.programs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Threads, processes and exits under the agent. {@code RobustnessProgram SCENARIO REPORT_FILE}: runs the scenario,
 * then waits for a report taken after it in REPORT_FILE and prints {@code CHECK REPORT n}: report n (1-based)
 * is complete and was taken after everything the scenario did. The expected outstanding blocks are in the tests.
 */
public final class RobustnessProgram {
    /** Leaked by the 8 concurrent threads: {@value #THREADS} x {@value #PER_THREAD} blocks of this size. */
    public static final long CONCURRENT_SIZE = 4_001;
    public static final int THREADS = 8;
    public static final int PER_THREAD = 500;
    /** calloc(1, size) on short-lived threads; all freed but the last {@value #SHORT_KEPT}. */
    public static final long SHORT_SIZE = 3_989;
    public static final int SHORT_THREADS = 3_000;
    public static final int SHORT_KEPT = 5;
    /** valloc on one thread, freed on another, but {@value #CROSS_KEPT}. */
    public static final long CROSS_SIZE = 4_003;
    public static final int CROSS_BLOCKS = 1_000;
    public static final int CROSS_KEPT = 10;
    /** Leaked by the parent around the forks: {@value #FORK_PARENT_LEAKS} blocks. */
    public static final long FORK_PARENT_SIZE = 4_007;
    public static final int FORK_PARENT_LEAKS = 7;
    /** What each fork()ed child leaks (must not be seen). */
    public static final long FORK_CHILD_SIZE = 3_997;

    /** Leaked from one stack with max-allocs=1000: more than the map holds. */
    public static final long BOUNDED_SIZE = 4_093;
    public static final int BOUNDED_BLOCKS = 5_000;

    private RobustnessProgram() {}

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        String scenario = args[0];
        Path reports = args.length > 1 ? Paths.get(args[1]) : null;
        switch (scenario) {
            case "threads":
                shortLivedThreads();
                concurrentThreads();
                crossThreadFrees();
                break;
            case "fork":
                fork();
                break;
            case "bounded":
                System.out.println("MADE " + LeakLib.mallocMany(BOUNDED_BLOCKS, BOUNDED_SIZE));
                break;
            case "exit-busy":
                churnForever();
                TimeUnit.MILLISECONDS.sleep(3000);
                System.out.println("EXITING");
                System.out.flush();
                System.exit(9);
                break;
            case "return-busy":
                churnForever();
                TimeUnit.MILLISECONDS.sleep(3000);
                System.out.println("RETURNING");
                return;
            default:
                throw new IllegalArgumentException("unknown scenario " + scenario);
        }
        System.out.println("LEAKS DONE");
        System.out.println("CHECK REPORT " + awaitTwoMoreReports(reports));
        System.out.flush();
    }

    private static void shortLivedThreads() throws InterruptedException {
        List<Long> kept = new ArrayList<>();
        for (int batch = 0; batch < SHORT_THREADS / 100; batch++) {
            List<Thread> threads = new ArrayList<>();
            boolean last = batch == SHORT_THREADS / 100 - 1;
            for (int i = 0; i < 100; i++) {
                boolean keep = last && i < SHORT_KEPT;
                threads.add(new Thread(() -> {
                    long block = LeakLib.viaCalloc(1, SHORT_SIZE);
                    if (block == 0) {
                        throw new IllegalStateException("calloc failed");
                    }
                    if (keep) {
                        synchronized (kept) {
                            kept.add(block);
                        }
                    } else {
                        LeakLib.release(block);
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread thread : threads) {
                thread.join();
            }
        }
        System.out.println("SHORT-LIVED THREADS " + SHORT_THREADS + " KEPT " + kept.size());
    }

    private static void concurrentThreads() throws InterruptedException {
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        int[] made = new int[THREADS];
        for (int t = 0; t < THREADS; t++) {
            int index = t;
            threads.add(new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < PER_THREAD; i++) {
                    if (LeakLib.viaMalloc(CONCURRENT_SIZE) != 0) {
                        made[index]++;
                    }
                }
            }));
        }
        threads.forEach(Thread::start);
        go.countDown();
        for (Thread thread : threads) {
            thread.join();
        }
        int total = 0;
        for (int m : made) {
            total += m;
        }
        System.out.println("CONCURRENT MADE " + total);
    }

    private static void crossThreadFrees() throws InterruptedException {
        ConcurrentLinkedQueue<Long> handed = new ConcurrentLinkedQueue<>();
        Thread allocator = new Thread(() -> {
            for (int i = 0; i < CROSS_BLOCKS; i++) {
                handed.add(LeakLib.viaValloc(CROSS_SIZE));
            }
        });
        allocator.start();
        allocator.join();
        Thread freer = new Thread(() -> {
            for (int i = 0; i < CROSS_BLOCKS - CROSS_KEPT; i++) {
                LeakLib.release(handed.poll());
            }
        });
        freer.start();
        freer.join();
        System.out.println("CROSS-THREAD LEFT " + handed.size());
    }

    private static void fork() throws Exception {
        for (int i = 0; i < 3; i++) {
            LeakLib.viaMalloc(FORK_PARENT_SIZE);
        }
        for (int i = 0; i < 100; i++) {
            int exit = new ProcessBuilder("/bin/true").start().waitFor();
            if (exit != 0) {
                throw new IllegalStateException("/bin/true exited " + exit);
            }
        }
        for (int i = 0; i < 20; i++) {
            int exit = LeakLib.forkChild(FORK_CHILD_SIZE);
            if (exit != 42) {
                throw new IllegalStateException("the fork()ed child exited " + exit);
            }
        }
        for (int i = 3; i < FORK_PARENT_LEAKS; i++) {
            LeakLib.viaMalloc(FORK_PARENT_SIZE);
        }
        System.out.println("FORKED");
    }

    private static void churnForever() {
        for (int i = 0; i < 4; i++) {
            long size = 64L << i;
            Thread thread = new Thread(() -> {
                while (true) {
                    LeakLib.churn(10_000, size);
                }
            });
            thread.setDaemon(true);
            thread.start();
        }
    }

    /**
     * Returns the (1-based) number of a complete report whose snapshot was taken after this call: report n+1 begins
     * after the call (it was not there yet), so report n+2 was collected after the call, and it is complete once
     * report n+3 has begun.
     */
    private static int awaitTwoMoreReports(Path file) throws IOException, InterruptedException {
        int before = headers(file);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (headers(file) < before + 3 && System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(50);
        }
        return before + 2;
    }

    private static int headers(Path file) throws IOException {
        if (!Files.exists(file)) {
            return 0;
        }
        int count = 0;
        for (String line : Files.readString(file, StandardCharsets.UTF_8).split("\n")) {
            if (line.endsWith(" stacks with outstanding allocations:") && line.startsWith("[")) {
                count++;
            }
        }
        return count;
    }
}
