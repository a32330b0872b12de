package dev.memleak4j.agent.stacks;

import dev.memleak4j.agent.lang.LongObjectMap;
import dev.memleak4j.agent.symbols.NativeFrame;
import dev.memleak4j.agent.symbols.NativeSymbolizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns the raw values of a stack into named frames; one value may expand to several frames (a JIT-compiled PC to
 * its inlined methods, innermost first, then the compiled method). In order:
 * <ul>
 *   <li>a value tagged as an interpreted frame's {@code Method*} ({@link JavaFrameResolver#METHOD_TAG}): one
 *       {@link Frame.Kind#INTERPRETED} frame;</li>
 *   <li>an address in a mapped file: the native symbol from the ELF symbol tables;</li>
 *   <li>an address in code the {@link JvmCodeMap} knows: {@link Frame.Kind#INLINED}/{@link Frame.Kind#JIT} frames,
 *       or a {@link Frame.Kind#STUB};</li>
 *   <li>else one unknown frame.</li>
 * </ul>
 * Native results are cached: the same return addresses recur in the stacks of a report. Names of compiled code are
 * cached until the code map says code was unloaded or replaced; unknown addresses are not cached (the code map may
 * learn them later: load events arrive shortly after the code runs). Interpreted frames are cached by the
 * {@link JavaFrameResolver}, under its own rule. The collector drops every cache at the end of a report that did
 * not name every stack ({@link #forgetNames()}): a report names its top stacks and the new ones, cheap to find
 * again, and names kept from report to report would only be more objects for the application's GC to walk.
 */
public final class StackResolver {
    private static final int CACHE_LIMIT = 200_000;
    private final NativeSymbolizer symbolizer;
    private final JavaFrameResolver java;
    /** By address, without boxing: looked up at every frame of every stack (the agent's code runs under C1 only). */
    private final LongObjectMap<Frame> nativeCache = new LongObjectMap<>();
    private final LongObjectMap<List<Frame>> javaCache = new LongObjectMap<>();
    /** Compiled code and stubs classified without a name yet ({@link #jvmCodeOf}), kept as the names are. */
    private final LongObjectMap<JvmCode> classified = new LongObjectMap<>();
    private long javaGeneration = Long.MIN_VALUE;

    /**
     * Native symbols, plus Java frames when libmemleak4j.so loads: interpreted frames need only the library;
     * compiled code and stubs need {@link JvmCodeMap#start()} to have run (at agent start-up).
     */
    public StackResolver(NativeSymbolizer symbolizer) {
        this(symbolizer, JavaFrameResolver.tryCreate());
    }

    /** With {@code java} null, Java code stays unknown, as before the code map existed. */
    public StackResolver(NativeSymbolizer symbolizer, JavaFrameResolver java) {
        this.symbolizer = symbolizer;
        this.java = java;
    }

    public synchronized List<Frame> resolve(long[] addresses) {
        forgetStaleJava();
        List<Frame> frames = new ArrayList<>(addresses.length + 8);
        for (long address : addresses) {
            resolveInto(address, frames);
        }
        return frames;
    }

    /**
     * What the JVM says {@code value} is: a Java frame it names (an interpreted frame's tagged {@code Method*} of a
     * loaded method, compiled code or a native method's wrapper), one of its stubs, or nothing it knows.
     */
    public synchronized JvmCode jvmCodeOf(long value) {
        if (java == null) {
            return JvmCode.NONE;
        }
        forgetStaleJava();
        if (JavaFrameResolver.isTaggedMethod(value)) {
            return java.namesMethod(value) ? JvmCode.JAVA : JvmCode.NONE;
        }
        List<Frame> frames = javaCache.get(value);
        if (frames == null) {
            // Classified without being named: names come later, for the stacks a report shows, and what they need of
            // JVMTI is then asked for all the classes seen here at once.
            JvmCode known = classified.get(value);
            if (known != null) {
                return known;
            }
            int kind = java.classify(value);
            if (kind >= 0) {
                known = kind == JvmCodeMap.CODE_JAVA ? JvmCode.JAVA : kind == JvmCodeMap.CODE_STUB ? JvmCode.STUB
                        : JvmCode.NONE;
                if (known != JvmCode.NONE) {
                    classified.put(value, known);
                }
                return known;
            }
            frames = java.resolve(value);
            if (!frames.isEmpty()) {
                javaCache.put(value, frames);
            }
        }
        if (frames.isEmpty() || frames.get(0).name() == null) {
            return JvmCode.NONE;
        }
        return frames.get(0).kind() == Frame.Kind.STUB ? JvmCode.STUB : JvmCode.JAVA;
    }

    /** Drops every name cached (the next resolve finds them again). */
    public synchronized void forgetNames() {
        nativeCache.clear();
        javaCache.clear();
        classified.clear();
        if (java != null) {
            java.forgetAll();
        }
    }

    /** Names of compiled code are kept until the code map says code was unloaded or replaced (its generation). */
    private void forgetStaleJava() {
        if (java == null) {
            return;
        }
        long generation = java.generation();
        if (generation != javaGeneration || javaCache.size() > CACHE_LIMIT || classified.size() > CACHE_LIMIT) {
            forgetJava(generation);
        }
    }

    /** Apart from the check above, which runs for every stack resolved: the JIT compiles the check alone. */
    private void forgetJava(long generation) {
        javaCache.clear();
        classified.clear();
        java.forget();
        javaGeneration = generation;
    }

    private void resolveInto(long address, List<Frame> frames) {
        if (java != null && JavaFrameResolver.isTaggedMethod(address)) {
            frames.addAll(java.resolve(address));
            return;
        }
        Frame cached = nativeCache.get(address);
        if (cached != null) {
            frames.add(cached);
            return;
        }
        List<Frame> javaFrames = javaCache.get(address);
        if (javaFrames != null) {
            frames.addAll(javaFrames);
            return;
        }
        NativeFrame nativeFrame = symbolizer.symbolize(address);
        if (nativeFrame.symbol() != null || nativeFrame.module() != null) {
            Frame frame = new Frame(address, Frame.Kind.NATIVE, nativeFrame.symbol(), nativeFrame.module(),
                    nativeFrame.offset());
            if (nativeCache.size() >= CACHE_LIMIT) {
                nativeCache.clear();
            }
            nativeCache.put(address, frame);
            frames.add(frame);
            return;
        }
        if (java != null) {
            javaFrames = java.resolve(address);
            if (!javaFrames.isEmpty()) {
                javaCache.put(address, javaFrames);
                frames.addAll(javaFrames);
                return;
            }
        }
        frames.add(new Frame(address, Frame.Kind.UNKNOWN, null, null, 0));
    }
}
