package dev.memleak4j.agent.bpf;


import dev.memleak4j.agent.nativelib.NativeLibraryLoader;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * The loaded BPF programs and their maps, for this JVM. One may be open at a time per process; every method is
 * safe to call from any thread, and none after {@link #close()} does anything harmful.
 */
public final class BpfTracker implements AutoCloseable {
    /**
     * Map capacities. {@code maxAllocs} bounds the kernel memory most: 96 bytes per tracked block beyond the first
     * 32,768, whose table is allocated at start.
     */
    public record Limits(long maxAllocs, long maxStacks, long maxCombined, long maxThreads) {}

    /** Allocations per chunk of {@link #forEachAllocationChunk}: 1 MB of records. */
    public static final int ALLOCATION_CHUNK = 16_384;

    /** Per-stack counters kept in the kernel ({@code combined} map): tracked, and estimated under sampling. */
    public record StackCounters(long stackId, long bytes, long count, long estimatedBytes, long estimatedCountMilli,
                                long allocatedBytes, long allocatedCountMilli) {}

    /** A stack value with this bit set is an interpreted frame's Method* (bpf/memleak.h FRAME_INTERPRETED). */
    public static final long INTERPRETED_FRAME = 1L << 62;
    private static final Object LOCK = new Object();
    private static BpfTracker open;
    private static boolean exitHookAdded;
    private final Limits limits;
    /** Reused by every read of the allocations (under LOCK). */
    private long[] allocationChunk;
    /**
     * Records the next read of the per-stack counters makes room for: what the last one found, with a margin (under
     * LOCK). Entries stay when their blocks are freed (they count what was allocated), so the map only grows.
     */
    private int combinedCapacity = 4096;
    private boolean closed;

    private BpfTracker(Limits limits) {
        this.limits = limits;
    }

    /**
     * This process's id (getpid), once {@link #open} loaded the native library. Not {@code ProcessHandle}: its class
     * initialization makes the process reaper's executor, whose classes (~45, ~350 objects) would stay in the
     * application's JVM for good, walked by every full GC.
     */
    public static long processId() {
        return BpfNative.pid0();
    }

    /**
     * Loads the JNI library and the BPF programs (no probe attached yet): for the hooks' probe sites, or for the libc
     * uprobes, as sessions where the kernel has them when {@code sessions}.
     */
    public static BpfTracker open(Limits limits, boolean verbose, boolean hooks, boolean sessions) {
        synchronized (LOCK) {
            if (open != null) {
                throw new BpfException("memleak4j is already running in this JVM");
            }
            try {
                NativeLibraryLoader.load();
            } catch (IllegalStateException e) {
                throw new BpfException(e.getMessage()); // the start's one line says why
            }
            BpfNative.open0(BpfNative.pid0(), limits.maxAllocs(), limits.maxStacks(),
                    limits.maxCombined(), limits.maxThreads(), verbose, hooks, sessions);
            open = new BpfTracker(limits);
            addExitHook();
            return open;
        }
    }

    public Limits limits() {
        return limits;
    }

    /** {@code function}: the allocator function's number in {@code enum alloc_func} (bpf/memleak.h). */
    public void attach(String binary, long fileOffset, int function, boolean returnProbe) {
        synchronized (LOCK) {
            ensureOpen();
            BpfNative.attach0(binary, fileOffset, function, returnProbe);
        }
    }

    /** One uprobe session (entry and return) on an allocating function; only when {@link #sessions()}. */
    public void attachSession(String binary, long fileOffset, int function) {
        synchronized (LOCK) {
            ensureOpen();
            BpfNative.attachSession0(binary, fileOffset, function);
        }
    }

    /** Whether the kernel took the uprobe session programs (6.13+); otherwise entry and return probes are used. */
    public boolean sessions() {
        synchronized (LOCK) {
            return !closed && BpfNative.sessions0();
        }
    }

    public int attachedProbes() {
        synchronized (LOCK) {
            return closed ? 0 : BpfNative.attachedCount0();
        }
    }

    /**
     * Hands the outstanding tracked allocations to {@code chunks}, {@link #ALLOCATION_CHUNK} or fewer at a time, as
     * they are read from the kernel: memory for one chunk, not for every allocation (a million would be 64 MB of
     * heap). Each table is valid only during its call. Returns the number of allocations.
     */
    public long forEachAllocationChunk(Consumer<AllocationTable> chunks) {
        synchronized (LOCK) {
            if (closed) {
                return 0;
            }
            if (allocationChunk == null) {
                allocationChunk = new long[ALLOCATION_CHUNK * BpfNative.ALLOC_RECORD_WORDS];
            }
            return BpfNative.forEachAllocationChunk0(allocationChunk, new ChunkHandler(allocationChunk, chunks));
        }
    }

    /** Hands each chunk the kernel side filled on. A class, not a lambda: its hidden class would stay in the JVM. */
    private static final class ChunkHandler implements IntConsumer {
        private final long[] buffer;
        private final Consumer<AllocationTable> chunks;

        ChunkHandler(long[] buffer, Consumer<AllocationTable> chunks) {
            this.buffer = buffer;
            this.chunks = chunks;
        }

        @Override
        public void accept(int count) {
            chunks.accept(new AllocationTable(buffer, count));
        }
    }

    public StackCounters[] readCombined() {
        synchronized (LOCK) {
            if (closed) {
                return new StackCounters[0];
            }
            long[] records = readGrowing(combinedCapacity, BpfNative.COMBINED_RECORD_WORDS, limits.maxCombined());
            int count = (int) records[records.length - 1];
            combinedCapacity = Math.max(combinedCapacity, count + count / 8 + 1024);
            StackCounters[] result = new StackCounters[count];
            for (int i = 0; i < count; i++) {
                int at = i * BpfNative.COMBINED_RECORD_WORDS;
                result[i] = new StackCounters(records[at], records[at + 1], records[at + 2], records[at + 3],
                        records[at + 4], records[at + 5], records[at + 6]);
            }
            return result;
        }
    }

    /**
     * Reads the per-stack counters into a buffer sized from the last read. When the map has grown past it, the
     * read says how many records it found, and the next buffer is sized from that (the map may still grow in
     * between, hence a margin and a few attempts). Never larger than the map's capacity needs. The record count is
     * stored in the array's last element.
     */
    private static long[] readGrowing(int capacity, int words, long maxEntries) {
        int fullCapacity = (int) Math.min(Integer.MAX_VALUE / words - 2, maxEntries + 1024);
        int size = Math.min(capacity, fullCapacity);
        for (int attempt = 0; ; attempt++) {
            long[] buffer = new long[size * words + 1];
            int n = BpfNative.readCombined0(buffer);
            if (n >= 0 || size == fullCapacity || attempt == 4) {
                buffer[buffer.length - 1] = Math.max(n, 0);
                return buffer;
            }
            long found = -(long) n;
            size = (int) Math.min(fullCapacity, found + found / 8 + 1024);
        }
    }

    /** The frames of a stored stack, the allocator's direct caller first; empty when unknown. */
    public long[] readStack(long stackId) {
        synchronized (LOCK) {
            if (closed || stackId == 0) {
                return new long[0];
            }
            long[] frames = new long[BpfNative.MAX_STACK_DEPTH];
            int n = BpfNative.readStack0(stackId, frames);
            return Arrays.copyOf(frames, Math.max(n, 0));
        }
    }

    /**
     * Takes the stacks of {@code ids} out of the kernel's stack map, and with {@code counters} their per-stack
     * counters, keeping their frames (readStack still gives them) until {@link #settleForgottenStacks} says which of
     * them outstanding allocations name after all. Nothing outstanding may name them when this is called. Returns how
     * many were forgotten, or -1 while the last forgotten are not settled.
     */
    public long forgetStacks(long[] ids, boolean counters) {
        synchronized (LOCK) {
            if (closed) {
                return 0;
            }
            long forgotten = BpfNative.forgetStacks0(ids.clone(), counters);
            return forgotten < 0 ? -1 : forgotten;
        }
    }

    /**
     * Puts back the stacks forgotten last that {@code referenced} (the stack ids of the allocations outstanding now)
     * or the kernel's cache of stored stacks names, and lets the others go; call it once the probes that ran while
     * they were forgotten are done (a report interval later). Returns how many were put back.
     */
    public long settleForgottenStacks(long[] referenced) {
        synchronized (LOCK) {
            return closed ? 0 : BpfNative.settleForgottenStacks0(referenced.clone());
        }
    }

    /** The counters of {@link Stat}, summed over CPUs, indexed by ordinal. */
    public long[] readStats() {
        synchronized (LOCK) {
            long[] stats = new long[Stat.values().length];
            if (!closed) {
                BpfNative.readStats0(stats);
                AllocHooks.addCounts(stats);
            }
            return stats;
        }
    }

    public long mapMemoryBytes() {
        synchronized (LOCK) {
            return closed ? 0 : BpfNative.mapMemoryBytes0();
        }
    }

    /**
     * Changes sampling and the size filter; allocations already tracked stay, with the weights they were
     * recorded with. {@code sampleBytes} &gt; 0 samples by bytes and takes precedence over {@code sampleRate}.
     */
    public void tune(long sampleRate, long sampleBytes, long minSize, long maxSize, boolean enabled) {
        synchronized (LOCK) {
            if (!closed) {
                BpfNative.setTuning0(sampleRate, sampleBytes, minSize, maxSize, enabled);
            }
        }
    }

    /**
     * Where the JVM's template interpreter code lies: stack frames there are recorded as the interpreted method
     * (its Method*, tagged with {@link #INTERPRETED_FRAME}) instead of the interpreter's address.
     */
    public void setInterpreterRange(long start, long end) {
        synchronized (LOCK) {
            if (!closed) {
                BpfNative.setInterpreterRange0(start, end);
            }
        }
    }

    /**
     * Lets the kernel side walk each Java thread's frames from its frame anchor (bpf/memleak.bpf.c), so that an
     * allocation under a JNI, JNA or FFM call names the Java method that made it and its callers whatever the native
     * code's frame pointers: hands it HotSpot's frame layout and registers the live threads, and those that start
     * later. Returns the number of threads registered now; throws BpfException with the reason when the JVM's
     * layout is unknown (then stacks are walked by frame pointers only).
     */
    public int startAnchorWalk() {
        synchronized (LOCK) {
            ensureOpen();
            return BpfNative.startAnchorWalk0();
        }
    }

    /** What the walk from the frame anchor cannot do on this JVM though it would be needed, or null. */
    public String anchorWalkNote() {
        synchronized (LOCK) {
            return closed ? null : BpfNative.anchorWalkNote0();
        }
    }

    /** The calling thread's allocations are the agent's own from now on, not the application's. */
    public void ignoreCurrentThread() {
        synchronized (LOCK) {
            if (!closed) {
                BpfNative.ignoreThread0(NativeThreads.currentId(), true);
            }
        }
    }

    /**
     * Maps the kernel side's {@code jni_marks} array into the JVM: 16 bytes per slot (mark, hit), native byte order.
     * The mapping outlives {@link #close()} (wrappers may still write to it) and is never unmapped.
     */
    public java.nio.ByteBuffer mapJniMarks() {
        synchronized (LOCK) {
            ensureOpen();
            return BpfNative.mapJniMarks0().order(java.nio.ByteOrder.nativeOrder());
        }
    }

    /** Binds a thread id to a {@code jni_marks} slot ({@code set}), or unbinds it; false when the map refused. */
    public boolean setThreadSlot(int tid, int slot, boolean set) {
        synchronized (LOCK) {
            return !closed && BpfNative.setThreadSlot0(tid, slot, set);
        }
    }

    /** Whether the calling thread's allocations are the agent's own (true) or the application's again (false). */
    public void ignoreCurrentThread(boolean ignore) {
        synchronized (LOCK) {
            if (!closed) {
                BpfNative.ignoreThread0(NativeThreads.currentId(), ignore);
            }
        }
    }

    /**
     * The JVM's exit detaches the probes itself (a shutdown hook, beside the exit report's): each on a native thread
     * of its own, and the exit goes on once they are detached. Left to the process's end, the kernel detached them
     * one after another on the exiting thread, several RCU grace periods each, and a short program ended a quarter
     * of a second later. Nor may the process end while one is being detached: the kernel could not take its
     * breakpoint out of the dying process and would keep the probe, and the library's file, until reboot. The maps
     * stay: the exit report, taken meanwhile, reads them as they were when the JVM began to exit.
     */
    private static void detachAtExit() {
        synchronized (LOCK) { // a detach in progress (JMX, count=N) ends first
            if (open == null) {
                return;
            }
            BpfNative.releaseProbes0();
        }
        BpfNative.awaitRelease0(); // outside the lock: the exit report reads the maps meanwhile
    }

    /** Once per JVM, at the first open (under LOCK). */
    private static void addExitHook() {
        if (exitHookAdded) {
            return;
        }
        try {
            Runtime.getRuntime().addShutdownHook(new Thread("memleak4j-probes-off") {
                @Override
                public void run() {
                    detachAtExit();
                }
            });
            exitHookAdded = true;
        } catch (IllegalStateException e) {
            // The JVM is exiting already: the kernel detaches the probes as the process ends.
        }
    }

    /** Detaches every probe and frees the maps. */
    @Override
    public void close() {
        synchronized (LOCK) {
            if (closed) {
                return;
            }
            closed = true;
            BpfNative.close0();
            open = null;
        }
    }

    /** The lock every call into the tracker holds (the hooks' probe sites attach under it too). */
    static Object lock() {
        return LOCK;
    }

    /** Throws unless the tracker is open; call under {@link #lock()}. */
    void ensureAttachable() {
        ensureOpen();
    }

    private void ensureOpen() {
        if (closed) {
            throw new BpfException("memleak4j's probes were stopped");
        }
    }
}
