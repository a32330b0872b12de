package dev.memleak4j.agent.stacks;

import dev.memleak4j.agent.probes.CallInstructions;
import dev.memleak4j.agent.lang.LongLongMap;
import dev.memleak4j.agent.lang.LongObjectMap;
import dev.memleak4j.agent.nativelib.NativeLibraryLoader;
import dev.memleak4j.agent.symbols.Mapping;
import dev.memleak4j.agent.symbols.ProcessMaps;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongFunction;
import java.util.function.Supplier;

/**
 * Cuts a walked stack at its last trustworthy frame. The kernel side walks frame pointers; in code built without them
 * (Debian's zlib, RocksDB's JNI library, most distribution libraries) {@code rbp} is a general register, and the walk
 * reads words that are no return addresses, often different at each allocation, some of them inside executable
 * mappings. Left in, each prints as its own frame and splits one leak into as many stacks. A value is trusted when:
 * <ul>
 *   <li>it is a Java frame the JVM names: an interpreted frame's tagged {@code Method*} that names a method, or an
 *       address in compiled code the {@link JvmCodeMap} knows (a compiled method or a native method's wrapper), also
 *       where the maps last read still showed a code heap's reserved memory (the code cache commits it as the JIT
 *       fills it, and the maps are read at most once per report);</li>
 *   <li>or, before the cut, an address in one of the JVM's stubs the code map knows;</li>
 *   <li>or, before the cut, an address in an executable mapping right after a {@code call} instruction (a call
 *       pushed it; {@link CallInstructions}).</li>
 * </ul>
 * The allocator's caller (the first value, which the kernel takes from the return's instruction pointer) is always
 * kept. At the first value that is not trusted the stack is cut: that value and every later one that is not a Java
 * frame the JVM names are left out (a walk that went astray may still land on the thread's real Java frames, which
 * the JVM vouches for; no native word after the cut is worth more than the garbage before it).
 *
 * <p>Each stack id is cut once and remembered ({@link #canonicalId}): stacks that differ only in what was cut share
 * one id, the hash of what is left. A stack with a value in anonymous executable memory the code map does not know
 * (compiled code whose load event the map has not seen yet, or garbage), or in a code heap's reserved memory the map
 * does not know, is not remembered: it is cut again at the next report, when the map may know more
 * ({@link #settled}). Not thread-safe: the collector calls it under its lock.
 */
public final class WalkedStackTrimmer {
    /** Remembered stacks at most; beyond, the memory starts over (the kernel holds max-stacks of them). */
    private static final int MAX_REMEMBERED = 1 << 17;
    private final Supplier<List<Mapping>> mappings;
    private final LongFunction<JvmCode> jvm;
    /** Reads bytes of this process's memory, or null: then a value in an executable mapping is trusted as it is. */
    private final CodeReader code;
    /*
     * The tables below live from report to report: primitive arrays, not boxed maps or Mapping records, so that they
     * are a few objects however many stacks there are (every full GC of the application marks and moves each one).
     */
    private final LongLongMap canonicalIds = new LongLongMap();
    private final LongObjectMap<long[]> framesById = new LongObjectMap<>();
    /** Whether a return address into a file's code follows a call: code in files does not change. By address without
     * boxing: looked up at most values of every stack cut. */
    private final LongObjectMap<Boolean> afterCall = new LongObjectMap<>();
    /** Canonical ids of stacks cut in this report that are not remembered (the keys; the values mean nothing). */
    private final LongLongMap unsettled = new LongLongMap();
    /** The executable mappings by start: their starts, ends, and whether each is anonymous (no file). */
    private long[] starts = new long[0];
    private long[] ends = new long[0];
    private boolean[] anonymous = new boolean[0];
    /** Reserved, not yet committed memory right after anonymous executable memory (the rest of a code heap): start,
     * end pairs. */
    private long[] reservedCode = new long[0];
    /** Whether the ranges were read since {@link #newReport}: then an address outside them is not executable. */
    private boolean rangesCurrent;
    /** Set by {@link #cut} when it met a value it could not decide for good. */
    private boolean undecided;

    /** Reads {@code length} bytes of this process's memory at {@code address}; null when they cannot be read. */
    @FunctionalInterface
    public interface CodeReader {
        byte[] read(long address, int length);
    }

    /** Over this process's maps and memory, asking {@code jvm} what the JVM knows of a value. */
    public WalkedStackTrimmer(LongFunction<JvmCode> jvm) {
        this(new SelfMappings(), jvm, SelfMemory.open());
    }

    WalkedStackTrimmer(Supplier<List<Mapping>> mappings, LongFunction<JvmCode> jvm, CodeReader code) {
        this.mappings = mappings;
        this.jvm = jvm;
        this.code = code;
    }

    /**
     * Called before each report: an address outside the known mappings then makes /proc/self/maps be read again
     * (once per report), so code mapped since the last read (a library loaded since) is never taken for garbage.
     */
    public void newReport() {
        rangesCurrent = false;
        unsettled.clear();
    }

