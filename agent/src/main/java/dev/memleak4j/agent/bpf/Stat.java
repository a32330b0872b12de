package dev.memleak4j.agent.bpf;

/** The kernel side's counters, in the order of {@code enum stat} in bpf/memleak.h. */
public enum Stat {
    ALLOC_CALLS,
    ALLOC_SAMPLED,
    ALLOC_TRACKED,
    ALLOC_FAILED,
    DROPPED_ALLOCS_FULL,
    DROPPED_STACKS_FULL,
    DROPPED_STACK_ERROR,
    DROPPED_NO_PENDING,
    DROPPED_COMBINED_FULL,
    FREE_CALLS,
    FREE_TRACKED,
    BYTES_TRACKED,
    BYTES_FREED,
    IGNORED_CALLS,
    STALE_PENDING,
    JAVA_WALK_PARTIAL,
    STACKS_STORED,
    STACKS_FORGOTTEN,
    STACKS_RESTORED
}
