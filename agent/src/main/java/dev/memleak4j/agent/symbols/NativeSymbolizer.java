package dev.memleak4j.agent.symbols;

import dev.memleak4j.agent.lang.LongLongMap;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * Turns native addresses of this process into {@link NativeFrame}s using /proc/self/maps and the
 * ELF symbol tables of the mapped files. Thread-safe; never throws for an address it cannot resolve.
 */
public final class NativeSymbolizer {

    /** Bounds how often addresses outside every known mapping (JIT code, garbage) re-read the maps. */
    private static final long MAPS_REFRESH_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final Supplier<ProcessMaps> mapsReader;
    private final UnaryOperator<String> demangler;
    private final LongSupplier nanoClock;
    /** {@link LoadedObjects#changes()} for this process: it moves whenever a library is loaded or unloaded. */
    private final LongSupplier loaderChanges;
    /**
     * Every file's symbols, shared by all symbolizers of the process and kept for its life: a file's symbols do not
     * change, a later attach of the agent finds them ready, and the native indexes are never freed under a lookup.
     */
    private static final ConcurrentHashMap<ModuleKey, LazyModule> MODULES = new ConcurrentHashMap<>();
    private final Object refreshLock = new Object();
    private volatile ProcessMaps maps = ProcessMaps.parse("");
    /** What loaderChanges said just before {@link #maps} was read; written under refreshLock. */
    private volatile long mapsLoaderChanges;
    /** Guarded by refreshLock. */
    private long nextRefreshNanos;
    /**
     * Addresses in mapped files whose symbols could not be read (the keys; guarded by itself), and those files: for
     * the report's losses. By address, not by call: the callers do not keep what they resolved from one report to the
     * next, and an address is one frame not named however often it is asked for.
     */
    private final LongLongMap framesNotNamed = new LongLongMap();
    private final Set<String> unreadableFiles = ConcurrentHashMap.newKeySet();
    private volatile String firstError;
    /** The last symbolizer made for this process: the one the agent's reports use. */
    private static volatile NativeSymbolizer current;

    /**
     * Frames left without a name because their library's file could not be read (vanished, not ELF, corrupt), how
     * many libraries that was, and the first of their errors (null when none).
     */
    public record Unnamed(long frames, int libraries, String firstError) {
    }

    /**
     * A file is identified by inode too, so that a path reused by a new library is read anew. The
     * inode is not compared with the file on disk: on overlayfs (containers) /proc/PID/maps may show
     * the underlying file's inode, which stat does not. A library replaced the usual way (new file
     * renamed over the old) shows up as " (deleted)" instead, and those are not read at all.
     *
     * <p>equals and hashCode are written out, not generated: a record's generated ones link through invokedynamic
     * on first use, which spins method handles and hidden classes in the application's JVM (tens of milliseconds of
     * CPU, on the first report) for a key that only compares a path and an inode.
     */
    private record ModuleKey(String path, long inode) {
        @Override
        public boolean equals(Object other) {
            return other instanceof ModuleKey key && key.inode == inode && key.path.equals(path);
        }

        @Override
        public int hashCode() {
            return path.hashCode() * 31 + Long.hashCode(inode);
        }
    }

    /**
     * Holds one module's symbols, loaded on first use. Loading libjvm.so takes a while, so it runs
     * under this holder's lock rather than inside ConcurrentHashMap.computeIfAbsent, where it would
     * block unrelated keys.
     */
    private static final class LazyModule {
        private final ModuleKey key;
        private ModuleSymbols symbols;

        LazyModule(ModuleKey key) {
            this.key = key;
        }

        synchronized ModuleSymbols get() {
            if (symbols == null) {
                symbols = ModuleSymbols.load(key.path());
            }
            return symbols;
        }
    }

    NativeSymbolizer(Supplier<ProcessMaps> mapsReader, UnaryOperator<String> demangler, LongSupplier nanoClock) {
        this(mapsReader, demangler, nanoClock, () -> 0);
    }

    NativeSymbolizer(Supplier<ProcessMaps> mapsReader, UnaryOperator<String> demangler, LongSupplier nanoClock,
                     LongSupplier loaderChanges) {
        this.mapsReader = mapsReader;
        this.demangler = demangler;
        this.nanoClock = nanoClock;
        this.loaderChanges = loaderChanges;
        this.nextRefreshNanos = nanoClock.getAsLong();
    }

    /** A symbolizer for this process that shows mangled C++ names as they are. */
    public static NativeSymbolizer forCurrentProcess() {
        return forCurrentProcess(UnaryOperator.identity());
    }

    /** A symbolizer for this process; {@code demangler} receives only names starting with "_Z". */
    public static NativeSymbolizer forCurrentProcess(UnaryOperator<String> demangler) {
        OwnProcess own = new OwnProcess();
        NativeSymbolizer symbolizer = new NativeSymbolizer(own, demangler, own.clock, own);
        current = symbolizer;
        return symbolizer;
    }

    /**
     * A symbolizer for this process that demangles C++ names with the C++ runtime's demangler ({@link Demangler}:
     * the native library must be loaded).
     */
    public static NativeSymbolizer forCurrentProcessDemangled() {
        return forCurrentProcess(new NativeDemangler());
    }

    /*
     * The sources of the agent's symbolizer are classes, not method references: a lambda's hidden class and its call
     * site's method handles would stay in the application's JVM for good, walked by every full GC.
     */

