package dev.memleak4j.agent.jnimarks;

import dev.memleak4j.agent.bpf.BpfTracker;
import dev.memleak4j.agent.bpf.NativeThreads;
import dev.memleak4j.agent.stacks.Frame;
import dev.memleak4j.agent.stacks.JvmCodeMap;

import java.lang.instrument.Instrumentation;
import java.lang.ref.WeakReference;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import java.util.function.LongConsumer;
import java.util.stream.Collectors;

/**
 * The Java half of stacks that native code without frame pointers cuts short. Wrapped JNI methods
 * ({@link JniWrapping}) mark their thread through {@link JniMarkBridge}; the kernel side stores the mark with every
 * allocation made under it; when such a call returns, the Java stack is captured and bound to its mark here. The
 * report then appends the bound Java callers to the native frames the walk found ({@link #merge}).
 *
 * <p>Capturing costs: JVMTI decodes every frame (microseconds a capture, several a gzip round trip; see
 * docs/benchmarks.md). So each capture first walks the thread's raw frames ({@link JvmCodeMap#walkJavaStack}, a few reads per
 * frame) and reuses the Java stack named for the same raw path before; JVMTI runs once per new path.
 *
 * <p>Bindings are kept only while an outstanding allocation carries their mark: {@link #prune} runs on every
 * snapshot with the marks of all outstanding allocations. Slots of threads that ended are recycled there too.
 */
public final class JniMarks {
    /** Java frames kept per captured stack. */
    static final int MAX_JAVA_FRAMES = 64;
    /** Marks bound at most between two snapshots; beyond, allocations keep only their native frames. */
    static final int MAX_BINDINGS = 1 << 18;
    /** Distinct captured call paths remembered with their names; beyond, new ones are named on every capture. */
    static final int MAX_NAMED_PATHS = 1 << 16;
    /** Room for the agent's own frames on top of a capture (this class, the bridge, the hook). */
    private static final int OWN_FRAMES = 8;
    /**
     * Raw call paths remembered with their Java stack; when full, forgotten at once and learnt again (keys of
     * recompiled code are never seen again, so they are not worth keeping one by one).
     */
    static final int MAX_WALKED_PATHS = 1 << 12;
    private static final String OWN_PACKAGE = JniMarks.class.getPackageName() + ".";
    private static final StackWalker WALKER = StackWalker.getInstance();
    private static final Method IS_VIRTUAL = isVirtualMethod();
    private static volatile JniMarks active;
    /** Of the running session, for taking the woven advice out again at {@link #stop}. */
    private static Instrumentation instrumentation;
    private static Consumer<String> log;

    private final BpfTracker tracker;
    private final int slots;
    private final ByteBuffer buffer;
    private final Object lock = new Object();
    private final List<Registration> registrations = new ArrayList<>();
    private final int[] freeSlots;
    private int freeCount;
    private int nextSlot;
    private final ConcurrentHashMap<Long, Binding> bindings = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<List<Frame>, JavaStack> stacks = new ConcurrentHashMap<>();
    /** Captured frames (jmethodID, bytecode index pairs) already named: most calls repeat a few call paths. */
    private final ConcurrentHashMap<PathKey, JavaStack> named = new ConcurrentHashMap<>();
    private final ThreadLocal<long[]> captureBuffer =
            ThreadLocal.withInitial(() -> new long[2 * (MAX_JAVA_FRAMES + OWN_FRAMES)]);
    /**
     * Java stacks by raw call path. A raw frame holds one or more Java frames (inlining), so a path of as many raw
     * frames as a capture keeps Java frames decides all of the capture.
     */
    private final ConcurrentHashMap<PathKey, JavaStack> walked = new ConcurrentHashMap<>();
    private final ThreadLocal<long[]> walkBuffer =
            ThreadLocal.withInitial(() -> new long[1 + 2 * (MAX_JAVA_FRAMES + OWN_FRAMES)]);
    /** Null when raw walks work in this JVM, else why not (then every capture goes through JVMTI). */
    private final String walkProblem;
    /** {@link JniMarkBridge} in the bootstrap loader, where {@link JniWrapping#install} put it. */
    private final BootstrapBridge bridge;
    private final LongAdder captures = new LongAdder();
    private final LongAdder capturesOfKnownPaths = new LongAdder();
    private final AtomicLong sequence = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();

