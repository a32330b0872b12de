package dev.memleak4j.agent.stacks;

import dev.memleak4j.agent.symbols.NativeFrame;
import dev.memleak4j.agent.symbols.NativeSymbolizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the raw instruction addresses of a stack into named frames. Native code is named from the ELF symbol
 * tables of the mapped files; an address in no file (JIT-compiled Java code, JVM stubs) is kept as unknown.
 * Results are cached: the same return addresses recur in every report.
 */
public final class StackResolver {
    private static final int CACHE_LIMIT = 200_000;
    private final NativeSymbolizer symbolizer;
    private final Map<Long, Frame> cache = new LinkedHashMap<>(1024, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Frame> eldest) {
            return size() > CACHE_LIMIT;
        }
    };

    public StackResolver(NativeSymbolizer symbolizer) {
        this.symbolizer = symbolizer;
    }

    public synchronized List<Frame> resolve(long[] addresses) {
        List<Frame> frames = new ArrayList<>(addresses.length);
        for (long address : addresses) {
            frames.add(cache.computeIfAbsent(address, this::resolveOne));
        }
        return frames;
    }

    private Frame resolveOne(long address) {
        NativeFrame nativeFrame = symbolizer.symbolize(address);
        if (nativeFrame.symbol() != null || nativeFrame.module() != null) {
            return new Frame(address, Frame.Kind.NATIVE, nativeFrame.symbol(), nativeFrame.module(),
                    nativeFrame.offset());
        }
        return new Frame(address, Frame.Kind.UNKNOWN, null, null, 0);
    }
}
