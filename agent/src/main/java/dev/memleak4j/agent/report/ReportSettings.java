package dev.memleak4j.agent.report;

/**
 * What a snapshot contains. Immutable: a change at run time makes a new one.
 *
 * @param top          stacks kept, most outstanding bytes first
 * @param showAllocs   list each outstanding allocation
 * @param olderMillis  only allocations at least this old
 * @param combinedOnly read only the kernel's per-stack counters
 * @param sampleRate   the sampling in force, to scale counts back
 */
public record ReportSettings(int top, boolean showAllocs, long olderMillis, boolean combinedOnly, long sampleRate) {}
