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

    /** 1 when the library's own GOT slot for malloc holds the allocator's malloc, 0 when it holds a hook. */
    public static native int mallocSlotIsTheAllocators();

    public static native void release(long block);

    /** malloc, realloc and free of assorted sizes, {@code iterations} times. */
    public static native void churn(int iterations);

    /** One block of {@code size} bytes, never freed. */
    public static native long leak(long size);
}
