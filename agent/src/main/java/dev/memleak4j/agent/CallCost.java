package dev.memleak4j.agent;

import dev.memleak4j.agent.bpf.BpfTracker;
import dev.memleak4j.agent.probes.AllocatorCallCost;

/**
 * What the probes add to one allocator call of the application, timed on the starting thread around the attach:
 * the start line and the MBean say it, because it differs several-fold between hosts.
 */
final class CallCost {
    /** malloc/free pairs timed before and after a uprobe attach (~5 ms at 5 µs a trap, best of three runs each). */
    static final int UPROBE_PAIRS = 300;
    /** Pairs timed through the hooks: enough that the few sampled calls among them weigh what they will. */
    static final int HOOK_PAIRS = 20_000;

    private final BpfTracker tracker;
    private final int pairs;
    private final double pairBefore;

    private CallCost(BpfTracker tracker, int pairs) {
        this.tracker = tracker;
        this.pairs = pairs;
        this.pairBefore = AllocatorCallCost.pairNanos(pairs);
    }

    /** Times {@code pairs} malloc/free pairs now, before the attach. */
    static CallCost before(BpfTracker tracker, int pairs) {
        return new CallCost(tracker, pairs);
    }

    /**
     * ns added to one call: the same pairs timed again after the attach, with the starting thread ignored by the
     * kernel side so that its programs return at once (the trap, or the hook and the trap of the sampled calls, is
     * what is left). 0 when it could not be told.
     */
    double afterAttach() {
        try {
            // Ignored before anything runs after the attach: what linking the calls below allocates is not tracked.
            tracker.ignoreCurrentThread(true);
            try {
                double pairAfter = AllocatorCallCost.pairNanos(pairs);
                return pairBefore > 0 && pairAfter > pairBefore ? (pairAfter - pairBefore) / 2 : 0;
            } finally {
                tracker.ignoreCurrentThread(false);
            }
        } catch (RuntimeException | LinkageError e) {
            return 0;
        }
    }
}
