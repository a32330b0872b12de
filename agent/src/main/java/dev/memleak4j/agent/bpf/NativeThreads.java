package dev.memleak4j.agent.bpf;

/**
 * The calling thread as the kernel sees it (native/src/native_threads_jni.c): its thread id, which the BPF maps are
 * keyed by, and its scheduling priority. The native library must be loaded ({@link BpfTracker#open} loads it).
 */
public final class NativeThreads {
    private NativeThreads() {}

    /** The calling thread's kernel thread id. */
    public static int currentId() {
        return currentId0();
    }

    /**
     * Lowers the calling thread's scheduling priority to nice 10, so that its work yields to the application's
     * threads when they compete for a CPU. False when the kernel refused.
     */
    public static boolean runCurrentInBackground() {
        return runCurrentInBackground0();
    }

    /**
     * Back to the application's scheduling priority (its first thread's): for work the application then waits for,
     * as the exit report. False when the kernel refused (raising a priority needs CAP_SYS_NICE).
     */
    public static boolean runCurrentInForeground() {
        return runCurrentInForeground0();
    }

    private static native int currentId0();

    private static native boolean runCurrentInBackground0();

    private static native boolean runCurrentInForeground0();
}
