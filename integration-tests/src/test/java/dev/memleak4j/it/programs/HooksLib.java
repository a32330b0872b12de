package dev.memleak4j.it.programs;

import java.nio.file.Paths;

/**
 * The hooks tests' JNI library (src/test/c/hookstest.c), loaded when this class is first used: after the agent
 * started, so its import table is redirected by the agent's dlopen hook, not at the start.
 */
public final class HooksLib {
    /** libdlopened.so, which {@link #viaDlopened} loads from C. */
    public static final String DLOPENED = sibling("libdlopened.so");

    static {
        System.load(sibling("libhookstest.so"));
    }

    private HooksLib() {}

    private static String sibling(String name) {
        return Paths.get(System.getProperty("leaktest.library")).resolveSibling(name).toString();
    }

    /** strdup of a string of {@code length} characters: libc allocates {@code length + 1} bytes. */
    public static native long viaStrdup(int length);

    /** Loads {@code path} with dlopen from C and allocates {@code size} bytes in it. */
    public static native long viaDlopened(String path, long size);

    /**
     * Where the library's own GOT slots for malloc and dlsym point: {@code malloc=FILE dlsym=FILE}, each FILE the
     * library holding the function (libc.so.6, or libmemleak4j.so while they hold a hook).
     */
    public static native String slotTargets();

    /** 1 when {@code dlsym(RTLD_DEFAULT)} from the library finds the library's own symbol (loaded RTLD_LOCAL). */
    public static native int findsOwnSymbol();

    /** {@code size} bytes from the malloc that {@code dlsym(RTLD_DEFAULT, "malloc")} returns. */
    public static native long viaDlsym(long size);

    /** Frees {@code block} with the free that {@code dlsym(RTLD_DEFAULT, "free")} returns. */
    public static native void releaseViaDlsym(long block);

    public static native void release(long block);

    /** malloc, realloc and free of assorted sizes, {@code iterations} times. */
    public static native void churn(int iterations);

    /** One block of {@code size} bytes, never freed. */
    public static native long leak(long size);
}
