package dev.memleak4j.agent.report;

import dev.memleak4j.agent.bpf.AllocationTable;
import dev.memleak4j.agent.bpf.BpfTracker;
import dev.memleak4j.agent.jni.JavaStack;
import dev.memleak4j.agent.jni.JniMarks;
import dev.memleak4j.agent.stacks.StackResolver;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Reads the kernel's maps and groups what is outstanding by stack into a {@link Snapshot}. */
public final class SnapshotCollector {
    /** show-allocs lists at most this many addresses per stack, and says how many it left out. */
    public static final int MAX_LISTED_ALLOCATIONS = 10_000;
    private final BpfTracker tracker;
    private final StackResolver resolver;
    private final Instant trackingSince;

    public SnapshotCollector(BpfTracker tracker, StackResolver resolver, Instant trackingSince) {
        this.tracker = tracker;
        this.resolver = resolver;
        this.trackingSince = trackingSince;
    }

    public Snapshot collect(ReportSettings settings) {
        List<Group> groups = settings.combinedOnly() ? fromCounters() : fromAllocations(settings);
        groups.sort(Comparator.comparingLong((Group g) -> g.estimatedBytes).reversed()
                .thenComparingLong(Group::reportId));
        long totalBytes = 0;
        long totalCount = 0;
        for (Group group : groups) {
            totalBytes += group.estimatedBytes;
            totalCount += group.estimatedCount();
        }
        List<StackReport> top = new ArrayList<>();
        for (Group group : groups.subList(0, Math.min(settings.top(), groups.size()))) {
            top.add(new StackReport(group.reportId(), group.estimatedBytes, group.estimatedCount(), group.count,
                    group.bytes,
                    group.oldestAgeNanos, JniMarks.merge(resolver.resolve(tracker.readStack(group.stackId)),
                    group.java), group.allocations));
        }
        return new Snapshot(Instant.now(), List.copyOf(top), groups.size(), totalBytes, totalCount,
                settings.sampleRate(), settings.sampleBytes(), tracker.readStats(), trackingSince, settings.top());
    }

    private List<Group> fromCounters() {
        JniMarks marks = JniMarks.active();
        if (marks != null) {
            marks.prune(marks.pruneBegin(), new long[0]); // the counters carry no marks: nothing to bind
        }
        List<Group> groups = new ArrayList<>();
        for (BpfTracker.StackCounters counters : tracker.readCombined()) {
            if (counters.count() > 0) {
                Group group = new Group(counters.stackId());
                group.bytes = counters.bytes();
                group.count = counters.count();
                group.estimatedBytes = counters.estimatedBytes();
                group.estimatedCountMilli = counters.estimatedCountMilli();
                groups.add(group);
            }
        }
        return groups;
    }

    private List<Group> fromAllocations(ReportSettings settings) {
        JniMarks marks = JniMarks.active();
        long pruneBegin = marks != null ? marks.pruneBegin() : 0;
        AllocationTable table = tracker.readAllocations();
        long now = System.nanoTime();
        long olderNanos = TimeUnit.MILLISECONDS.toNanos(settings.olderMillis());
        // Grouped by native stack and, for allocations made inside a wrapped JNI method, by its Java callers.
        Map<GroupKey, Group> byStack = new HashMap<>();
        Map<Long, Boolean> reachesJava = new HashMap<>();
        long[] seenMarks = new long[marks != null ? 16 : 0];
        int seen = 0;
        for (int i = 0; i < table.size(); i++) {
            long mark = table.javaMark(i);
            JavaStack java = null;
            if (mark != 0 && marks != null) {
                if (seen == seenMarks.length) {
                    seenMarks = Arrays.copyOf(seenMarks, seen * 2);
                }
                seenMarks[seen++] = mark;
                java = marks.callerOf(mark);
            }
            long age = now - table.timestampNanos(i);
            if (age < olderNanos) {
                continue;
            }
            if (java != null && reachesJava.computeIfAbsent(table.stackId(i),
                    id -> JniMarks.reachesJava(resolver.resolve(tracker.readStack(id))))) {
                java = null; // the walk has the Java frames itself: one group per native stack, as without marks
            }
            JavaStack callers = java;
            Group group = byStack.computeIfAbsent(new GroupKey(table.stackId(i), java),
                    key -> new Group(key.stackId(), callers));
            group.bytes += table.bytes(i);
            group.count++;
            group.estimatedBytes += table.estimatedBytes(i);
            group.estimatedCountMilli += table.estimatedCountMilli(i);
            group.oldestAgeNanos = Math.max(group.oldestAgeNanos, age);
            if (settings.showAllocs()) {
                group.add(i);
            }
        }
        if (settings.showAllocs()) {
            for (Group group : byStack.values()) {
                group.listAllocations(table, now);
            }
        }
        if (marks != null) {
            long[] sorted = Arrays.copyOf(seenMarks, seen);
            Arrays.sort(sorted);
            marks.prune(pruneBegin, sorted);
        }
        return new ArrayList<>(byStack.values());
    }

    /** A native stack and, when the allocation was made in a wrapped JNI call, its Java callers (interned). */
    private record GroupKey(long stackId, JavaStack java) {}

    private static final class Group {
        final long stackId;
        /** The Java callers bound to the allocations' JNI mark, or null. */
        final JavaStack java;
        long bytes;
        long count;
        long estimatedBytes;
        long estimatedCountMilli;
        long oldestAgeNanos = -1;
        int[] rows = new int[0];
        int rowCount;
        List<Allocation> allocations = List.of();

        Group(long stackId) {
            this(stackId, null);
        }

        Group(long stackId, JavaStack java) {
            this.stackId = stackId;
            this.java = java;
        }

        /** The stack's id in reports: the native stack's, mixed with its Java callers' when there are some. */
        long reportId() {
            return java == null ? stackId : (stackId ^ (java.hash() * 0x9E3779B97F4A7C15L)) | 1;
        }

        long estimatedCount() {
            return (estimatedCountMilli + 500) / 1000;
        }

        void add(int row) {
            if (rowCount == rows.length) {
                rows = Arrays.copyOf(rows, Math.max(8, rowCount * 2));
            }
            rows[rowCount++] = row;
        }

        void listAllocations(AllocationTable table, long now) {
            List<Allocation> list = new ArrayList<>(Math.min(rowCount, MAX_LISTED_ALLOCATIONS));
            for (int i = 0; i < rowCount; i++) {
                int row = rows[i];
                list.add(new Allocation(table.address(row), table.bytes(row), now - table.timestampNanos(row)));
            }
            list.sort(Comparator.comparingLong(Allocation::size).reversed().thenComparingLong(Allocation::address));
            allocations = List.copyOf(list.subList(0, Math.min(list.size(), MAX_LISTED_ALLOCATIONS)));
            rows = null;
        }
    }
}
