package dev.memleak4j.it.programs;

import java.util.concurrent.TimeUnit;

/**
 * Leaks 3 blocks of 1,555,557 bytes through LeakLib.viaMalloc from {@link #allocate}, called by {@link #callSite}.
 * Before that, main calls callSite 50,000 times and for 1.5 s at least, for small blocks it frees, so that (without
 * -Xint) C2 compiles callSite and inlines allocate into it: the leak's stack then has allocate as an inlined frame of
 * callSite's compiled code. Under -Xint both are interpreted frames. {@code JavaFramesProgram SLEEP_MS}.
 */
public final class JavaFramesProgram {
    static final long LEAK_SIZE = 1_555_557;
    static final int WARM_UP = 50_000;
    static final long WARM_UP_MILLIS = 1500;

    private JavaFramesProgram() {}

    public static void main(String[] args) throws InterruptedException {
        AwaitTracking.start();
        // For at least WARM_UP calls and WARM_UP_MILLIS: with the in-process hooks 50,000 calls take a few ms, and C2
        // could still be compiling callSite when the leaks come, so that they came from its C1 and C2 code: two
        // stacks of the same frames at different return addresses.
        long warmUpEnd = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WARM_UP_MILLIS);
        for (int i = 0; i < WARM_UP || System.nanoTime() < warmUpEnd; i++) {
            LeakLib.release(callSite(64));
        }
        for (int i = 0; i < 3; i++) {
            callSite(LEAK_SIZE);
        }
        System.out.println("LEAKS DONE");
        System.out.flush();
        TimeUnit.MILLISECONDS.sleep(Long.parseLong(args[0]));
    }

    /** Branch-free, so that the compiled code never deoptimizes when the leaks come. */
    static long callSite(long size) {
        return allocate(size);
    }

    static long allocate(long size) {
        return LeakLib.viaMalloc(size);
    }
}
