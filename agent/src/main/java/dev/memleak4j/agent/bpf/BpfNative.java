package dev.memleak4j.agent.bpf;

/**
 * The JNI entry points of libmemleak4j.so (native/src/memleak4j_jni.c). Package-private: {@link BpfTracker}
 * checks arguments and state before calling in. Failures come back as {@link BpfException}.
 */
final class BpfNative {
    /**
     * Longs per record of {@link #forEachAllocationChunk0}: address, size, timestamp (ns), stack id, function,
     * estimated bytes, estimated count in thousandths, JNI mark (0: none).
     */
    static final int ALLOC_RECORD_WORDS = 8;
    /**
     * Longs per record of {@link #readCombined0}: stack id, bytes, count, estimated bytes, estimated count/1000, and
     * the estimated bytes and count/1000 allocated since the attach.
     */
    static final int COMBINED_RECORD_WORDS = 7;
    static final int MAX_STACK_DEPTH = 127;

    private BpfNative() {}

    static native int pid0();

    static native void open0(int tgid, long maxAllocs, long maxStacks, long maxCombined, long maxThreads, boolean verbose,
                              boolean hooks, boolean sessions);

    static native void attach0(String binary, long fileOffset, int function, boolean returnProbe);

    static native void attachSession0(String binary, long fileOffset, int function);

    static native boolean sessions0();

    static native void close0();

    static native void releaseProbes0();

    static native void awaitRelease0();

    static native boolean isOpen0();

    static native int attachedCount0();

    /**
     * Reads the outstanding allocations a chunk at a time: each chunk is copied to the start of {@code chunk} and
     * {@code consumer.accept(records)} runs before the next is read. Returns the number of records.
     */
    static native long forEachAllocationChunk0(long[] chunk, java.util.function.IntConsumer consumer);

    static native int readCombined0(long[] out);

    static native int readStack0(long stackId, long[] out);

    /** Forgets the stacks of ids (any order) and, with counters, their per-stack counters; how many, or -EBUSY. */
    static native long forgetStacks0(long[] ids, boolean counters);

    /** Puts back the forgotten stacks that referenced (any order) or the kernel's cache names; how many. */
    static native long settleForgottenStacks0(long[] referenced);

    static native void readStats0(long[] out);

    static native void setTuning0(long sampleRate, long sampleBytes, long minSize, long maxSize, boolean enabled);

    static native void ignoreThread0(int tid, boolean ignore);

    static native void setInterpreterRange0(long start, long end);

    static native int startAnchorWalk0();

    static native String anchorWalkNote0();

    /** The {@code jni_marks} BPF array, mmap-ed: 16 bytes (mark, hit) per slot, native byte order. */
    static native java.nio.ByteBuffer mapJniMarks0();

    static native boolean setThreadSlot0(int tid, int slot, boolean set);

    static native long mapMemoryBytes0();
}
