package dev.memleak4j.it.programs;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Leaks 3 direct buffers of 1,333,337 bytes, kept reachable so the Cleaner never frees them, from
 * {@link #leakDirectBuffers}: ByteBuffer.allocateDirect → Unsafe.allocateMemory → the JVM's os::malloc → malloc.
 * {@code DirectBufferProgram SLEEP_MS}.
 */
public final class DirectBufferProgram {
    static final int CAPACITY = 1_333_337;
    private static final List<ByteBuffer> KEPT = new ArrayList<>();

    private DirectBufferProgram() {}

    public static void main(String[] args) throws InterruptedException {
        AwaitTracking.start();
        leakDirectBuffers();
        System.out.println("LEAKS DONE " + KEPT.size());
        System.out.flush();
        AwaitTracking.reportsEnded(Long.parseLong(args[0]));
    }

    static void leakDirectBuffers() {
        for (int i = 0; i < 3; i++) {
            KEPT.add(ByteBuffer.allocateDirect(CAPACITY));
        }
    }
}
