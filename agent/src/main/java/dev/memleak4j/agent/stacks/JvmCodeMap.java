package dev.memleak4j.agent.stacks;

import dev.memleak4j.agent.nativelib.NativeLibraryLoader;

import java.lang.reflect.Executable;
import java.util.Arrays;
import java.util.List;

/**
 * The JVM's generated code, known in process (native/src/jvm_code_map.c): JIT-compiled code named from the nmethod
 * that holds an address, through VMStructs (native/src/jvm_nmethod.c), or where VMStructs lacks something from a map
 * kept live by JVMTI's compiled-method loads and unloads; stubs from DynamicCodeGenerated, with the code that existed
 * before {@link #start()} replayed. {@link #naming()} says which. Also names a HotSpot {@code Method*} through
 * VMStructs (native/src/jvm_vmstructs.c), for interpreted frames.
 *
 * <p>What the map keeps lives in the native library in memory from mmap, not malloc: memleak4j does not report it as
 * the application's.
 *
 * <p>{@link #start()} belongs at agent start-up, before the allocator probes are attached: JVMTI's own set-up
 * allocates (natively, once) on the starting thread. Any thread may start it; lookups may come from any thread.
 */
public final class JvmCodeMap {
    /** Frames one address expands to, at most (inlining deeper than this keeps the innermost and the compiled). */
    public static final int MAX_FRAMES_PER_ADDRESS = 64;
    static final int KIND_JIT = 0;
    static final int KIND_INLINED = 1;
    static final int KIND_STUB = 2;
    static final int KIND_NATIVE_WRAPPER = 3;
    /** {@link #classify} results. */
    public static final int CODE_NONE = 0;
    public static final int CODE_JAVA = 1;
    public static final int CODE_STUB = 2;

    /** A subclass, not ThreadLocal.withInitial(LookupArrays::new): a method reference's hidden class would stay. */
    private static final ThreadLocal<LookupArrays> LOOKUP_ARRAYS = new ThreadLocal<>() {
        @Override
        protected LookupArrays initialValue() {
            return new LookupArrays();
        }
    };
    private static volatile boolean started;

    private JvmCodeMap() {}

    /**
     * Starts the code map once per JVM (a second call does nothing). Throws {@link IllegalStateException} with the
     * reason when the JVM does not offer what it needs (JVMTI capabilities) or the library cannot be loaded.
     */
    public static synchronized void start() {
        if (started) {
            return;
        }
        NativeLibraryLoader.load();
        // For tests and diagnosis: compiled frames from JVMTI's CompiledMethodLoad even where the nmethods can be read.
        String error = start0("jvmti".equals(System.getProperty("memleak4j.compiledFrames")));
        if (error != null) {
            throw new IllegalStateException(error);
        }
        started = true;
    }

    /** How compiled frames are named (a line for verbose output), empty before {@link #start()}. */
    public static String naming() {
        return started ? naming0() : "";
    }

    public static boolean isStarted() {
        return started;
    }

    /**
     * The interpreter's code, {@code {start, end}} (end exclusive), or null when unknown: an address in it is an
     * interpreted frame, whose {@code Method*} the stack walk reads at {@code [fp - 3*8]} of that (the caller's)
     * frame. From VMStructs ({@code AbstractInterpreter::_code}); works without {@link #start()}.
     */
    public static long[] interpreterRange() {
        NativeLibraryLoader.load();
        return interpreterRange0();
    }

    /**
     * {@code pkg.Class.method} of a HotSpot {@code Method*} (bit 62, the stack walk's tag, is ignored), or null when
     * the pointer does not lead to a method of a loaded class. Never faults on a bad pointer. Works without
     * {@link #start()}.
     */
    public static String resolveMethod(long methodPointer) {
        NativeLibraryLoader.load();
        return resolveMethod0(methodPointer);
    }

