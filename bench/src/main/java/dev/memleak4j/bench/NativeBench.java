package dev.memleak4j.bench;

/**
 * The JNI half of the benchmark (src/main/c/bench.c). The parent extracts the library from the jar once and passes
 * its path to every child JVM as {@code -Dmemleak4j.bench.lib=PATH}.
 */
final class NativeBench {
    static final String LIBRARY_PROPERTY = "memleak4j.bench.lib";

    static {
        String path = System.getProperty(LIBRARY_PROPERTY);
        if (path == null) {
            throw new IllegalStateException("-D" + LIBRARY_PROPERTY + "=PATH is not set (the parent sets it)");
        }
        System.load(path);
    }

    private NativeBench() {}

    /** Calls malloc(64) then free, {@code pairs} times, in a C loop; returns pairs, or -1 if malloc failed. */
    static native int mallocFreePairs(int pairs);

    /** Allocates {@code count} blocks of {@code size} bytes and keeps them; returns a handle for releaseBlocks. */
    static native long holdBlocks(int count, int size);

    static native void releaseBlocks(long handle, int count);

    /** Allocator calls counted so far by the preloaded libbenchcount.so, or -1 when it is not preloaded. */
    static native long allocatorCalls();

    /** The address of the malloc the loop above calls (for a bare probe on it, {@link BareUprobe}). */
    static native long mallocAddress();

    /** Loads the library (the static initializer). */
    static void load() {}
}
