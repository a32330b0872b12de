package dev.memleak4j.agent.stacks;

import dev.memleak4j.agent.nativelib.NativeLibraryLoader;
import dev.memleak4j.agent.lang.LongObjectMap;

import java.util.List;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.function.LongToIntFunction;

/**
 * Names the Java side of a stack: an address in JIT-compiled code expands to its inlined methods and the compiled
 * method, an address in a JVM stub to the stub's name, and a value the stack walk tagged as an interpreted frame's
 * {@code Method*} ({@link #METHOD_TAG}) to that method. Backed by {@link JvmCodeMap}.
 *
 * <p>Interpreted frames are named from a cache: a method is read once for all the bytecode indexes its frames show
 * (name, line number table), and each tagged value once. A {@code Method*} goes away with its class, which is
 * unloaded only in a garbage collection, so the cache holds while {@link JvmCodeMap#gcCount()} stays the same, the
 * rule of the frame walk's keys ({@link JvmCodeMap#walkJavaStack}); where the JVM does not count collections, until
 * {@link #forget()} (the caller's rule for compiled code). Not the code map's generation: it moves whenever compiled
 * code is replaced (tiered compilation replaces code throughout a JVM's life), and replaced code frees no
 * {@code Method*}. What this rule does not see, like the frame walk's keys: the old version of a redefined method is
 * freed once no frame runs it, outside a collection; were its memory reused for another method before the next one,
 * a value naming it would keep the old name until then. Not thread-safe: {@link StackResolver} calls it under its
 * lock.
 */
public final class JavaFrameResolver {
    /** Set in a stack value that is an interpreted frame's {@code Method*} rather than an address. */
    public static final long METHOD_TAG = 1L << 62;
    private static final long TAG_MASK = 3L << 62;
    private static final int BCI_SHIFT = 47;
    private static final long BCI_BITS = 0x7fff;
    private static final long METHOD_MASK = (1L << BCI_SHIFT) - 1;
    /** Interpreted methods and tagged values kept at most; beyond, read again (a walk gone astray tags garbage too). */
    private static final int MAX_CACHED = 1 << 16;
    /** An interpreted method that names nothing. */
    private static final Interpreted UNKNOWN = new Interpreted(null, new int[] {0}, true);
    private final MethodReader methods;
    private final LongSupplier gcCount;
    private final LongSupplier generation;
    private final LongFunction<List<Frame>> compiled;
    private final LongToIntFunction classifier;
    private final LongObjectMap<Interpreted> interpreted = new LongObjectMap<>();
    private final LongObjectMap<List<Frame>> interpretedFrames = new LongObjectMap<>();
    /** The collection count the interpreted caches were filled in. */
    private long collections = -1;

    /** Reads an interpreted method, as {@link JvmCodeMap#interpretedMethod0}. */
    @FunctionalInterface
    interface MethodReader {
        int[] read(long method, String[] names, boolean lines);
    }

    private JavaFrameResolver(CodeMap map) {
        this(map, map, map.generation, map, map);
    }

    /**
     * The code map as the resolver reads it. A class, not method references: each would be a hidden class, with its
     * call site's method handles, kept in the application's JVM for good (every full GC walks them).
     */
    private static final class CodeMap implements MethodReader, LongSupplier, LongFunction<List<Frame>>,
            LongToIntFunction {
        final LongSupplier generation = new LongSupplier() {
            @Override
            public long getAsLong() {
                return JvmCodeMap.generation();
            }
        };

        @Override
        public int[] read(long method, String[] names, boolean lines) {
            return JvmCodeMap.interpretedMethod0(method, names, lines);
        }

        /** The JVM's count of garbage collections. */
        @Override
        public long getAsLong() {
            return JvmCodeMap.gcCount();
        }

        @Override
        public List<Frame> apply(long address) {
            return JvmCodeMap.lookup(address);
        }

        @Override
        public int applyAsInt(long address) {
            return JvmCodeMap.classify(address);
        }
    }

    /** No classification without a lookup (for tests). */
    private static final class LookupOnly implements LongToIntFunction {
        @Override
        public int applyAsInt(long address) {
            return -1;
        }
    }

