package dev.memleak4j.agent.probes;

/**
 * What the probes add to one allocator call of this process, timed on the calling thread
 * (native/src/allocator_call_cost_jni.c). The native library must be loaded ({@code BpfTracker.open} loads it).
 */
public final class AllocatorCallCost {
    private AllocatorCallCost() {}

    /**
     * ns per malloc(64)/free pair on the calling thread (best of three runs of {@code pairs}); with the probes on and
     * the thread ignored, the difference to a run before they were attached is what the traps add to every call
     * (with probe-mode=hooks the pairs go through the hooks: the hook, and the traps of the sampled calls).
     */
    public static double pairNanos(int pairs) {
        return pairNanos0(pairs);
    }

    private static native double pairNanos0(int pairs);
}
