package dev.memleak4j.it.programs;

/**
 * The test JNI library (src/test/c/leaktest.c): each method calls one allocator function directly and returns the
 * address it got (0 on failure).
 */
public final class LeakLib {
    static {
        System.load(System.getProperty("leaktest.library"));
    }

    private LeakLib() {}

    public static native long viaMalloc(long size);

    public static native long viaCalloc(long count, long size);

    public static native long viaRealloc(long block, long size);

    public static native long viaReallocarray(long block, long count, long size);

    public static native long viaPosixMemalign(long alignment, long size);

    public static native long viaAlignedAlloc(long alignment, long size);

    public static native long viaMemalign(long alignment, long size);

    public static native long viaValloc(long size);

    public static native long viaPvalloc(long size);

    public static native void release(long block);

    public static native int mallocMany(int count, long size);

    public static native int churn(int iterations, long size);

    public static native long soakLeak(long size);

    /** fork(): the child mallocs {@code size} bytes and exits with 42; returns its exit status or -1. */
    public static native int forkChild(long size);

    /** malloc + memset: a leak that shows in RSS. */
    public static native long leakTouched(long size);

    /** mallocs {@code count} blocks of {@code size} and frees all but every {@code keepEvery}-th; returns the kept. */
    public static native int fragment(int count, long size, int keepEvery);

    /** An anonymous mapping of {@code size} bytes, touched and never unmapped; 0 on failure. */
    public static native long mmapTouched(long size);

    /** malloc from a stack {@code depth} frames deeper than this method's: a distinct stack per depth; 0 on failure. */
    public static native long mallocAtDepth(int depth, long size);
}
