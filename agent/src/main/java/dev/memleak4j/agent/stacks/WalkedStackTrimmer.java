package dev.memleak4j.agent.stacks;

import dev.memleak4j.agent.symbols.Mapping;
import dev.memleak4j.agent.symbols.ProcessMaps;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/**
 * Ends a walked stack before its first value that cannot be a return address: an address in no executable mapping.
 * The kernel side walks frame pointers; after it enters code built without them (Debian's zlib, most distribution
 * libraries) {@code rbp} is a general register, and the walk can read a value or two of garbage before it stops.
 * Left in, such a frame prints as {@code [unknown]} and splits one leak into several stacks (one per garbage
 * value). Interpreted frames (tagged {@code Method*} values) are kept as they are.
 *
 * <p>Each stack id is trimmed once and remembered ({@link #canonicalId}): stacks that differ only after the cut share
 * one id, the hash of what is left, so the report groups them as one. Not thread-safe: the collector calls it under its lock.
 */
public final class WalkedStackTrimmer {
    /** Remembered stacks at most; beyond, the memory starts over (the kernel holds max-stacks of them). */
    private static final int MAX_REMEMBERED = 1 << 17;
    private final Supplier<List<Mapping>> mappings;
    private final Map<Long, Long> canonicalIds = new HashMap<>();
    private final Map<Long, long[]> framesById = new HashMap<>();
    private long[] starts = new long[0];
    private long[] ends = new long[0];
    /** Whether the ranges were read since {@link #newReport}: then an address outside them is not executable. */
    private boolean rangesCurrent;

    public WalkedStackTrimmer() {
        this(WalkedStackTrimmer::readMappings);
    }

    WalkedStackTrimmer(Supplier<List<Mapping>> mappings) {
        this.mappings = mappings;
    }

    /**
     * Called before each report: an address outside the known mappings then makes /proc/self/maps be read again
     * (once per report), so code mapped since the last read (a library loaded since) is never taken for garbage.
     */
    public void newReport() {
        rangesCurrent = false;
    }

    private static List<Mapping> readMappings() {
        try {
            return ProcessMaps.readSelf().mappings();
        } catch (IOException e) {
            return null; // nothing is cut while the maps cannot be read
        }
    }

    /**
     * The id the report uses for the stack stored under {@code stackId}: {@code stackId} itself when nothing was cut,
     * else a hash of the frames that are left. {@code frames} reads the stored stack (called once per id).
     */
    public long canonicalId(long stackId, LongFunction<long[]> frames) {
        Long known = canonicalIds.get(stackId);
        if (known != null) {
            return known;
        }
        if (canonicalIds.size() >= MAX_REMEMBERED) {
            canonicalIds.clear();
            framesById.clear();
        }
        long[] walked = frames.apply(stackId);
        long[] kept = trim(walked);
        if (kept.length == walked.length) {
            canonicalIds.put(stackId, stackId);
            return stackId; // nothing cut: its frames stay in the kernel's map, not here
        }
        long id = hash(kept);
        canonicalIds.put(stackId, id);
        framesById.putIfAbsent(id, kept);
        return id;
    }

    /**
     * The frames left of a stack whose tail {@link #canonicalId} cut, by the id it gave; null for any other id (its
     * frames are the kernel's stored stack).
     */
    public long[] framesOf(long canonicalId) {
        return framesById.get(canonicalId);
    }

    /** {@code walked} up to, not including, its first value in no executable mapping (the array itself if none). */
    long[] trim(long[] walked) {
        for (int i = 0; i < walked.length; i++) {
            if (!JavaFrameResolver.isTaggedMethod(walked[i]) && !executable(walked[i])) {
                return i == 0 ? walked : Arrays.copyOf(walked, i); // the first frame is the allocator's caller: kept
            }
        }
        return walked;
    }

    private boolean executable(long address) {
        if (inRanges(address)) {
            return true;
        }
        if (rangesCurrent) {
            return false;
        }
        rangesCurrent = true;
        List<Mapping> current = mappings.get();
        if (current == null) {
            starts = new long[] {0};
            ends = new long[] {-1L >>> 1}; // maps unreadable: every address counts as executable
            return true;
        }
        List<Mapping> executables = new ArrayList<>();
        for (Mapping mapping : current) {
            if (mapping.perms().indexOf('x') >= 0) {
                executables.add(mapping);
            }
        }
        executables.sort((a, b) -> Long.compareUnsigned(a.start(), b.start()));
        starts = executables.stream().mapToLong(Mapping::start).toArray();
        ends = executables.stream().mapToLong(Mapping::end).toArray();
        return inRanges(address);
    }

    private boolean inRanges(long address) {
        int i = Arrays.binarySearch(starts, address);
        if (i < 0) {
            i = -i - 2;
        }
        return i >= 0 && Long.compareUnsigned(address, ends[i]) < 0;
    }

    /** FNV-1a over the frames, like the kernel side's ids; odd, so never 0 ("no stack"). */
    private static long hash(long[] frames) {
        long hash = 0xcbf29ce484222325L;
        for (long frame : frames) {
            hash ^= frame;
            hash *= 0x100000001b3L;
        }
        return hash | 1;
    }
}
