import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * JDK 22+ (compiled by the test with that JDK): {@code FfmMallocProgram SLEEP_MS} calls libc's malloc through an FFM downcall
 * {@link #LEAKS} times for {@link #SIZE} bytes from {@link #leakThroughFfm} (the first {@link #WARM_UP_CALLS} calls
 * for 0 bytes, so that the leaking ones come from JIT-compiled code), keeps the blocks, prints
 * {@code LEAKS DONE}, sleeps, exits 0.
 */
public final class FfmMallocProgram {
    static final long SIZE = 1_555_555;
    static final int LEAKS = 3;
    static final int WARM_UP_CALLS = 3_000;
    private static final List<MemorySegment> KEPT = new ArrayList<>();

    /**
     * Looked up at first use, after the wait below: with probe-mode=hooks, only a malloc looked up while the hooks
     * are in is the hook (docs/probe-modes.md).
     */
    private static final class Downcall {
        static final MethodHandle MALLOC = Linker.nativeLinker().downcallHandle(
                Linker.nativeLinker().defaultLookup().find("malloc").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    }

    public static void main(String[] args) throws Throwable {
        // The agent starts in the background: wait until it tracks (as programs/AwaitTracking does; this file is
        // compiled on its own).
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.getProperty("memleak4j.starting") != null && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        // The handle is made here, in main: what the JVM allocates for it is not the leak's.
        if (Downcall.MALLOC == null) {
            throw new IllegalStateException("no malloc");
        }
        for (int i = 0; i < WARM_UP_CALLS; i++) {
            leakThroughFfm(0);
        }
        for (int i = 0; i < LEAKS; i++) {
            leakThroughFfm(SIZE);
        }
        System.out.println("LEAKS DONE");
        System.out.flush();
        Thread.sleep(Long.parseLong(args[0]));
        System.exit(0);
    }

    static void leakThroughFfm(long size) throws Throwable {
        KEPT.add((MemorySegment) Downcall.MALLOC.invokeExact(size));
    }
}
