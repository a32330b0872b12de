package dev.memleak4j.agent.report;

/** One outstanding allocation, as {@code show-allocs} lists it. */
public record Allocation(long address, long size, long ageNanos) {}
