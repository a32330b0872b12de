package dev.memleak4j.agent.bpf;


/**
 * A chunk of the outstanding tracked allocations as read from the {@code allocs} map, packed in one long[] (see
 * {@link BpfTracker#forEachAllocationChunk}); valid while its consumer runs.
 */
public final class AllocationTable {
    private static final int WORDS = BpfNative.ALLOC_RECORD_WORDS;
    private final long[] records;
    private final int size;

    AllocationTable(long[] records, int size) {
        this.records = records;
        this.size = size;
    }

    public int size() {
        return size;
    }

    public long address(int i) {
        return records[i * WORDS];
    }

    public long bytes(int i) {
        return records[i * WORDS + 1];
    }

    /** When the allocation was made, in {@link System#nanoTime()}'s clock (CLOCK_MONOTONIC). */
    public long timestampNanos(int i) {
        return records[i * WORDS + 2];
    }

    /** 0 when the stack could not be stored. */
    public long stackId(int i) {
        return records[i * WORDS + 3];
    }

    /** The bytes this tracked allocation stands for under sampling ({@link #bytes} without sampling). */
    public long estimatedBytes(int i) {
        return records[i * WORDS + 5];
    }

    /** The allocations this one stands for under sampling, in thousandths (1000 without sampling). */
    public long estimatedCountMilli(int i) {
        return records[i * WORDS + 6];
    }

    /** The JNI mark of the thread when it made this allocation inside a wrapped JNI method; 0 for none. */
    public long javaMark(int i) {
        return records[i * WORDS + 7];
    }
}