    /** Over other sources than the JVM's: for tests. */
    JavaFrameResolver(MethodReader methods, LongSupplier gcCount, LongSupplier generation,
                      LongFunction<List<Frame>> compiled) {
        this(methods, gcCount, generation, compiled, new LookupOnly());
    }

    private JavaFrameResolver(MethodReader methods, LongSupplier gcCount, LongSupplier generation,
                              LongFunction<List<Frame>> compiled, LongToIntFunction classifier) {
        this.methods = methods;
        this.gcCount = gcCount;
        this.generation = generation;
        this.compiled = compiled;
        this.classifier = classifier;
    }

    /**
     * What an address (not a tagged value) is without naming it, as {@link JvmCodeMap#classify}: -1 when only
     * {@link #resolve} tells.
     */
    public int classify(long address) {
        return classifier.applyAsInt(address);
    }

    /**
     * A resolver over the code map, or null when libmemleak4j.so cannot be loaded. Interpreted frames resolve once
     * the library is loaded; compiled code and stubs once {@link JvmCodeMap#start()} has run.
     */
    public static JavaFrameResolver tryCreate() {
        try {
            NativeLibraryLoader.load();
            return new JavaFrameResolver(new CodeMap());
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
            checkCollections();
            List<Frame> frames = interpretedFrames.get(value);
            if (frames == null) {
                int bci = bciOf(value);
                Interpreted method = interpreted(methodOf(value), bci >= 0);
                frames = List.of(Frame.java(value, Frame.Kind.INTERPRETED, method.name(), method.lineOf(bci)));
                interpretedFrames.put(value, frames);
            }
            return frames;
        }
        return compiled.apply(value);
    }

    /**
     * Whether a tagged value names a method of a loaded class: what {@link #resolve} would name, without its line
     * (which may need JVMTI to make the jmethodIDs of the method's class: asked for when the frame is resolved, for
     * all the classes met here at once).
     */
    public boolean namesMethod(long value) {
        checkCollections();
        List<Frame> frames = interpretedFrames.get(value);
        return frames != null ? frames.get(0).name() != null : interpreted(methodOf(value), false).name() != null;
    }

    private void checkCollections() {
        long count = gcCount.getAsLong();
        if (count != collections || interpretedFrames.size() >= MAX_CACHED) {
            forgetInterpreted();
            collections = count;
        }
    }

    private Interpreted interpreted(long method, boolean lines) {
        Interpreted known = interpreted.get(method);
        if (known == null || (lines && !known.lines)) {
            if (interpreted.size() >= MAX_CACHED) {
                interpreted.clear();
            }
            String[] names = new String[1];
            int[] table = methods.read(method, names, lines);
            known = table == null || names[0] == null ? UNKNOWN : new Interpreted(names[0], table, lines);
            interpreted.put(method, known);
        }
        return known;
    }

    /**
     * Called when the caller drops its cached names of compiled code: where the JVM does not count collections,
     * interpreted methods are forgotten then too (their classes may have been unloaded since).
     */
    public void forget() {
        if (collections < 0) {
            forgetInterpreted();
        }
    }

    /** Drops every cached method and frame ({@link StackResolver#forgetNames()}). */
    void forgetAll() {
        forgetInterpreted();
    }

    private void forgetInterpreted() {
        interpreted.clear();
        interpretedFrames.clear();
    }

    /**
     * An interpreted method: its name, and {@code table}: the length of its bytecodes, then (bytecode index, line)
     * pairs when {@code lines} (they were asked for).
     */
    private record Interpreted(String name, int[] table, boolean lines) {
        /** The line of the last entry that starts at or before {@code bci} (of equal ones, the later); -1: none. */
        int lineOf(int bci) {
            if (bci < 0 || bci >= table[0]) {
                return -1;
            }
            int line = -1;
            int best = -1;
            for (int i = 1; i + 1 < table.length; i += 2) {
                if (table[i] <= bci && table[i] >= best) {
                    best = table[i];
                    line = table[i + 1];
                }
            }
            return line;
        }
    }

    /** Changes when code was unloaded or replaced: cached results may be stale then. */
    public long generation() {
        return generation.getAsLong();
    }
}
