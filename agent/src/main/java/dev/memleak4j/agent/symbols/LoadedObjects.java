package dev.memleak4j.agent.symbols;

import dev.memleak4j.agent.nativelib.NativeLibraryLoader;

/**
 * How many shared objects this process's dynamic linker has loaded and unloaded so far (glibc's {@code dlpi_adds}
 * and {@code dlpi_subs}): a number that moves whenever a library comes or goes, read without reading a file.
 */
final class LoadedObjects {
    private static final boolean AVAILABLE = loadLibrary();

    private LoadedObjects() {}

    /** The count; -1, always, when libmemleak4j.so does not load. */
    static long changes() {
        return AVAILABLE ? changes0() : -1;
    }

    private static boolean loadLibrary() {
        try {
            NativeLibraryLoader.load();
            return true;
        } catch (LinkageError | IllegalStateException e) {
            return false; // the symbolizer then reads the maps again on misses only
        }
    }

    private static native long changes0();
}
