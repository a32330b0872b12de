package dev.memleak4j.it.programs;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;

/**
 * Leaks 3 blocks of 1,555,557 bytes through LeakLib.viaMalloc from {@link #allocate}, called by {@link #callSite}.
 * Before that, main calls callSite 50,000 times for small blocks it frees, so that (without -Xint) the JIT compiles
 * callSite and inlines allocate into it (the test makes callSite's compilations block, so that they are done by
 * then): the leak's stack then has allocate as an inlined frame of callSite's compiled code. Whether C1's or C2's
 * code makes the leaks does not matter: the report groups stacks by the frames they name, not by return addresses.
 * Under -Xint both are interpreted frames. With {@code -Djavaframes.vmOption=NAME}, prints that VM flag (its value
 * and origin) once the leaks are made.
 * {@code JavaFramesProgram SLEEP_MS}.
 */
public final class JavaFramesProgram {
    static final long LEAK_SIZE = 1_555_557;
    static final int WARM_UP = 50_000;

    private JavaFramesProgram() {}

    public static void main(String[] args) throws InterruptedException {
        AwaitTracking.start();
        for (int i = 0; i < WARM_UP; i++) {
            LeakLib.release(callSite(64));
        }
        for (int i = 0; i < 3; i++) {
            callSite(LEAK_SIZE);
        }
        System.out.println("LEAKS DONE");
        String option = System.getProperty("javaframes.vmOption");
        if (option != null) {
            // Needs -XX:+UnlockDiagnosticVMOptions for a diagnostic flag.
            System.out.println(ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).getVMOption(option));
        }
        System.out.flush();
        AwaitTracking.reportsEnded(Long.parseLong(args[0]));
    }

    /** Branch-free, so that the compiled code never deoptimizes when the leaks come. */
    static long callSite(long size) {
        return allocate(size);
    }

    static long allocate(long size) {
        return LeakLib.viaMalloc(size);
    }
}
