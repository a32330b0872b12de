package dev.memleak4j.it.programs;

/** The JNI library built without frame pointers (src/test/c/nofp.c). */
public final class NoFpLib {
    static {
        System.load(System.getProperty("nofp.library"));
    }

    private NoFpLib() {}

    /** Leaks {@code size} bytes through two nested C functions; returns the block's address (0 on failure). */
    public static native long leak(long size);

    /**
     * Leaks {@code size} bytes while {@code rbp} points at data that holds an address in the library's code, one of
     * 8 by {@code landing}: the frame-pointer walk reads it as the next return address.
     */
    public static native long leakThroughData(long size, int landing);
}
