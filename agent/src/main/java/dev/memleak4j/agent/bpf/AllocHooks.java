package dev.memleak4j.agent.bpf;

import java.nio.ByteBuffer;

/**
 * probe-mode=hooks: the in-process allocator hooks of libmemleak4j.so (native/src/alloc_hooks.c). Every loaded
 * object's allocator slots (its import table) are pointed at the hooks, which decide in the process, in nanoseconds,
 * which calls are sampled; only a sampled call (and the free of a sampled block) enters the kernel, at a probe site
 * of the library where the BPF programs walk the stack and record it. Callers hold {@link BpfTracker}'s discipline:
 * install after the probe sites are attached, uninstall before the tracker closes.
 */
public final class AllocHooks {
    /** What {@link #uninstall()} did: slots put back, and slots that still point at a hook (read back after). */
    public record Restored(int restored, int left) {}

    private AllocHooks() {}

    /**
     * Attaches the BPF programs to the probe sites (the tracker must be open); returns the library file they are in.
     */
    public static String attachSites(BpfTracker tracker) {
        synchronized (BpfTracker.lock()) {
            tracker.ensureAttachable();
            return attachSites0();
        }
    }

    /**
     * Redirects the allocator slots of every loaded object, and of objects loaded later, to the hooks. The hooks call
     * the functions named {@code prefix} + name in {@code library} (already loaded), or, when it is null, the first
     * definition the process has (an allocator given with LD_PRELOAD before libc). Returns the slots changed.
     */
    public static int install(long maxTracked, String library, String prefix) {
        return install0(maxTracked, library, prefix == null || prefix.isEmpty() ? null : prefix);
    }

    /** Puts back every slot that still holds a hook; the hooks stay mapped and pass calls through from now on. */
    public static Restored uninstall() {
        int[] result = new int[2];
        uninstall0(result);
        return new Restored(result[0], result[1]);
    }

    /**
     * Whether {@code address} is a block the hooks sampled and that is still outstanding: a lookup in their
     * in-process set of sampled addresses (no system call). False when the hooks are not installed.
     */
    public static boolean isSampled(long address) {
        return isSampled0(address);
    }

    /**
     * The same answer, decided in Java for nearly every address that was not sampled: the hooks keep a byte counter
     * per hash of the sampled addresses in front of their set (alloc_hooks.c, {@code filter}); a counter of 0 means
     * "not sampled" without the JNI call (tens of ns, paid by every direct buffer's constructor otherwise).
     */
    public static boolean isSampledQuick(long address) {
        ByteBuffer counters = Filter.COUNTERS;
        return counters.get((int) (((address >>> 4) * 0x9E3779B97F4A7C15L) >>> (64 - FILTER_BITS))) != 0
                && isSampled0(address);
    }

    /** log2 of the counters' count, as alloc_hooks.c's FILTER_BITS. */
    private static final int FILTER_BITS = 16;

    /** The hooks' counters, mapped read-only on first use (the library is loaded by then). */
    private static final class Filter {
        static final ByteBuffer COUNTERS = filter0().asReadOnlyBuffer();
    }

    /** Whether the kernel turned the alloc probe site's 5-byte nop into a call (an optimized uprobe, 6.18+). */
    public static boolean siteOptimized() {
        return siteOptimized0();
    }

    /**
     * Adds what the hooks counted (calls, frees, failed calls, samples dropped) to {@link Stat}-indexed counters: in
     * hooks mode the kernel sees only the sampled calls.
     */
    static void addCounts(long[] stats) {
        if (!installed0()) {
            return;
        }
        long[] counts = new long[4];
        counts0(counts);
        stats[Stat.ALLOC_CALLS.ordinal()] += counts[0];
        stats[Stat.FREE_CALLS.ordinal()] += counts[1];
        stats[Stat.ALLOC_FAILED.ordinal()] += counts[2];
        stats[Stat.DROPPED_ALLOCS_FULL.ordinal()] += counts[3];
    }

    private static native String attachSites0();

    private static native int install0(long maxTracked, String library, String prefix);

    private static native void uninstall0(int[] result);

    private static native boolean installed0();

    private static native boolean isSampled0(long address);

    private static native ByteBuffer filter0();

    private static native boolean siteOptimized0();

    private static native void counts0(long[] out);
}