    /** This process's maps, and the count of its library loads and unloads ({@link LoadedObjects#changes()}). */
    private static final class OwnProcess implements Supplier<ProcessMaps>, LongSupplier {
        final LongSupplier clock = new LongSupplier() {
            @Override
            public long getAsLong() {
                return System.nanoTime();
            }
        };

        @Override
        public ProcessMaps get() {
            return readOwnMaps();
        }

        @Override
        public long getAsLong() {
            return LoadedObjects.changes();
        }
    }

    private static final class NativeDemangler implements UnaryOperator<String> {
        @Override
        public String apply(String mangled) {
            return Demangler.demangle(mangled);
        }
    }

    /** What this symbolizer could not name for want of a readable file; counted since it was made. */
    public Unnamed unnamed() {
        long frames;
        synchronized (framesNotNamed) {
            frames = framesNotNamed.size();
        }
        return new Unnamed(frames, unreadableFiles.size(), firstError);
    }

    /** {@link #unnamed()} of the last symbolizer made for this process; nothing when there is none. */
    public static Unnamed unnamedInCurrentProcess() {
        NativeSymbolizer symbolizer = current;
        return symbolizer == null ? new Unnamed(0, 0, null) : symbolizer.unnamed();
    }

    private static ProcessMaps readOwnMaps() {
        try {
            return ProcessMaps.readSelf();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public NativeFrame symbolize(long address) {
        ProcessMaps seen = mapsAfterLoaderChanges();
        int index = seen.indexOf(address);
        if (index < 0) {
            // Libraries get loaded at run time: the address may be in one mapped since the last read.
            seen = refreshedMaps(seen);
            index = seen.indexOf(address);
        }
        String module = index < 0 ? null : seen.moduleName(index);
        if (module == null) {
            return NativeFrame.unknown(address);
        }
        Mapping mapping = seen.mapping(index);
        ModuleSymbols symbols = symbolsOf(mapping);
        if (symbols.error() != null) {
            countUnnamed(address, mapping.filePath(), symbols.error());
        }
        Optional<ElfSymbolIndex.Match> match = symbols.lookup(mapping, address);
        if (match.isEmpty()) {
            return new NativeFrame(address, null, mapping.fileOffsetOf(address), module, mapping.pathname());
        }
        return new NativeFrame(address, displayName(match.get().name()), match.get().offset(), module,
                mapping.pathname());
    }

    /**
     * Loads the symbols of the mapped files with one of these module names now, instead of in the first report that
     * names one of their frames: libjvm's table takes tens of milliseconds to index, which a short program's exit
     * report would otherwise add to its exit.
     */
    public void preload(Set<String> moduleNames) {
        for (Mapping mapping : mapsAfterLoaderChanges().mappings()) {
            if (mapping.isFile() && moduleNames.contains(mapping.moduleName())) {
                symbolsOf(mapping);
            }
        }
    }

    private ModuleSymbols symbolsOf(Mapping mapping) {
        // A deleted file's path may now name another file (or nothing): its symbols are not knowable.
        if (!mapping.isFile() || mapping.isDeleted()) {
            return ModuleSymbols.UNAVAILABLE;
        }
        // Not computeIfAbsent: its function would be a lambda (see OwnProcess).
        ModuleKey key = new ModuleKey(mapping.filePath(), mapping.inode());
        LazyModule module = MODULES.get(key);
        if (module == null) {
            LazyModule made = new LazyModule(key);
            module = MODULES.putIfAbsent(key, made);
            if (module == null) {
                module = made;
            }
        }
        return module.get();
    }

    private void countUnnamed(long address, String file, String error) {
        synchronized (framesNotNamed) {
            framesNotNamed.put(address, 0);
        }
        if (unreadableFiles.add(file)) {
            synchronized (unreadableFiles) {
                if (firstError == null) {
                    firstError = error;
                }
            }
        }
    }

    /**
     * The snapshot, read again first when a library was loaded or unloaded since it was read. A miss alone is no
     * sign of a stale snapshot: a library loaded late can land where an anonymous mapping was when the snapshot
     * was taken (a thread's stack, an arena, unmapped since), whose old entry still contains the address.
     */
    private ProcessMaps mapsAfterLoaderChanges() {
        long changes = loaderChanges.getAsLong();
        if (changes == mapsLoaderChanges) {
            return maps;
        }
        synchronized (refreshLock) {
            if (changes != mapsLoaderChanges) {
                // The count first: a library loaded while the maps are read makes the next call read them again.
                mapsLoaderChanges = changes;
                read(nanoClock.getAsLong());
            }
            return maps;
        }
    }

    /** A newer snapshot than {@code seen}, unless one was read too recently; at most one read per call. */
    private ProcessMaps refreshedMaps(ProcessMaps seen) {
        synchronized (refreshLock) {
            if (maps != seen) {
                return maps; // another thread refreshed while this one was looking
            }
            long now = nanoClock.getAsLong();
            if (now - nextRefreshNanos < 0) {
                return seen;
            }
            read(now);
            return maps;
        }
    }

    /** Under refreshLock. */
    private void read(long now) {
        nextRefreshNanos = now + MAPS_REFRESH_INTERVAL_NANOS;
        try {
            maps = mapsReader.get();
        } catch (RuntimeException e) {
            // Keep the old snapshot; the next miss after the interval, or the next library loaded, tries again.
        }
    }

    private String displayName(String name) {
        if (!name.startsWith("_Z")) {
            return name;
        }
        try {
            String demangled = demangler.apply(name);
            return demangled != null ? demangled : name;
        } catch (RuntimeException e) {
            // A demangler failure must not lose the frame; the mangled name is still informative.
            return name;
        }
    }
}
