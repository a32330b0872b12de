package dev.memleak4j.agent.stacks;

import dev.memleak4j.agent.nativelib.NativeLibraryLoader;

import java.util.List;

/**
 * Names the Java side of a stack: an address in JIT-compiled code expands to its inlined methods and the compiled
 * method, an address in a JVM stub to the stub's name, and a value the stack walk tagged as an interpreted frame's
 * {@code Method*} ({@link #METHOD_TAG}) to that method. Backed by {@link JvmCodeMap}.
 */
public final class JavaFrameResolver {
    /** Set in a stack value that is an interpreted frame's {@code Method*} rather than an address. */
    public static final long METHOD_TAG = 1L << 62;
    private static final long TAG_MASK = 3L << 62;
    private static final int BCI_SHIFT = 47;
    private static final long BCI_BITS = 0x7fff;
    private static final long METHOD_MASK = (1L << BCI_SHIFT) - 1;

    private JavaFrameResolver() {}

    /**
     * A resolver over the code map, or null when libmemleak4j.so cannot be loaded. Interpreted frames resolve once
     * the library is loaded; compiled code and stubs once {@link JvmCodeMap#start()} has run.
     */
    public static JavaFrameResolver tryCreate() {
        try {
            NativeLibraryLoader.load();
            return new JavaFrameResolver();
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    /** Whether a stack value is a tagged {@code Method*} (bit 62 set, bit 63 clear: never a user-space address). */
    public static boolean isTaggedMethod(long value) {
        return (value & TAG_MASK) == METHOD_TAG;
    }

    /** The {@code Method*} of a tagged value (bits 0-46; bpf/memleak.h FRAME_METHOD_MASK). */
    public static long methodOf(long taggedValue) {
        return taggedValue & METHOD_MASK;
    }

    /**
     * The bytecode index a tagged value carries (bits 47-61 hold bci + 1: the walk from the frame anchor reads the
     * frame's bytecode pointer), or -1 when it carries none.
     */
    public static int bciOf(long taggedValue) {
        return (int) ((taggedValue >>> BCI_SHIFT) & BCI_BITS) - 1;
    }

    /**
     * The frames for one stack value, innermost first; empty when it is neither a tagged {@code Method*} nor in
     * code the map knows.
     */
    public List<Frame> resolve(long value) {
        if (isTaggedMethod(value)) {
            int bci = bciOf(value);
            return List.of(Frame.java(value, Frame.Kind.INTERPRETED, JvmCodeMap.resolveMethod0(methodOf(value)),
                    bci < 0 ? -1 : JvmCodeMap.interpretedLine0(methodOf(value), bci)));
        }
        return JvmCodeMap.lookup(value);
    }

    /** Changes when code was unloaded or replaced: cached results may be stale then. */
    public long generation() {
        return JvmCodeMap.generation();
    }
}