    /** This process's maps. A class, not a method reference: a lambda's hidden class would stay in the JVM. */
    private static final class SelfMappings implements Supplier<List<Mapping>> {
        @Override
        public List<Mapping> get() {
            try {
                return ProcessMaps.readSelf().mappings();
            } catch (IOException e) {
                return null; // nothing is cut while the maps cannot be read
            }
        }
    }

    /**
     * The id the report uses for the stack stored under {@code stackId}: {@code stackId} itself when nothing was cut,
     * else a hash of the frames that are left. {@code frames} reads the stored stack (called once per remembered id).
     */
    public long canonicalId(long stackId, LongFunction<long[]> frames) {
        if (canonicalIds.containsKey(stackId)) {
            return canonicalIds.get(stackId, stackId);
        }
        return cutNew(stackId, frames);
    }

    /**
     * {@link #canonicalId} of a stack not cut yet: apart from the lookup above, which runs for every stack of every
     * report, so that the JIT compiles the lookup without this (compiled code stays for every full GC to walk).
     */
    private long cutNew(long stackId, LongFunction<long[]> frames) {
        if (canonicalIds.size() >= MAX_REMEMBERED) {
            canonicalIds.clear();
            framesById.clear();
        }
        if (afterCall.size() >= MAX_REMEMBERED) {
            afterCall.clear();
        }
        long[] walked = frames.apply(stackId);
        long[] kept = cut(walked);
        long id = kept.length == walked.length ? stackId : hash(kept);
        if (id != stackId) {
            if (framesById.get(id) == null) {
                framesById.put(id, kept); // else its frames stay in the kernel's map, not here
            }
        }
        if (undecided) {
            unsettled.put(id, 0);
        } else {
            canonicalIds.put(stackId, id);
        }
        return id;
    }

    /**
     * Whether every stack that got {@code canonicalId} in this report was cut for good (what is derived from it may
     * be remembered too).
     */
    public boolean settled(long canonicalId) {
        return !unsettled.containsKey(canonicalId);
    }

    /**
     * The frames left of a stack whose tail {@link #canonicalId} cut, by the id it gave; null for any other id (its
     * frames are the kernel's stored stack).
     */
    public long[] framesOf(long canonicalId) {
        return framesById.get(canonicalId);
    }

    /** {@code walked} without the values that cannot be trusted (the array itself when all can). */
    long[] cut(long[] walked) {
        undecided = false;
        long[] kept = null;
        int count = 0;
        boolean cut = false;
        for (int i = 0; i < walked.length; i++) {
            // The first frame is the allocator's caller: the kernel read it from the instruction pointer, not the walk.
            Trust trust = i == 0 ? Trust.ALWAYS : trust(walked[i]);
            boolean keep = trust == Trust.ALWAYS || (!cut && trust == Trust.BEFORE_CUT);
            if (!keep) {
                cut = true;
                if (kept == null) {
                    kept = Arrays.copyOf(walked, walked.length);
                    count = i;
                }
            } else if (kept != null) {
                kept[count++] = walked[i];
            }
        }
        return kept == null ? walked : Arrays.copyOf(kept, count);
    }

    private enum Trust {
        /** A Java frame the JVM names (or the allocator's caller): kept wherever it is. */
        ALWAYS,
        /** A return address that follows a call, or a JVM stub: kept until the first value not trusted. */
        BEFORE_CUT,
        NEVER
    }

    private Trust trust(long value) {
        if (JavaFrameResolver.isTaggedMethod(value)) {
            return jvm.apply(value) == JvmCode.JAVA ? Trust.ALWAYS : Trust.NEVER;
        }
        int mapping = executableMapping(value);
        if (mapping < 0) {
            if (!inReservedCode(value)) {
                return Trust.NEVER;
            }
            // The code cache commits its reserved memory as the JIT fills it: code compiled since the maps were read
            // lies in what they showed as reserved. The JVM says whether it is code; until it knows, decided again.
            Trust byJvm = byJvmCode(value);
            return byJvm != null ? byJvm : Trust.NEVER;
        }
        if (anonymous[mapping]) {
            Trust byJvm = byJvmCode(value);
            if (byJvm != null) {
                return byJvm;
            }
            return followsCall(value) ? Trust.BEFORE_CUT : Trust.NEVER;
        }
        Boolean known = afterCall.get(value);
        if (known == null) {
            known = followsCall(value);
            afterCall.put(value, known);
        }
        return known ? Trust.BEFORE_CUT : Trust.NEVER;
    }

    /**
     * What the JVM's code map makes of a value in anonymous or reserved code memory; null when it does not know the
     * value (compiled code the map learns of later, or garbage), which is then decided again at the next report.
     * If/else rather than a switch: a switch on an enum is one more class in the application's JVM for good.
     */
    private Trust byJvmCode(long value) {
        JvmCode code = jvm.apply(value);
        if (code == JvmCode.JAVA) {
            return Trust.ALWAYS;
        }
        if (code == JvmCode.STUB) {
            return Trust.BEFORE_CUT;
        }
        undecided = true;
        return null;
    }