    private record Registration(WeakReference<Thread> thread, int tid, int slot) {}

    private record Binding(JavaStack stack, long sequence) {}

    private JniMarks(BpfTracker tracker, ByteBuffer buffer, String walkProblem, BootstrapBridge bridge) {
        this.tracker = tracker;
        this.bridge = bridge;
        this.walkProblem = walkProblem;
        this.buffer = buffer;
        this.slots = buffer.capacity() / 16;
        this.freeSlots = new int[slots];
    }

    /**
     * Starts the marks for an open tracker (before or after its probes are attached): wraps the JNI methods of {@code classes} once per JVM,
     * maps the kernel's array and switches the wrappers on. Whatever fails, says so in one line through {@code log}
     * and leaves the feature off; never throws.
     */
    public static synchronized void start(Instrumentation instrumentation, BpfTracker tracker, String classes,
                                          boolean verbose, Consumer<String> log) {
        if (active != null || JniWrapping.globs(classes).isEmpty()) {
            return;
        }
        try {
            if (instrumentation == null) {
                log.accept("note: Java callers of JNI methods will not be known: no Instrumentation (jni-classes)");
                return;
            }
            long started = System.nanoTime();
            ByteBuffer buffer = tracker.mapJniMarks();
            // Loading and running Byte Buddy allocates natively on this thread (it may be the application's main
            // thread, in premain): that is the agent's, not the application's, should the probes be on already.
            tracker.ignoreCurrentThread(true);
            try {
                if (!JniWrapping.install(instrumentation, classes, verbose, log)) {
                    return;
                }
            } finally {
                tracker.ignoreCurrentThread(false);
            }
            String walkProblem = frameWalkProblem();
            JniMarks marks = new JniMarks(tracker, buffer, walkProblem,
                    BootstrapBridge.of(JniWrapping.MARK_BRIDGE));
            IntSupplier registrar = marks::register;
            LongConsumer onHit = marks::bind;
            marks.bridge.install(new Class<?>[] {ByteBuffer.class, IntSupplier.class, LongConsumer.class},
                    marks.buffer, registrar, onHit);
            active = marks;
            JniMarks.instrumentation = instrumentation;
            JniMarks.log = log;
            if (verbose) {
                log.accept("JNI marks on (jni-classes=" + classes + ") in "
                        + (System.nanoTime() - started) / 1_000_000 + " ms; Java callers "
                        + (walkProblem == null ? "named once per call path (frame walk)"
                                : "captured through JVMTI every time: " + walkProblem));
            }
        } catch (RuntimeException | LinkageError e) {
            log.accept("note: Java callers of JNI methods will not be known: " + e.getMessage()
                    + " (jni-classes=none turns this off)");
        }
    }

    private static String frameWalkProblem() {
        try {
            return JvmCodeMap.frameWalkProblem();
        } catch (RuntimeException | LinkageError e) {
            return String.valueOf(e.getMessage());
        }
    }

    /**
     * Switches the wrappers off and takes them out of the classes they were woven into (see
     * {@link JniWrapping#uninstall}); bindings are forgotten. Before the tracker closes: the bridge then no longer
     * hands the mapped array to new calls.
     */
    public static synchronized void stop() {
        if (active != null) {
            active.bridge.uninstall();
            active = null;
            JniWrapping.uninstall(instrumentation, log);
            instrumentation = null;
            log = null;
        }
    }

    /** The marks of the running session, or null when off. */
    public static JniMarks active() {
        return active;
    }

    /**
     * The frames to report for an allocation: the native walk's, followed by the Java callers bound to its mark,
     * unless the walk already reached Java code (then they would only repeat it).
     */
    public static List<Frame> merge(List<Frame> nativeFrames, JavaStack java) {
        if (java == null || reachesJava(nativeFrames)) {
            return nativeFrames;
        }
        List<Frame> merged = new ArrayList<>(nativeFrames.size() + java.frames().size());
        merged.addAll(nativeFrames);
        merged.addAll(java.frames());
        return merged;
    }

