package dev.memleak4j.it.programs;

import java.util.ArrayList;
import java.util.List;

/**
 * One leaking call path, which the stack walk sees in more than one way; the report must show it as one stack.
 * {@code OneStackProgram MODE}, MODE one of:
 * <ul>
 *   <li>{@code garbage}: {@link #GARBAGE_LEAKS} leaks from one line ({@link #garbageCallSite}) through the JNI
 *       library without frame pointers, while {@code rbp} points at data that holds one of 8 addresses in the
 *       library's code ({@link NoFpLib#leakThroughData}): the walk reads a different "return address" by turns.
 *       Sizes {@link #garbageSize}.</li>
 *   <li>{@code tiered}: {@link #TIERED_WARM_UP} calls of {@link #tieredCallSite} whose blocks are freed (with the
 *       test's flags the JIT compiles it with C1 by then), prints {@code LEAKING} on stderr, then
 *       {@link #TIERED_LEAKS} calls that leak {@link #TIERED_SIZE} bytes each, during which C2 compiles it (the leaks
 *       come from C1's code and from C2's, at different return addresses), and prints {@code LEAKED} on stderr.</li>
 * </ul>
 * Prints {@code LEAKS DONE n}, then a line {@code REPORT} and a report of the agent read after the leaks, and exits.
 */
public final class OneStackProgram {
    public static final int GARBAGE_LEAKS = 300;
    public static final int TIERED_WARM_UP = 3_000;
    public static final int TIERED_LEAKS = 12_000;
    public static final long TIERED_SIZE = 4_099;
    private static final List<Long> KEPT = new ArrayList<>();

    private OneStackProgram() {}

    /** The size of garbage leak {@code i}: 6,001 to 6,009 bytes. */
    public static long garbageSize(int i) {
        return 6_001 + 2L * (i % 5);
    }

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        if (args[0].equals("garbage")) {
            for (int i = 0; i < GARBAGE_LEAKS; i++) {
                KEPT.add(garbageCallSite(garbageSize(i), i));
            }
        } else {
            for (int i = 0; i < TIERED_WARM_UP; i++) {
                LeakLib.release(tieredCallSite(64));
            }
            // On stderr, where the test's JVM writes PrintCompilation's lines: the order of the two tells which
            // compilations came during the leaks.
            System.err.println("LEAKING");
            System.err.flush();
            for (int i = 0; i < TIERED_LEAKS; i++) {
                KEPT.add(tieredCallSite(TIERED_SIZE));
            }
            System.err.println("LEAKED");
            System.err.flush();
        }
        System.out.println("LEAKS DONE " + KEPT.size());
        System.out.flush();
        String report = MergedStacksProgram.reportAfterLeaks();
        System.out.println("REPORT");
        System.out.print(report);
        System.out.flush();
        System.exit(0);
    }

    static long garbageCallSite(long size, int landing) {
        return NoFpLib.leakThroughData(size, landing);
    }

    /** Branch-free, so that its compiled code does not deoptimize when the leaks come. */
    static long tieredCallSite(long size) {
        return LeakLib.viaMalloc(size);
    }
}
