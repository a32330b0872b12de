package dev.memleak4j.bench;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * One measurement in a fresh JVM, started by {@link ChildRunner}: {@code ChildMain WORKLOAD WARMUP_MS MEASURE_MS
 * [COUNT SIZE]}. Waits until memleak4j (when present) tracks, runs the workload's threads, lets them warm up, counts
 * the operations done during the measurement window, and prints one line the parent parses:
 *
 * <pre>BENCH result ops=N nanos=N cpu_nanos=N calls=N threads=N classes=N full_gcs=N full_gc_millis=N
 * gc_cpu_millis=N</pre>
 *
 * ({@code calls} is -1 unless the allocator-call counter is preloaded; {@code classes}: loaded at the end of the
 * window; the full GCs and their total pause in the window, from the old-generation collector's MXBean; the GC
 * threads' CPU time in the window). It prints
 * {@code BENCH window start} and {@code BENCH window end} as the window opens and closes (the parent reads a tool's
 * counters then), while the workload runs on. Then it prints {@code BENCH waiting} and
 * waits for a line on stdin, so that the parent can read its memory (/proc/PID/status, the fdinfo of its BPF maps)
 * while everything the tool under test built is still alive. The {@code million} workload instead prints
 * {@code BENCH before} and waits for a line (the parent reads the memory before), then allocates COUNT blocks of SIZE
 * bytes through JNI, keeps them, holds for MEASURE_MS and reports like the others.
 */
public final class ChildMain {
    /** Counters one per cache line pair, so the threads do not share a line. */
    private static final int PAD = 16;

    private static volatile boolean stop;

    /** Set by memleak4j while it starts in the background (RunStatus.STARTING in the agent). */
    private static final String AGENT_STARTING = "memleak4j.starting";
    private static final int START_LIMIT_SECONDS = 60;

    private static final java.lang.management.OperatingSystemMXBean OS = ManagementFactory.getOperatingSystemMXBean();

    private ChildMain() {}

    public static void main(String[] args) throws Exception {
        Workload workload = Workload.byId(args[0]);
        long warmupMs = Long.parseLong(args[1]);
        long measureMs = Long.parseLong(args[2]);
        NativeBench.load();
        System.out.println("BENCH started pid=" + ProcessHandle.current().pid());
        if (!awaitAgentStart()) {
            System.exit(1);
        }
        if (workload == Workload.MILLION) {
            holdMillion(Integer.parseInt(args[3]), Integer.parseInt(args[4]), measureMs);
        } else {
            measure(workload, warmupMs, measureMs);
        }
        System.out.println("BENCH waiting");
        System.out.flush();
        System.in.read();
        System.exit(0);
    }

    private static void measure(Workload workload, long warmupMs, long measureMs) throws InterruptedException {
        int threads = workload.threads;
        AtomicLongArray counts = new AtomicLongArray(threads * PAD);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int slot = t * PAD;
            workers[t] = new Thread(() -> {
                try {
                    Workload.Batch batch = workload.newBatch();
                    while (!stop) {
                        long done = batch.run();
                        counts.lazySet(slot, counts.get(slot) + done);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "bench-" + workload.id + "-" + t);
            workers[t].setDaemon(true);
            workers[t].start();
        }
        processCpuNanos(); // loads the management classes now, not inside the window
        fullGcs();
        gcCpuMillis();
        TimeUnit.MILLISECONDS.sleep(warmupMs);
        // Operations and allocator calls are read back to back, so both cover the same window.
        long ops0 = sum(counts);
        long calls0 = NativeBench.allocatorCalls();
        long t0 = System.nanoTime();
        long cpu0 = processCpuNanos();
        long[] gc0 = fullGcs();
        long gcCpu0 = gcCpuMillis();
        System.out.println("BENCH window start");
        TimeUnit.MILLISECONDS.sleep(measureMs);
        long ops1 = sum(counts);
        long calls1 = NativeBench.allocatorCalls();
        long t1 = System.nanoTime();
        long cpu1 = processCpuNanos();
        long[] gc1 = fullGcs();
        long gcCpu1 = gcCpuMillis();
        System.out.println("BENCH window end");
        System.out.flush();
        stop = true;
        for (Thread worker : workers) {
            worker.join(10_000);
        }
        if (failure.get() != null) {
            System.out.println("BENCH error " + failure.get().toString().replace('\n', ' '));
            failure.get().printStackTrace();
            System.exit(1);
        }
        System.out.println("BENCH result ops=" + (ops1 - ops0) + " nanos=" + (t1 - t0) + " cpu_nanos=" + (cpu1 - cpu0)
                + " calls=" + (calls0 < 0 ? -1 : calls1 - calls0) + " threads=" + threads
                + " classes=" + ManagementFactory.getClassLoadingMXBean().getLoadedClassCount()
                + " full_gcs=" + (gc1[0] - gc0[0]) + " full_gc_millis=" + (gc1[1] - gc0[1])
                + " gc_cpu_millis=" + (gcCpu0 < 0 || gcCpu1 < 0 ? -1 : gcCpu1 - gcCpu0));
    }

    /**
     * memleak4j starts in the background ({@code -javaagent}): the workload's warm-up begins once it tracks, so that
     * the window measures the tracking, not the start (the start-up row measures that). While it starts, the system
     * property {@code memleak4j.starting} is set. Prints {@code BENCH tracking uptime_ms=N} (-1 without memleak4j).
     * A start that has not ended after {@link #START_LIMIT_SECONDS} is a hang: the threads' stacks go to stderr (the
     * child's log) and this returns false.
     */
    private static boolean awaitAgentStart() throws InterruptedException {
        // Read in every column, so that what it loads (the runtime MXBean) is no tool's weight.
        ManagementFactory.getRuntimeMXBean();
        if (System.getProperty(AGENT_STARTING) == null) {
            System.out.println("BENCH tracking uptime_ms=-1");
            return true;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_LIMIT_SECONDS);
        while (System.getProperty(AGENT_STARTING) != null) {
            if (System.nanoTime() > deadline) {
                System.err.println("memleak4j-bench: the agent was still starting after " + START_LIMIT_SECONDS
                        + " s; the threads' stacks:");
                Thread.getAllStackTraces().forEach((thread, frames) -> {
                    System.err.println("\"" + thread.getName() + "\" " + thread.getState());
                    for (StackTraceElement frame : frames) {
                        System.err.println("\tat " + frame);
                    }
                });
                System.out.println("BENCH error the agent was still starting after " + START_LIMIT_SECONDS
                        + " s (a hang at start: the thread stacks are in the child's log)");
                return false;
            }
            TimeUnit.MILLISECONDS.sleep(5);
        }
        System.out.println("BENCH tracking uptime_ms=" + ManagementFactory.getRuntimeMXBean().getUptime());
        return true;
    }

    private static void holdMillion(int count, int size, long holdMs) throws Exception {
        System.out.println("BENCH before");
        System.out.flush();
        System.in.read(); // the parent reads the memory before the blocks exist, then answers
        long t0 = System.nanoTime();
        long handle = NativeBench.holdBlocks(count, size);
        long t1 = System.nanoTime();
        if (handle == 0) {
            System.out.println("BENCH error malloc failed");
            System.exit(1);
        }
        System.out.println("BENCH held count=" + count + " size=" + size + " alloc_nanos=" + (t1 - t0));
        TimeUnit.MILLISECONDS.sleep(holdMs);
        System.out.println("BENCH result ops=" + count + " nanos=" + (t1 - t0) + " cpu_nanos=-1 calls=-1 threads=1");
    }

    /**
     * Full collections so far and their total time in ms: the old-generation collector's bean (G1 Old Generation,
     * PS MarkSweep, MarkSweepCompact), which counts the full GCs that System.gc() and the direct-memory limit cause.
     */
    private static long[] fullGcs() {
        long[] total = new long[2];
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc.getName().contains("Old") || gc.getName().contains("MarkSweep")) {
                total[0] += gc.getCollectionCount();
                total[1] += gc.getCollectionTime();
            }
        }
        return total;
    }

    /**
     * CPU time of the JVM's GC threads ("GC Thread#N", the VM thread that runs the pauses, G1's own threads) so far,
     * in ms (from /proc/self/task), or -1. A pause's wall time grows when other processes take the CPUs; the GC
     * threads' CPU time is what the collection itself cost.
     */
    private static long gcCpuMillis() {
        long ticks = 0;
        try (Stream<Path> tasks = Files.list(
                Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (IOException e) {
                    continue; // the thread ended
                }
                int open = stat.indexOf('(');
                int close = stat.lastIndexOf(')');
                String name = stat.substring(open + 1, close);
                if (name.startsWith("GC Thread") || name.equals("VM Thread") || name.startsWith("G1 ")) {
                    String[] f = stat.substring(close + 2).split(" ");
                    ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return ticks * 10; // USER_HZ is 100 on Linux
    }

    private static long sum(AtomicLongArray counts) {
        long total = 0;
        for (int i = 0; i < counts.length(); i += PAD) {
            total += counts.get(i);
        }
        return total;
    }

    private static long processCpuNanos() {
        return OS instanceof com.sun.management.OperatingSystemMXBean
                ? ((com.sun.management.OperatingSystemMXBean) OS).getProcessCpuTime() : -1;
    }
}
