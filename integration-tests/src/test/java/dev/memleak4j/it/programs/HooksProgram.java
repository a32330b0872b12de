package dev.memleak4j.it.programs;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/** Scenarios for probe-mode=hooks (HooksTest). Prints what it did; the test compares with the agent's report. */
public final class HooksProgram {
    public static final int STRDUP_LENGTH = 1_234_566;
    public static final long DLOPEN_SIZE = 1_345_677;
    public static final int THREADS = 8;
    public static final int CYCLES = 6;
    public static final int CYCLE_LEAKS = 25;
    public static final long CYCLE_SIZE = 7_777;
    public static final long DLSYM_SIZE = 1_456_787;

    private HooksProgram() {}

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        switch (args[0]) {
            case "late" -> late();
            case "slots" -> slots();
            case "by-name" -> byName();
            case "cycles" -> cycles();
            case "leak-in-churn" -> leakInChurn(Integer.parseInt(args[1]));
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    /** Libraries loaded after the start (by the JVM, and by C code), and an allocation libc makes itself. */
    private static void late() throws Exception {
        TimeUnit.MILLISECONDS.sleep(300);
        System.out.println("LEAK " + Long.toHexString(HooksLib.viaStrdup(STRDUP_LENGTH)));
        // By its bare name, found through the library's own RUNPATH ($ORIGIN), as dlopen finds it for its caller;
        // then by its path (the same library), and by a path from $ORIGIN, which dlopen expands to its caller's
        // directory.
        System.out.println("LEAK " + Long.toHexString(HooksLib.viaDlopened("libdlopened.so", DLOPEN_SIZE)));
        System.out.println("LEAK " + Long.toHexString(HooksLib.viaDlopened(HooksLib.DLOPENED, DLOPEN_SIZE)));
        System.out.println("LEAK " + Long.toHexString(HooksLib.viaDlopened("$ORIGIN/libdlopened.so", DLOPEN_SIZE)));
        AwaitTracking.periodicReportsAfter(3500); // reports every second: they see the leaks before the exit's
    }

    /**
     * Not a test (it runs for minutes): the measurement behind the default sample-bytes. A leak of 4 KiB blocks at
     * 1 MiB a minute, from its own stack, inside 100 MiB/s of churn (1 KiB malloc/free pairs) for {@code seconds};
     * prints how much leaked, then waits for a report that has it all.
     */
    private static void leakInChurn(int seconds) throws InterruptedException {
        Thread churn = new Thread(() -> {
            long next = System.nanoTime();
            while (true) {
                LeakLib.churn(1024, 1024); // 1 MiB every 10 ms
                next += TimeUnit.MILLISECONDS.toNanos(10);
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    LockSupportSleep.nanos(wait);
                }
            }
        });
        churn.setDaemon(true);
        churn.start();
        long start = System.nanoTime();
        long leaked = 0;
        while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(seconds)) {
            LeakLib.soakLeak(4096);
            leaked++;
            TimeUnit.NANOSECONDS.sleep(TimeUnit.MINUTES.toNanos(1) / 256); // 256 blocks of 4 KiB a minute
        }
        System.out.println("LEAKED " + leaked + " blocks, " + leaked * 4096 + " bytes");
        TimeUnit.SECONDS.sleep(12);
    }

    /** Sleeps without the interrupt handling of Thread.sleep (the churn thread never stops). */
    private static final class LockSupportSleep {
        static void nanos(long nanos) {
            java.util.concurrent.locks.LockSupport.parkNanos(nanos);
        }
    }

    /** The library's malloc and dlsym slots: hooks while the agent runs, libc's own again once it stopped. */
    private static void slots() throws InterruptedException {
        System.out.println("DURING " + HooksLib.slotTargets());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (HooksLib.slotTargets().contains("memleak4j") && System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(50);
        }
        System.out.println("AFTER " + HooksLib.slotTargets());
        // The agent logs what it restored after restoring it, on its report thread, which ends after that (count=1):
        // the exit must not cut the lines off.
        AwaitTracking.reportsEnded(2000);
    }

    /**
     * Allocator functions fetched by name with dlsym from C: two blocks of {@value #DLSYM_SIZE} bytes, one freed again
     * through the free fetched the same way; and whether the library's dlsym still finds its own symbols.
     */
    private static void byName() throws Exception {
        TimeUnit.MILLISECONDS.sleep(300);
        System.out.println("OWN SYMBOL " + HooksLib.findsOwnSymbol());
        System.out.println("LEAK " + Long.toHexString(HooksLib.viaDlsym(DLSYM_SIZE)));
        HooksLib.releaseViaDlsym(HooksLib.viaDlsym(DLSYM_SIZE));
        AwaitTracking.periodicReportsAfter(3500); // reports every second: they see the leak before the exit's
    }

    /**
     * Eight threads allocate, reallocate and free without pause while the probes (and with them the hooks) are stopped
     * and started again through JMX, {@value #CYCLES} times; then, with the probes on, each thread leaks
     * {@value #CYCLE_LEAKS} blocks of {@value #CYCLE_SIZE} bytes.
     */
    private static void cycles() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName agent = new ObjectName("memleak4j:type=NativeMemory");
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> churners = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
            Thread thread = new Thread(() -> {
                while (!stop.get()) {
                    HooksLib.churn(1000);
                }
            });
            thread.start();
            churners.add(thread);
        }
        for (int cycle = 0; cycle < CYCLES; cycle++) {
            TimeUnit.MILLISECONDS.sleep(200);
            server.invoke(agent, "stopProbes", null, null);
            TimeUnit.MILLISECONDS.sleep(100);
            server.invoke(agent, "startProbes", null, null);
        }
        stop.set(true);
        for (Thread thread : churners) {
            thread.join();
        }
        List<Thread> leakers = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
            Thread thread = new Thread(() -> {
                for (int n = 0; n < CYCLE_LEAKS; n++) {
                    HooksLib.leak(CYCLE_SIZE);
                }
            });
            thread.start();
            leakers.add(thread);
        }
        for (Thread thread : leakers) {
            thread.join();
        }
        System.out.println("CYCLED " + CYCLES + " RUNNING " + server.getAttribute(agent, "Running"));
        AwaitTracking.periodicReportsAfter(3500);
    }
}