    /** Whether the frame-pointer walk reached Java code (compiled, inlined or interpreted frames). */
    public static boolean reachesJava(List<Frame> nativeFrames) {
        for (Frame frame : nativeFrames) {
            String kind = frame.kind().name();
            if (kind.equals("JIT") || kind.equals("INLINED") || kind.equals("INTERPRETED")) {
                return true;
            }
        }
        return false;
    }

    /** The Java callers bound to a mark, or null. */
    public JavaStack callerOf(long mark) {
        Binding binding = bindings.get(mark);
        return binding == null ? null : binding.stack;
    }

    /** Call before reading the outstanding allocations; pass the result to {@link #prune}. */
    public long pruneBegin() {
        return sequence.incrementAndGet();
    }

    /**
     * Forgets bindings made before {@code begin} whose mark no outstanding allocation carries ({@code seenMarks}
     * sorted), the stacks no binding uses, and the slots of threads that ended.
     */
    public void prune(long begin, long[] seenMarks) {
        long collections = JvmCodeMap.gcCount();
        walked.keySet().removeIf(path -> path.words()[0] >= 0 && path.words()[0] != collections);
        bindings.entrySet().removeIf(e -> e.getValue().sequence < begin && Arrays.binarySearch(seenMarks, e.getKey()) < 0);
        Set<JavaStack> used = new HashSet<>();
        for (Binding binding : bindings.values()) {
            used.add(binding.stack);
        }
        stacks.values().removeIf(stack -> !used.contains(stack));
        synchronized (lock) {
            for (Iterator<Registration> it = registrations.iterator(); it.hasNext(); ) {
                Registration registration = it.next();
                Thread thread = registration.thread.get();
                if (thread == null || !thread.isAlive()) {
                    tracker.setThreadSlot(registration.tid, registration.slot, false);
                    buffer.putLong(registration.slot * 16, 0);
                    buffer.putLong(registration.slot * 16 + 8, 0);
                    freeSlots[freeCount++] = registration.slot;
                    it.remove();
                }
            }
        }
    }

    /** Gives the calling thread a slot; -1 when none is free or the thread is virtual (its carrier changes). */
    int register() {
        Thread thread = Thread.currentThread();
        if (isVirtual(thread)) {
            return -1;
        }
        int tid = NativeThreads.currentId();
        synchronized (lock) {
            int slot = freeCount > 0 ? freeSlots[--freeCount] : nextSlot < slots ? nextSlot++ : -1;
            if (slot < 0) {
                return -1;
            }
            if (!tracker.setThreadSlot(tid, slot, true)) {
                freeSlots[freeCount++] = slot;
                return -1;
            }
            registrations.add(new Registration(new WeakReference<>(thread), tid, slot));
            return slot;
        }
    }

    /** On the thread whose JNI call was hit, as it returns: binds the mark to the Java callers. */
    void bind(long mark) {
        if (bindings.size() >= MAX_BINDINGS) {
            dropped.incrementAndGet();
            return;
        }
        JavaStack stack = javaCallers();
        if (stack != null) {
            bindings.put(mark, new Binding(stack, sequence.get()));
        }
    }

    /** The calling thread's Java callers: known by its raw call path, or captured and named (then remembered). */
    private JavaStack javaCallers() {
        captures.increment();
        PathKey path = null;
        if (walkProblem == null) {
            long[] buffer = walkBuffer.get();
            int n = JvmCodeMap.walkJavaStack(buffer);
            if (n > 0) {
                path = new PathKey(Arrays.copyOf(buffer, 1 + 2 * n));
                JavaStack known = walked.get(path);
                if (known != null) {
                    capturesOfKnownPaths.increment();
                    return known;
                }
            }
        }
        JavaStack stack = captureFromJvmti();
        if (stack == null) {
            stack = captureWithStackWalker();
        }
        if (path != null && stack != null) {
            if (walked.size() >= MAX_WALKED_PATHS) {
                walked.clear();
            }
            walked.put(path, stack);
        }
        return stack;
    }