    private boolean followsCall(long address) {
        if (code == null) {
            return true; // memory cannot be read: an executable mapping is all that is known
        }
        byte[] before = code.read(address - CallInstructions.MAX_LENGTH, CallInstructions.MAX_LENGTH);
        if (before == null) {
            // At the start of a mapping the bytes before may be unmapped: read what is there.
            long available = address - starts[executableMapping(address)];
            if (available < 2 || available >= CallInstructions.MAX_LENGTH) {
                return false;
            }
            before = code.read(address - available, (int) available);
        }
        return before != null && CallInstructions.endsWithCall(before);
    }

    /**
     * The index of the executable mapping that holds {@code address}, or -1. Looked up at most values of every stack
     * cut, so the maps are read in a method of their own: they are read at most once per report, and compiled into
     * this lookup they made it the largest compiled method of the agent (every full GC walks compiled code).
     */
    private int executableMapping(long address) {
        int mapping = inRanges(address);
        if (mapping >= 0 || rangesCurrent) {
            return mapping;
        }
        readRanges();
        return inRanges(address);
    }

    /** The executable mappings and the code heaps' reserved memory, from this process's maps as they are now. */
    private void readRanges() {
        rangesCurrent = true;
        List<Mapping> current = mappings.get();
        if (current == null) {
            // maps unreadable: every address counts as executable (a file's), what follows a call as a return address
            starts = new long[] {0};
            ends = new long[] {-1L >>> 1};
            anonymous = new boolean[] {false};
            reservedCode = new long[0];
            return;
        }
        List<Mapping> found = new ArrayList<>();
        List<Mapping> reserved = new ArrayList<>();
        List<Mapping> sorted = new ArrayList<>(current);
        sorted.sort(BY_START);
        Mapping previous = null;
        for (Mapping each : sorted) {
            if (each.perms().indexOf('x') >= 0) {
                found.add(each);
            } else if (previous != null && previous.end() == each.start() && isAnonymous(previous)
                    && isAnonymous(each) && previous.perms().indexOf('x') >= 0 && each.perms().startsWith("---")) {
                reserved.add(each);
            }
            previous = each;
        }
        // not streams: their classes would stay in the application's JVM
        starts = new long[found.size()];
        ends = new long[found.size()];
        anonymous = new boolean[found.size()];
        for (int i = 0; i < starts.length; i++) {
            starts[i] = found.get(i).start();
            ends[i] = found.get(i).end();
            anonymous[i] = isAnonymous(found.get(i));
        }
        reservedCode = new long[2 * reserved.size()];
        for (int i = 0; i < reserved.size(); i++) {
            reservedCode[2 * i] = reserved.get(i).start();
            reservedCode[2 * i + 1] = reserved.get(i).end();
        }
    }

    /** Written out, not a lambda: a lambda's hidden class and method handles would stay in the application's JVM. */
    private static final Comparator<Mapping> BY_START = new Comparator<>() {
        @Override
        public int compare(Mapping a, Mapping b) {
            return Long.compareUnsigned(a.start(), b.start());
        }
    };

    private static boolean isAnonymous(Mapping mapping) {
        return mapping.pathname().isEmpty() || mapping.pathname().startsWith("[");
    }

    private boolean inReservedCode(long address) {
        for (int i = 0; i < reservedCode.length; i += 2) {
            if (Long.compareUnsigned(address, reservedCode[i]) >= 0
                    && Long.compareUnsigned(address, reservedCode[i + 1]) < 0) {
                return true;
            }
        }
        return false;
    }

    private int inRanges(long address) {
        int i = Arrays.binarySearch(starts, address);
        if (i < 0) {
            i = -i - 2;
        }
        return i >= 0 && Long.compareUnsigned(address, ends[i]) < 0 ? i : -1;
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

    /**
     * This process's memory, read by the agent's native library with {@code process_vm_readv}: a bad address is an
     * error to read, never a fault. Not a {@code FileChannel} on /proc/self/mem: each of its reads runs some thirty
     * JDK methods, which the JIT then compiles into the application's code cache, where every full GC walks them.
     */
    static final class SelfMemory implements CodeReader {
        private static final SelfMemory INSTANCE = new SelfMemory();

        private SelfMemory() {
        }

        /** The reader, or null when the agent's native library cannot be loaded. */
        static SelfMemory open() {
            try {
                NativeLibraryLoader.load();
                read0(0, 0);
                return INSTANCE;
            } catch (IllegalStateException | UnsatisfiedLinkError e) {
                return null;
            }
        }

        @Override
        public byte[] read(long address, int length) {
            return address < 0 ? null : read0(address, length);
        }

        private static native byte[] read0(long address, int length);
    }
}