    /**
     * The frames of an address in generated code, innermost first: for JIT-compiled code, the methods inlined at
     * that point as {@link Frame.Kind#INLINED} then the compiled method as {@link Frame.Kind#JIT}, with lines where
     * the JVM knows them; for the compiled wrapper of a {@code native} method, one {@link Frame.Kind#NATIVE_WRAPPER}
     * named as the method; for a stub, one {@link Frame.Kind#STUB}. Empty when the address is in no known code.
     */
    public static List<Frame> lookup(long address) {
        if (!started) {
            return List.of();
        }
        LookupArrays arrays = LOOKUP_ARRAYS.get();
        String[] names = arrays.names;
        String[] files = arrays.files;
        int n = lookup0(address, arrays.kinds, arrays.lines, names, files);
        if (n <= 0) {
            return List.of();
        }
        Frame[] frames = new Frame[n];
        for (int i = 0; i < n; i++) {
            int line = arrays.lines[i];
            frames[i] = switch (arrays.kinds[i]) {
                case KIND_JIT -> Frame.java(address, Frame.Kind.JIT, names[i], line, files[i]);
                case KIND_INLINED -> Frame.java(address, Frame.Kind.INLINED, names[i], line, files[i]);
                case KIND_NATIVE_WRAPPER -> Frame.java(address, Frame.Kind.NATIVE_WRAPPER, names[i], -1, files[i]);
                default -> Frame.stub(address, names[i]);
            };
        }
        Arrays.fill(names, 0, n, null);
        Arrays.fill(files, 0, n, null);
        return List.of(frames);
    }

    /**
     * What {@link #lookup0} fills, one set per thread: sized for the deepest expansion and asked for at every frame of
     * every stack a report sees first, they would otherwise be most of what a lookup allocates.
     */
    private static final class LookupArrays {
        final int[] kinds = new int[MAX_FRAMES_PER_ADDRESS];
        final int[] lines = new int[MAX_FRAMES_PER_ADDRESS];
        final String[] names = new String[MAX_FRAMES_PER_ADDRESS];
        final String[] files = new String[MAX_FRAMES_PER_ADDRESS];
    }

    /** The live compiled code ({@code [start, end)} pairs) of {@code pkg.Class.method}: empty when not compiled. */
    public static long[] codeRangesOf(String qualifiedMethod) {
        if (!started) {
            return new long[0];
        }
        return codeRangesOf0(qualifiedMethod);
    }

    /**
     * What an address is, without naming it: {@link #CODE_JAVA}, {@link #CODE_STUB}, {@link #CODE_NONE}, or -1 when
     * only {@link #lookup} tells (compiled code named from JVMTI events, or the map not started). Cheaper than a
     * lookup, and it gathers what a later lookup needs from JVMTI, so that one pass serves all the addresses seen.
     */
    public static int classify(long address) {
        return started ? classify0(address) : -1;
    }

    /** Counters of the map. */
    public record Stats(long liveCompiledMethods, long stubs, long loadsSeen, long unloadsSeen, long mappedBytes,
                        long generation) {}

    public static Stats stats() {
        if (!started) {
            return new Stats(0, 0, 0, 0, 0, 0);
        }
        long[] s = stats0();
        return new Stats(s[0], s[1], s[2], s[3], s[4], s[5]);
    }

    /**
     * Moves whenever code named since it last moved was removed or replaced (from nmethods: one named is no longer
     * where it was; from JVMTI: an unload): names cached for code addresses may be stale when it changed.
     */
    public static long generation() {
        return started ? generation0() : 0;
    }

    /**
     * The calling thread's Java frames, innermost first, as (jmethodID, bytecode index) pairs in {@code out}: a cheap
     * capture, named later by {@link #describeJavaFrame}. Returns how many frames, or -1 when the code map is not
     * running (no JVMTI).
     */
    public static int captureJavaStack(long[] out) {
        return started ? captureJavaStack0(out) : -1;
    }

    /**
     * Prepares {@link #walkJavaStack}; returns null when it works in this JVM, else why not (then every capture goes
     * through {@link #captureJavaStack}). Needs the code map running (its collection count dates keys).
     */
    public static String frameWalkProblem() {
        return started ? initFrameWalk0() : "the JVMTI code map is not running";
    }

