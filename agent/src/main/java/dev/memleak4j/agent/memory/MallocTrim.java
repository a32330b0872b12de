package dev.memleak4j.agent.memory;

/**
 * Hands memory the process freed back to the kernel (glibc's {@code malloc_trim}, in native/src/malloc_trim_jni.c).
 * The agent's start-up and first report free megabytes (libbpf's copy of the kernel's BTF, the JIT compiling the
 * agent, Byte Buddy) that glibc would otherwise keep in its per-thread arenas, in the process's RSS, for good. The
 * agent calls it after the start and after each of the first reports only, so the application's own allocator is
 * left alone after. The native library must be loaded ({@code BpfTracker.open} loads it).
 */
public final class MallocTrim {
    private MallocTrim() {}

    public static void returnFreedMemory() {
        trim0();
    }

    private static native void trim0();
}
