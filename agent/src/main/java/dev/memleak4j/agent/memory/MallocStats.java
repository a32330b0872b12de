package dev.memleak4j.agent.memory;

import dev.memleak4j.agent.nativelib.NativeLibraryLoader;

/**
 * glibc's own accounting of its heap ({@code mallinfo2}), read in the agent's native library
 * (native/src/malloc_stats_jni.c). A class, not a record: a record cannot declare the native method.
 */
public final class MallocStats {
    private final long arenaBytes;
    private final long mmappedBytes;
    private final long inUseBytes;
    private final long freeBytes;
    private final long topPadBytes;

    MallocStats(long arenaBytes, long mmappedBytes, long inUseBytes, long freeBytes, long topPadBytes) {
        this.arenaBytes = arenaBytes;
        this.mmappedBytes = mmappedBytes;
        this.inUseBytes = inUseBytes;
        this.freeBytes = freeBytes;
        this.topPadBytes = topPadBytes;
    }

    /** Memory the arenas took from the system (sbrk and arena heaps). */
    public long arenaBytes() {
        return arenaBytes;
    }

    /** Memory in chunks mmapped one by one (large allocations). */
    public long mmappedBytes() {
        return mmappedBytes;
    }

    /** Bytes of the arenas handed out and not freed. */
    public long inUseBytes() {
        return inUseBytes;
    }

    /** Bytes free inside the arenas: kept by glibc, and in RSS where they were touched. */
    public long freeBytes() {
        return freeBytes;
    }

    /** Free memory at the top of the main arena that {@code malloc_trim} could release. */
    public long topPadBytes() {
        return topPadBytes;
    }

    /** In use through malloc: in the arenas and in mmapped chunks. */
    public long allocatedBytes() {
        return inUseBytes + mmappedBytes;
    }

    /** Now, or null when this libc has no mallinfo2/mallinfo or the native library cannot load. */
    public static MallocStats read() {
        try {
            NativeLibraryLoader.load();
            long[] values = read0();
            return values == null ? null : new MallocStats(values[0], values[1], values[2], values[3], values[4]);
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    private static native long[] read0();
}