    /**
     * JNI calls whose allocations are reported without their Java callers although marked: bindings beyond
     * {@link #MAX_BINDINGS}, and captures or thread registrations that failed. For the report's losses line.
     */
    public long javaCallersLost() {
        return bindingsDropped() + bridgeFailures();
    }

    /** Marked calls with allocations beyond {@link #MAX_BINDINGS} between two reports: their Java callers dropped. */
    public long bindingsDropped() {
        return dropped.get();
    }

    /** Captures of Java callers and thread registrations that failed in the bridge. */
    public long bridgeFailures() {
        return bridge.failures();
    }

    /**
     * Captures of Java callers so far: {@code [0]} all, {@code [1]} those of a call path walked before (no JVMTI).
     * For diagnostics (verbose) and tests.
     */
    public long[] captureCounts() {
        return new long[] {captures.sum(), capturesOfKnownPaths.sum()};
    }

    /**
     * The Java callers through JVMTI (the code map's environment): method ids and bytecode indexes only, named once
     * per distinct call path. Cheaper than StackWalker, which names every frame of every capture (the mix benchmark
     * went from 0.34 to 0.42 with this). Null when the code map does not run.
     */
    private JavaStack captureFromJvmti() {
        long[] buffer = captureBuffer.get();
        int n = JvmCodeMap.captureJavaStack(buffer);
        if (n < 0) {
            return null;
        }
        PathKey key = new PathKey(Arrays.copyOf(buffer, 2 * n));
        JavaStack known = named.get(key);
        if (known != null) {
            return known;
        }
        List<Frame> frames = new ArrayList<>();
        boolean own = true;
        for (int i = 0; i < n && frames.size() < MAX_JAVA_FRAMES; i++) {
            Frame frame = JvmCodeMap.describeJavaFrame(buffer[2 * i], buffer[2 * i + 1], Frame.Kind.JAVA_CALLER);
            if (frame == null) {
                continue; // a method whose class is gone: nothing to name
            }
            own = own && (frame.name().startsWith(OWN_PACKAGE) || frame.name().startsWith(JvmCodeMap.class.getName()));
            if (!own) {
                frames.add(frame);
            }
        }
        if (frames.isEmpty()) {
            return null;
        }
        JavaStack stack = stacks.computeIfAbsent(frames, JavaStack::new);
        if (named.size() < MAX_NAMED_PATHS) {
            named.putIfAbsent(key, stack);
        }
        return stack;
    }

    private JavaStack captureWithStackWalker() {
        List<Frame> frames = WALKER.walk(s -> s.dropWhile(f -> f.getClassName().startsWith(OWN_PACKAGE))
                .limit(MAX_JAVA_FRAMES)
                .map(f -> Frame.java(0, Frame.Kind.JAVA_CALLER, f.getClassName() + "." + f.getMethodName(),
                        f.getLineNumber(), f.getFileName()))
                .collect(Collectors.toList()));
        return frames.isEmpty() ? null : stacks.computeIfAbsent(frames, JavaStack::new);
    }

    /**
     * A call path as a key, equal by content: captured (jmethodID, bytecode index pairs) or walked (word 0 the
     * collection count it is valid in, see {@link JvmCodeMap#walkJavaStack}, then the raw frames).
     */
    private record PathKey(long[] words) {
        @Override
        public boolean equals(Object other) {
            return other instanceof PathKey that && Arrays.equals(words, that.words);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(words);
        }
    }

    private static boolean isVirtual(Thread thread) {
        try {
            return IS_VIRTUAL != null && (Boolean) IS_VIRTUAL.invoke(thread);
        } catch (ReflectiveOperationException e) {
            return false;
        }
    }

    private static Method isVirtualMethod() {
        try {
            return Thread.class.getMethod("isVirtual");
        } catch (NoSuchMethodException e) {
            return null; // JDK 17: no virtual threads
        }
    }
}
