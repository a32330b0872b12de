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

    private HooksProgram() {}

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "late" -> late();
            case "slots" -> slots();
            case "cycles" -> cycles();
            default -> throw new IllegalArgumentException(args[0]);
        }
    }

    /** Libraries loaded after the start (by the JVM, and by C code), and an allocation libc makes itself. */
    private static void late() throws InterruptedException {
        TimeUnit.MILLISECONDS.sleep(300);
        System.out.println("LEAK " + Long.toHexString(HooksLib.viaStrdup(STRDUP_LENGTH)));
        System.out.println("LEAK " + Long.toHexString(HooksLib.viaDlopened(HooksLib.DLOPENED, DLOPEN_SIZE)));
        TimeUnit.MILLISECONDS.sleep(3500); // reports every second: the last ones see the leaks
    }

    /** The library's malloc slot: a hook while the agent runs, the allocator's own again once it stopped. */
    private static void slots() throws InterruptedException {
        System.out.println("DURING " + HooksLib.mallocSlotIsTheAllocators());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (HooksLib.mallocSlotIsTheAllocators() == 0 && System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(50);
        }
        System.out.println("AFTER " + HooksLib.mallocSlotIsTheAllocators());
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
        TimeUnit.MILLISECONDS.sleep(3500);
    }
}