    /**
     * A key for the calling thread's Java call path, a few reads per frame (native/src/jvm_frame_walk.c): equal keys
     * mean equal Java frames. {@code out[0]} is the {@link #gcCount} the key is valid in (-1: always), then two words
     * per frame, at most {@code (out.length - 1) / 2} frames. Returns how many frames, or -1 when there is no key.
     */
    public static int walkJavaStack(long[] out) {
        return started ? walkJavaStack0(Thread.currentThread(), out) : -1;
    }

    /**
     * A report's reads of the JVM's memory begin: until {@link #endReadPass}, this thread reads through a cache of
     * whole pages, one system call per page instead of one per read (native/src/jvm_vmstructs.c,
     * safe_read_pass_begin, says what that assumes). Another thread's reads are not affected.
     */
    public static void beginReadPass() {
        if (started) {
            readPass0(true);
        }
    }

    /** The pass of {@link #beginReadPass} ends: its cache is emptied and its memory given back. */
    public static void endReadPass() {
        if (started) {
            readPass0(false);
        }
    }

    /** Garbage collections finished since the code map started, or -1 when this JVM does not tell. */
    public static long gcCount() {
        return started ? gcCount0() : -1;
    }

    /** Names a frame of {@link #captureJavaStack} as a frame of {@code kind}; null when its method is unknown. */
    public static Frame describeJavaFrame(long method, long location, Frame.Kind kind) {
        String[] names = new String[2];
        int line = describeJavaFrame0(method, location, names);
        return line < -1 || names[0] == null ? null : Frame.java(0, kind, names[0], line, names[1]);
    }

    /** For tests and diagnostics: the {@code Method*} behind a method's jmethodID (HotSpot up to JDK 24), or 0. */
    static long methodPointerOf(Executable method) {
        NativeLibraryLoader.load();
        return methodPointerOf0(method);
    }

    /**
     * For tests: this thread's stack as the BPF side records it (return addresses; an interpreted frame as its
     * {@code Method*} tagged with bit 62), walked by frame pointers from the native call, the call's own frame
     * first.
     */
    static long[] walkStack(int max) {
        NativeLibraryLoader.load();
        return walkStack0(max);
    }

    /** For tests: {@link #walkStack} through another native method, for the callers a test compiles. */
    static long[] walkCompiledCallers(int max) {
        return walkCompiledCallers0(max);
    }

    /** Returns null, or why VMStructs cannot be used in this JVM. */
    static String vmStructsProblem() {
        NativeLibraryLoader.load();
        return initVmStructs0();
    }

    private static native String start0(boolean jvmtiOnly);

    static native boolean started0();

    private static native String naming0();

    private static native int classify0(long pc);

    private static native String initVmStructs0();

    private static native int lookup0(long pc, int[] kinds, int[] lines, String[] names, String[] files);

    /** {@code pkg.Class.method} of a HotSpot {@code Method*} (tag bit 62 ignored), or null. Library must be loaded. */
    public static native String resolveMethod0(long methodPointer);

    private static native long[] interpreterRange0();

    /**
     * An interpreted method ({@code Method*}): {@code names[0]} gets its {@code pkg.Class.method}; returns its
     * bytecodes' length then, when {@code lines}, its line number table ((bytecode index, line) pairs; none when
     * unknown), or null when the pointer does not lead to a method of a loaded class. Never faults on a bad pointer.
     * Lines may make JVMTI create the jmethodIDs of the method's class: asked for only when a frame has a bytecode
     * index.
     */
    static native int[] interpretedMethod0(long method, String[] names, boolean lines);

    private static native long[] codeRangesOf0(String qualifiedMethod);

    private static native long[] stats0();

    private static native long generation0();

    private static native long methodPointerOf0(Executable method);

    private static native long[] walkStack0(int max);

    private static native long[] walkCompiledCallers0(int max);

    private static native int captureJavaStack0(long[] out);

    private static native String initFrameWalk0();

    private static native int walkJavaStack0(Thread current, long[] out);

    private static native long gcCount0();

    private static native void readPass0(boolean begin);

    private static native int describeJavaFrame0(long method, long location, String[] names);
}
