package dev.memleak4j.it.programs;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * A JNI library loaded long after tracking began ({@code args[0]} seconds), with a leak of {@value #LATE_SIZE} bytes
 * in it. Before that, a direct buffer of {@value #EARLY_SIZE} bytes stays allocated (so the reports name a stack, and
 * read the process's mappings, from the first one on) and a thread with a 64 MiB stack comes and goes (its stack is
 * unmapped again: a place where a library loaded later may be mapped).
 */
public final class LateLibraryProgram {
    public static final int EARLY_SIZE = 1_345_679;
    public static final long LATE_SIZE = 1_456_783;

    private LateLibraryProgram() {}

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        ByteBuffer early = ByteBuffer.allocateDirect(EARLY_SIZE);
        Thread deep = new Thread(null, () -> sleep(3000), "deep-stack", 64L << 20);
        deep.start();
        deep.join();
        TimeUnit.SECONDS.sleep(Long.parseLong(args[0]));
        System.out.println("LEAK " + Long.toHexString(LeakLib.viaMalloc(LATE_SIZE)));
        AwaitTracking.periodicReportsAfter(3500); // reports every second: they see the leak before the exit's
        Reference.reachabilityFence(early);
    }

    private static void sleep(long millis) {
        try {
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
