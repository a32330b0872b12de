package dev.memleak4j.agent.owners;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The owners counted for one group of blocks (a stack) during a report's pass; not thread-safe. */
public final class OwnerTally {
    private final Map<String, long[]> byClass = new HashMap<>(4);

    void add(String className, OwnerRegistry.State state) {
        byClass.computeIfAbsent(className, name -> new long[3])[state.ordinal()]++;
    }

    /** Adds {@code other}'s counts (two kernel stacks the report shows as one); {@code other} may be null. */
    public OwnerTally absorb(OwnerTally other) {
        if (other != null) {
            other.byClass.forEach((name, counts) -> {
                long[] into = byClass.computeIfAbsent(name, n -> new long[3]);
                for (int i = 0; i < counts.length; i++) {
                    into[i] += counts[i];
                }
            });
        }
        return this;
    }

    /** By class name; empty when no block of the group had a known owner. */
    public List<OwnerCount> counts() {
        List<OwnerCount> counts = new ArrayList<>(byClass.size());
        byClass.forEach((name, c) -> counts.add(new OwnerCount(name, c[OwnerRegistry.State.LIVE.ordinal()],
                c[OwnerRegistry.State.UNREACHABLE.ordinal()], c[OwnerRegistry.State.AWAITING_CLEANER.ordinal()])));
        counts.sort(Comparator.comparing(OwnerCount::className));
        return List.copyOf(counts);
    }
}
