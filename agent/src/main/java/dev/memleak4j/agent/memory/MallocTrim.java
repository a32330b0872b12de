package dev.memleak4j.agent.memory;

/**
 * Hands memory the process freed back to the kernel (glibc's {@code malloc_trim}, in native/src/malloc_trim_jni.c).
 * The agent's start-up frees megabytes (libbpf's copy of the kernel's BTF, the JIT compiling the agent, Byte Buddy)
 * that glibc would otherwise keep in its per-thread arenas, in the process's RSS, for good. The agent calls it once,
 * at the end of its start, and never later: it trims the application's arenas too, whose retention the memory
 * verdict reads. The native library must be loaded ({@code BpfTracker.open} loads it).
 */
public final class MallocTrim {
    private MallocTrim() {}

    public static void returnFreedMemory() {
        trim0();
    }

    private static native void trim0();
}
