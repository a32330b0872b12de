package dev.memleak4j.agent.report;

import dev.memleak4j.agent.bpf.AllocationTable;
import dev.memleak4j.agent.bpf.BpfTracker;
import dev.memleak4j.agent.jnimarks.JavaStack;
import dev.memleak4j.agent.jnimarks.JniMarks;
import dev.memleak4j.agent.lang.LongLongMap;
import dev.memleak4j.agent.lang.LongObjectMap;
import dev.memleak4j.agent.leaks.LeakDetector;
import dev.memleak4j.agent.memory.MemoryVerdict;
import dev.memleak4j.agent.memory.ProcessMemory;
import dev.memleak4j.agent.nativelib.JvmManagement;
import dev.memleak4j.agent.owners.OwnerCount;
import dev.memleak4j.agent.owners.OwnerRegistry;
import dev.memleak4j.agent.owners.OwnerTally;
import dev.memleak4j.agent.owners.Owners;
import dev.memleak4j.agent.stacks.Frame;
import dev.memleak4j.agent.stacks.JvmCode;
import dev.memleak4j.agent.stacks.JvmCodeMap;
import dev.memleak4j.agent.stacks.StackIdentity;
import dev.memleak4j.agent.stacks.StackResolver;
import dev.memleak4j.agent.stacks.WalkedStackTrimmer;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import java.util.function.LongPredicate;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;
import java.util.function.ToLongFunction;

/**
 * Reads the kernel's maps and groups what is outstanding by stack into a {@link Snapshot}: by the kernel's stack id,
 * then by the stack cut at its last trustworthy frame ({@link WalkedStackTrimmer}), then by what its frames name
 * ({@link StackIdentity}), whose id every output and the leak detector's history use.
 */
public final class SnapshotCollector {
    /** show-allocs lists at most this many addresses per stack, and says how many it left out. */
    public static final int MAX_LISTED_ALLOCATIONS = 10_000;
    /**
     * A snapshot with every stack carries at most this many stacks that allocated since the baseline and hold nothing
     * now (the most bytes allocated first), and says how many there were: the kernel's stack map holds 16,384 stacks
     * by default, so this cuts only when max-stacks is raised.
     */
    public static final int MAX_FREED_STACKS = 16_384;
    /** The group of the stacks forgotten while they held nothing: even, so no kernel stack id (always odd) is it. */
    static final long FORGOTTEN_STACKS = 2;
    private static final List<Frame> FORGOTTEN_STACKS_FRAMES = List.of(
            new Frame(0, Frame.Kind.UNKNOWN, "[stacks forgotten while they held nothing]", null, 0));
    /*
     * The orders are written out, not chained from Comparator.comparingLong(...).reversed().thenComparing...: each
     * link of such a chain is a lambda, whose first use leaves a hidden class and its method handles in the
     * application's JVM for good (every full GC walks them).
     */
    /** show-allocs: the largest blocks first, then by address. */
    private static final Comparator<Allocation> LISTING_ORDER = new Comparator<>() {
        @Override
        public int compare(Allocation a, Allocation b) {
            int bySize = Long.compare(b.size(), a.size());
            return bySize != 0 ? bySize : Long.compare(a.address(), b.address());
        }
    };
    /** The most outstanding bytes first, then by report id. */
    private static final Comparator<Group> MOST_OUTSTANDING = new Comparator<>() {
        @Override
        public int compare(Group a, Group b) {
            int byBytes = Long.compare(b.estimatedBytes, a.estimatedBytes);
            return byBytes != 0 ? byBytes : Long.compare(a.reportId(), b.reportId());
        }
    };
    /** The most bytes allocated since the baseline first, then by report id. */
    private static final Comparator<Group> MOST_ALLOCATED = new Comparator<>() {
        @Override
        public int compare(Group a, Group b) {
            int byBytes = Long.compare(b.allocatedBytes, a.allocatedBytes);
            return byBytes != 0 ? byBytes : Long.compare(a.reportId(), b.reportId());
        }
    };
    /** byFrames' carrier first: the most outstanding, the most allocated, the smallest stack id, Java callers' hash. */
    private static final Comparator<Group> CARRIER_FIRST = new Comparator<>() {
        @Override
        public int compare(Group a, Group b) {
            int order = Long.compare(b.estimatedBytes, a.estimatedBytes);
            if (order == 0) {
                order = Long.compare(b.allocatedBytes, a.allocatedBytes);
            }
            if (order == 0) {
                order = Long.compare(a.stackId, b.stackId);
            }
            return order != 0 ? order : Long.compare(javaHash(a), javaHash(b));
        }
    };

    private static long javaHash(Group group) {
        return group.java == null ? 0 : group.java.hash();
    }
    private final BpfTracker tracker;
    private final StackResolver resolver;
    /** Remembered ids of groups by frames at most; beyond, the memory starts over. */
    private static final int MAX_REMEMBERED_IDS = 1 << 17;
    private final WalkedStackTrimmer trimmer;
    /**
     * The id by frames of each cut stack, once it is settled: resolving is the costly part. Without Java callers (by
     * far the most) in a primitive map, which stays two arrays from report to report however many stacks there are;
     * with Java callers (JNI marks) by key.
     */
    private final LongLongMap idsByFrames = new LongLongMap();
    private final Map<GroupKey, Long> idsByFramesAndCallers = new HashMap<>();
    /** The callbacks the passes hand out: made once, one class (each lambda or method reference is a hidden class). */
    private final Callbacks callbacks = new Callbacks();
    private final Instant trackingSince;
    /** The byte-sampling interval in force ({@code sampling.TrackingBudget} holds it). */
    private final LongSupplier sampleBytesNow;
    private final LeakDetector leaks;
    private final MemoryVerdict.Watch memory;
    private final boolean nmtOn;
    /** The JIT's total compilation time and the classes loaded at the last periodic report. */
    private long compilationMillis = -1;
    private long loadedClasses = -1;
    /**
     * What the per-stack counters the last periodic report read had allocated, what a reset of the baseline starts
     * from: (kernel stack id, bytes, count/1000) triples, not the counters' records, kept until the next report.
     */
    private long[] lastAllocated = new long[0];
    /** Per kernel stack id, bytes and count/1000 allocated up to the baseline; empty for the probes' attach. */
    private LongLongMap allocatedBytesAtBaseline = new LongLongMap();
    private LongLongMap allocatedCountMilliAtBaseline = new LongLongMap();
    private final StackForgetting forgetting;
    /**
     * What the stacks forgotten with their counters had allocated since the baseline (bytes, count/1000): the views'
     * allocated totals keep it, under {@link #FORGOTTEN_STACKS} (with combined-only, the counters stay, and go there
     * report by report).
     */
    private long forgottenAllocatedBytes;
    private long forgottenAllocatedCountMilli;
    /** The kernel stack ids that what the last pass read names (outstanding allocations, or counters), sorted. */
    private long[] referencedStackIds = new long[0];

    /**
     * @param leakWindowSeconds how far back the leak suspects and the memory verdict look
     * @param maxStacks         the kernel's stack map's capacity (max-stacks)
     */
    public SnapshotCollector(BpfTracker tracker, StackResolver resolver, Instant trackingSince, long leakWindowSeconds,
                             long maxStacks, LongSupplier sampleBytesNow) {
        this.tracker = tracker;
        this.forgetting = new StackForgetting(tracker, maxStacks);
        this.sampleBytesNow = sampleBytesNow;
        this.resolver = resolver;
        this.trimmer = new WalkedStackTrimmer(new JvmCodes(resolver));
        this.trackingSince = trackingSince;
        this.leaks = new LeakDetector(leakWindowSeconds);
        this.memory = new MemoryVerdict.Watch(leakWindowSeconds, trackingSince);
        this.nmtOn = ProcessMemory.nmtOn();
    }

    /** A snapshot of the top stacks on demand (JMX, JFR): its stacks and counters, without leak suspects. */
    public Snapshot collect(ReportSettings settings) {
        return collect(settings, false, false, false);
    }

    /** When the probes whose allocations this collector reads were attached. */
    public Instant trackingSince() {
        return trackingSince;
    }

    /**
     * A snapshot on demand (JMX, JFR): the top stacks and, with {@code allStacks}, every other stack too (flame
     * graph, pprof, JFR file: they come from the same pass over the kernel's maps); no leak suspects.
     */
    public Snapshot collect(ReportSettings settings, boolean allStacks) {
        return collect(settings, allStacks, false, false);
    }

    /**
     * The periodic report's snapshot: as {@link #collect(ReportSettings, boolean)}, and every stack's totals go into
     * the leak detector's history, whose suspects the snapshot carries, with the verdict on the process's memory. Only
     * the reporter calls this, once per report, so the histories have one point per interval.
     */
    public Snapshot collectForReport(ReportSettings settings, boolean allStacks) {
        return collect(settings, allStacks, true, true);
    }

    /** The exit report's snapshot: as a periodic report's, without forgetting stacks (nothing comes after it). */
    public Snapshot collectForExitReport(ReportSettings settings, boolean allStacks) {
        return collect(settings, allStacks, true, false);
    }

    /**
     * The allocated-since-the-baseline values (pprof's alloc_*) start over at the last periodic report, as the
     * reporting surfaces' baseline does (resetBaseline).
     */
    public synchronized void resetAllocatedBaseline() {
        LongLongMap bytes = new LongLongMap();
        LongLongMap countMilli = new LongLongMap();
        for (int i = 0; i < lastAllocated.length; i += 3) {
            bytes.put(lastAllocated[i], lastAllocated[i + 1]);
            countMilli.put(lastAllocated[i], lastAllocated[i + 2]);
        }
        allocatedBytesAtBaseline = bytes;
        allocatedCountMilliAtBaseline = countMilli;
        forgottenAllocatedBytes = 0;
        forgottenAllocatedCountMilli = 0;
    }

    /**
     * Synchronized: the reporter and JMX clients may ask at once, and the stack trimmer is not thread-safe.
     * {@code forgetStacks}: whether idle stacks may be forgotten ({@link StackForgetting}), at periodic reports only.
     */
    private synchronized Snapshot collect(ReportSettings settings, boolean allStacks, boolean forReport,
                                          boolean forgetStacks) {
        JvmCodeMap.beginReadPass();
        try {
            return collectNow(settings, allStacks, forReport, forgetStacks);
        } finally {
            JvmCodeMap.endReadPass();
            // A report names its top stacks and the stacks new since the last (ids by frames are remembered): the
            // names are cheap to find again, and kept until the next report they would only be more for every full
            // GC of the application to mark. Kept when every stack was named (flame graph, pprof, JFR file): the
            // next such report names them all again.
            if (!allStacks) {
                resolver.forgetNames();
            }
        }
    }

    private Snapshot collectNow(ReportSettings settings, boolean allStacks, boolean forReport, boolean forgetStacks) {
        trimmer.newReport();
        BpfTracker.StackCounters[] counters = settings.combinedOnly() ? tracker.readCombined() : null;
        List<Group> raw = settings.combinedOnly() ? fromCounters(counters) : fromAllocations(settings);
        if (counters == null) {
            // Read after the allocations: a block made in between is in alloc_* and not yet in inuse_*, so a stack
            // never shows more in use than it allocated.
            counters = tracker.readCombined();
        }
        long[] allocatedBefore = lastAllocated;
        if (forReport) {
            forgetting.settle(referencedStackIds);
            lastAllocated = allocatedOf(counters);
        }
        // The allocated-since-baseline counters are per kernel stack: added before stacks that name the same code
        // become one group, so that the group's alloc_* are the sum of its members'.
        List<Group> everyGroup = new ArrayList<>(raw);
        everyGroup.addAll(addAllocated(raw, counters));
        List<Group> groups = new ArrayList<>();
        List<Group> freed = new ArrayList<>();
        for (Group group : byFrames(everyGroup, callbacks)) {
            (group.count > 0 || group.estimatedCountMilli > 0 ? groups : freed).add(group);
        }
        groups.sort(MOST_OUTSTANDING);
        long totalBytes = 0;
        long totalCount = 0;
        for (Group group : groups) {
            totalBytes += group.estimatedBytes;
            totalCount += group.estimatedCount();
        }
        int top = Math.min(settings.top(), groups.size());
        List<StackReport> reports = new ArrayList<>(allStacks ? groups.size() : top);
        for (int i = 0; i < (allStacks ? groups.size() : top); i++) {
            Group group = groups.get(i);
            reports.add(new StackReport(group.reportId(), group.estimatedBytes, group.estimatedCount(), group.count,
                    group.bytes, group.oldestAgeNanos, frames(group), i < top ? group.listed() : List.of(),
                    group.allocatedBytes, group.allocatedCount()));
        }
        List<StackReport> every = List.copyOf(reports);
        List<StackReport> freedReports = new ArrayList<>();
        if (allStacks) {
            freed.sort(MOST_ALLOCATED);
            for (Group group : freed.subList(0, Math.min(freed.size(), MAX_FREED_STACKS))) {
                freedReports.add(new StackReport(group.reportId(), 0, 0, 0, 0, -1, frames(group), List.of(),
                        group.allocatedBytes, group.allocatedCount()));
            }
        }
        Instant time = Instant.now();
        LeakDetector.Verdicts verdicts = forReport ? suspects(time, groups) : null;
        MemoryVerdict verdict = forReport ? memory.update(ProcessMemory.readNow(totalBytes, nmtOn), verdicts) : null;
        long[] stats = tracker.readStats();
        if (forgetStacks) {
            startAllocatedOver(forgetting.forgetIdle(counters, allocatedBefore, referencedStackIds, stats,
                    settings.combinedOnly()), counters);
        }
        return new Snapshot(time, every.subList(0, top), groups.size(), totalBytes, totalCount,
                settings.sampleRate(), settings.sampleBytes(), sampleBytesNow.getAsLong(), stats, trackingSince,
                settings.top(), every, List.copyOf(freedReports), allStacks ? freed.size() : -1, false, verdicts,
                verdict);
    }

    /**
     * The stacks of {@code forgotten} were taken out of the kernel's maps with their counters: what they allocated
     * since the baseline goes to {@link #FORGOTTEN_STACKS}, and if one allocates again, its counters start from zero,
     * and so must what its allocated-since-the-baseline is counted from.
     */
    private void startAllocatedOver(long[] forgotten, BpfTracker.StackCounters[] counters) {
        if (forgotten.length == 0) {
            return;
        }
        for (BpfTracker.StackCounters c : counters) {
            if (Arrays.binarySearch(forgotten, c.stackId()) >= 0) {
                forgottenAllocatedBytes += c.allocatedBytes() - allocatedBytesAtBaseline.get(c.stackId(), 0);
                forgottenAllocatedCountMilli += c.allocatedCountMilli()
                        - allocatedCountMilliAtBaseline.get(c.stackId(), 0);
            }
        }
        for (int i = 0; i < lastAllocated.length; i += 3) {
            if (Arrays.binarySearch(forgotten, lastAllocated[i]) >= 0) {
                lastAllocated[i + 1] = 0;
                lastAllocated[i + 2] = 0;
            }
        }
        for (long id : forgotten) {
            if (allocatedCountMilliAtBaseline.containsKey(id)) {
                allocatedBytesAtBaseline.put(id, 0);
                allocatedCountMilliAtBaseline.put(id, 0);
            }
        }
    }

    private static long[] allocatedOf(BpfTracker.StackCounters[] counters) {
        long[] allocated = new long[3 * counters.length];
        for (int i = 0; i < counters.length; i++) {
            allocated[3 * i] = counters[i].stackId();
            allocated[3 * i + 1] = counters[i].allocatedBytes();
            allocated[3 * i + 2] = counters[i].allocatedCountMilli();
        }
        return allocated;
    }

    private List<Frame> frames(Group group) {
        if (group.stackId == FORGOTTEN_STACKS) {
            return FORGOTTEN_STACKS_FRAMES;
        }
        return JniMarks.merge(resolver.resolve(framesOf(group.stackId)), group.java);
    }

    /** Whether the JIT compiled or classes were loaded since the last periodic report (the JVM's own growth). */
    private boolean jvmCompiledOrLoadedClasses() {
        long compiling;
        try {
            compiling = JvmManagement.compileMillis();
        } catch (RuntimeException | LinkageError e) {
            compiling = -1;
        }
        long classes = JvmManagement.loadedClasses();
        boolean busy = compiling != compilationMillis || classes != loadedClasses;
        compilationMillis = compiling;
        loadedClasses = classes;
        return busy;
    }

    /** Every stack into the leak detector; the suspects it finds, named. */
    private LeakDetector.Verdicts suspects(Instant time, List<Group> groups) {
        List<LeakDetector.StackTotals> totals = new ArrayList<>(groups.size());
        GroupsById byId = new GroupsById();
        for (Group group : groups) {
            totals.add(new LeakDetector.StackTotals(group.reportId(), group.estimatedBytes, group.estimatedCount(),
                    group.oldestAgeNanos));
            byId.groups.put(group.reportId(), group);
        }
        LeakDetector.Verdicts named = leaks.name(leaks.update(time, totals), byId, jvmCompiledOrLoadedClasses());
        return named.withOwners(byId.owners);
    }

    /** A report's groups by their id: their frames, and the owners of their blocks, for the suspects. */
    private final class GroupsById implements LongFunction<List<Frame>> {
        final LongObjectMap<Group> groups = new LongObjectMap<>();
        final LongFunction<List<OwnerCount>> owners = new LongFunction<>() {
            @Override
            public List<OwnerCount> apply(long id) {
                OwnerTally tally = groups.get(id).owners;
                return tally == null ? List.of() : tally.counts();
            }
        };

        @Override
        public List<Frame> apply(long id) {
            return frames(groups.get(id));
        }
    }

    /** The stack id the report groups by: the kernel's, or a shared one when a garbage tail was cut off. */
    private long canonicalId(long stackId) {
        return trimmer.canonicalId(stackId, callbacks);
    }

    /**
     * The id of a group's frames ({@link StackIdentity}); remembered once the cut of its stack is settled, so that
     * a stack is resolved once, not at every report.
     */
    private long idByFrames(Group group) {
        if (group.stackId == 0 && group.java == null) {
            return 0; // allocations whose stack the kernel could not store: no frames, the id says so
        }
        GroupKey key = null;
        if (group.java == null) {
            if (idsByFrames.containsKey(group.stackId)) {
                return idsByFrames.get(group.stackId, 0);
            }
        } else {
            key = new GroupKey(group.stackId, group.java);
            Long known = idsByFramesAndCallers.get(key);
            if (known != null) {
                return known;
            }
        }
        long id = StackIdentity.of(frames(group));
        if (trimmer.settled(group.stackId)) {
            if (idsByFrames.size() + idsByFramesAndCallers.size() >= MAX_REMEMBERED_IDS) {
                idsByFrames.clear();
                idsByFramesAndCallers.clear();
            }
            if (key == null) {
                idsByFrames.put(group.stackId, id);
            } else {
                idsByFramesAndCallers.put(key, id);
            }
        }
        return id;
    }

    /** The frames of an id from {@link #canonicalId}. */
    private long[] framesOf(long canonicalId) {
        long[] frames = trimmer.framesOf(canonicalId);
        return frames != null ? frames : tracker.readStack(canonicalId);
    }

    /**
     * Gives each group what its stack allocated since the baseline, from the kernel's per-stack counters, which know
     * the native stack only: a stack whose outstanding blocks have one set of Java callers (or none) shows it there;
     * one whose blocks were bound to several shows it on the native stack alone (a group without Java callers, made
     * when there is none). Returns those made groups that hold nothing: stacks whose blocks were all freed.
     */
    private List<Group> addAllocated(List<Group> groups, BpfTracker.StackCounters[] counters) {
        LongObjectMap<long[]> allocated = new LongObjectMap<>();
        List<long[]> byStack = new ArrayList<>();
        long forgottenBytes = forgottenAllocatedBytes;
        long forgottenCountMilli = forgottenAllocatedCountMilli;
        for (BpfTracker.StackCounters c : counters) {
            long bytes = c.allocatedBytes() - allocatedBytesAtBaseline.get(c.stackId(), 0);
            long countMilli = c.allocatedCountMilli() - allocatedCountMilliAtBaseline.get(c.stackId(), 0);
            if (countMilli <= 0) {
                continue;
            }
            if (forgetting.forgottenKeepingCounters(c.stackId(), c.allocatedCountMilli())) {
                forgottenBytes += bytes;
                forgottenCountMilli += countMilli;
                continue;
            }
            long id = canonicalId(c.stackId());
            long[] sum = allocated.get(id);
            if (sum == null) {
                sum = new long[] {id, 0, 0};
                allocated.put(id, sum);
                byStack.add(sum);
            }
            sum[1] += bytes;
            sum[2] += countMilli;
        }
        // Per stack id: its one group, or the group without Java callers when there are several.
        LongObjectMap<Group> target = new LongObjectMap<>();
        LongObjectMap<Group> shared = new LongObjectMap<>();
        for (Group group : groups) {
            if (allocated.get(group.stackId) == null) {
                continue;
            }
            if (target.get(group.stackId) != null) {
                shared.put(group.stackId, group);
            }
            if (group.java == null || target.get(group.stackId) == null) {
                target.put(group.stackId, group);
            }
        }
        List<Group> freed = new ArrayList<>();
        for (long[] sum : byStack) {
            Group group = target.get(sum[0]);
            if (group == null || (shared.get(sum[0]) != null && group.java != null)) {
                group = new Group(sum[0], null);
                freed.add(group);
            }
            group.allocatedBytes = sum[1];
            group.allocatedCountMilli = sum[2];
        }
        if (forgottenCountMilli > 0) {
            Group forgotten = new Group(FORGOTTEN_STACKS, null);
            forgotten.allocatedBytes = forgottenBytes;
            forgotten.allocatedCountMilli = forgottenCountMilli;
            freed.add(forgotten);
        }
        return freed;
    }

    private List<Group> fromCounters(BpfTracker.StackCounters[] counters) {
        JniMarks marks = JniMarks.active();
        if (marks != null) {
            marks.prune(marks.pruneBegin(), new long[0]); // the counters carry no marks: nothing to bind
        }
        LongObjectMap<Group> groups = new LongObjectMap<>();
        LongLongMap referenced = new LongLongMap();
        for (BpfTracker.StackCounters stack : counters) {
            if (stack.count() != 0 || stack.estimatedCountMilli() != 0) {
                referenced.put(stack.stackId(), 0);
            }
            if (stack.count() > 0) {
                long id = canonicalId(stack.stackId());
                Group group = groups.get(id);
                if (group == null) {
                    group = new Group(id);
                    groups.put(id, group);
                }
                group.bytes += stack.bytes();
                group.count += stack.count();
                group.estimatedBytes += stack.estimatedBytes();
                group.estimatedCountMilli += stack.estimatedCountMilli();
            }
        }
        referencedStackIds = sorted(referenced.keys());
        return groups.values();
    }

    private static long[] sorted(long[] ids) {
        Arrays.sort(ids);
        return ids;
    }

    /**
     * Groups the outstanding allocations by stack as the kernel hands them over, a chunk at a time: the heap holds
     * one chunk and the groups, never every allocation (with show-allocs, each group keeps its largest blocks).
     *
     * <p>Two passes, because the first runs once per allocation (a million and more): it only adds the allocation to
     * the group of its kernel stack id (and Java callers), with no boxing and no lambda; the second, once per group,
     * maps the id to the one the report uses (a garbage tail cut off) and drops Java callers the walk already has.
     */
    private List<Group> fromAllocations(ReportSettings settings) {
        JniMarks marks = JniMarks.active();
        long pruneBegin = marks != null ? marks.pruneBegin() : 0;
        OwnerRegistry registry = Owners.registry();
        OwnerRegistry.Pass owners = registry != null && !registry.isEmpty() ? registry.beginPass() : null;
        Grouping grouping = new Grouping(settings, marks, owners);
        tracker.forEachAllocationChunk(grouping);
        if (marks != null) {
            marks.prune(pruneBegin, grouping.seenMarks.sorted());
        }
        if (owners != null) {
            owners.finish();
        }
        List<Group> raw = grouping.byStack.values();
        raw.addAll(grouping.byStackAndCallers.values());
        for (Group group : raw) {
            grouping.referenced.put(group.stackId, 0);
        }
        referencedStackIds = sorted(grouping.referenced.keys());
        return merged(raw, callbacks, new ReachesJava());
    }

    /**
     * The first pass over the outstanding allocations, chunk by chunk: a class, not a lambda (whose hidden class and
     * call site would stay in the application's JVM).
     */
    private static final class Grouping implements Consumer<AllocationTable> {
        private final JniMarks marks;
        private final OwnerRegistry.Pass owners;
        private final long now = System.nanoTime();
        private final long olderNanos;
        private final boolean showAllocs;
        /** Grouped by native stack and, for allocations made inside a wrapped JNI method, by its Java callers. */
        final LongObjectMap<Group> byStack = new LongObjectMap<>();
        final Map<GroupKey, Group> byStackAndCallers = new HashMap<>();
        /**
         * The stack ids of the outstanding allocations: those too young to report (older=) go in as they are read,
         * the others' with their groups once all are read.
         */
        final LongLongMap referenced = new LongLongMap();
        final MarkList seenMarks = new MarkList();

        Grouping(ReportSettings settings, JniMarks marks, OwnerRegistry.Pass owners) {
            this.marks = marks;
            this.owners = owners;
            this.olderNanos = TimeUnit.MILLISECONDS.toNanos(settings.olderMillis());
            this.showAllocs = settings.showAllocs();
        }

        @Override
        public void accept(AllocationTable table) {
            for (int i = 0; i < table.size(); i++) {
                long mark = table.javaMark(i);
                JavaStack java = null;
                if (mark != 0 && marks != null) {
                    seenMarks.add(mark);
                    java = marks.callerOf(mark);
                }
                long age = now - table.timestampNanos(i);
                if (age < olderNanos) {
                    referenced.put(table.stackId(i), 0);
                    if (owners != null) {
                        owners.keep(table.address(i));
                    }
                    continue;
                }
                long stackId = table.stackId(i);
                Group group;
                if (java == null) {
                    group = byStack.get(stackId);
                    if (group == null) {
                        group = new Group(stackId, null);
                        byStack.put(stackId, group);
                    }
                } else {
                    GroupKey key = new GroupKey(stackId, java);
                    group = byStackAndCallers.get(key);
                    if (group == null) {
                        group = new Group(stackId, java);
                        byStackAndCallers.put(key, group);
                    }
                }
                group.bytes += table.bytes(i);
                group.count++;
                group.estimatedBytes += table.estimatedBytes(i);
                group.estimatedCountMilli += table.estimatedCountMilli(i);
                group.oldestAgeNanos = Math.max(group.oldestAgeNanos, age);
                if (owners != null) {
                    group.owners = owners.count(table.address(i), table.timestampNanos(i), group.owners);
                }
                if (showAllocs) {
                    group.list(new Allocation(table.address(i), table.bytes(i), age));
                }
            }
        }
    }

    /** Whether a cut stack's own walk reached Java code; asked once per stack in a report. */
    private final class ReachesJava implements LongPredicate {
        private final LongObjectMap<Boolean> known = new LongObjectMap<>();

        @Override
        public boolean test(long canonicalId) {
            Boolean reaches = known.get(canonicalId);
            if (reaches == null) {
                reaches = JniMarks.reachesJava(resolver.resolve(framesOf(canonicalId)));
                known.put(canonicalId, reaches);
            }
            return reaches;
        }
    }

    /** What the JVM knows of a stack value, for the trimmer. A class, not a method reference (a hidden class). */
    private static final class JvmCodes implements LongFunction<JvmCode> {
        private final StackResolver resolver;

        JvmCodes(StackResolver resolver) {
            this.resolver = resolver;
        }

        @Override
        public JvmCode apply(long value) {
            return resolver.jvmCodeOf(value);
        }
    }

    /**
     * What the collector hands the trimmer and the passes: the stored stacks, and the ids of cut stacks and of
     * groups ({@link JvmCodes} is apart: it is a LongFunction too). One class, made once: a lambda or method reference
     * is a hidden class each, and a new object at each evaluation (C1 does not elide it).
     */
    private final class Callbacks implements LongFunction<long[]>, LongUnaryOperator, ToLongFunction<Group> {
        /** The frames of a kernel stack id. */
        @Override
        public long[] apply(long stackId) {
            return tracker.readStack(stackId);
        }

        /** The id a kernel stack's group has in the report (its cut stack's). */
        @Override
        public long applyAsLong(long stackId) {
            return canonicalId(stackId);
        }

        @Override
        public long applyAsLong(Group group) {
            return idByFrames(group);
        }
    }

    /**
     * The groups as the report shows them: kernel stacks with the same {@code canonicalId} (they differ only in a
     * garbage tail) are one, and Java callers bound to a JNI mark are dropped where {@code reachesJava} says the
     * stack's own walk reached Java code (one group per native stack then, as without marks).
     */
    static List<Group> merged(List<Group> raw, LongUnaryOperator canonicalId, LongPredicate reachesJava) {
        Map<GroupKey, Group> merged = new HashMap<>();
        for (Group group : raw) {
            long id = canonicalId.applyAsLong(group.stackId);
            JavaStack java = group.java != null && reachesJava.test(id) ? null : group.java;
            GroupKey key = new GroupKey(id, java);
            Group into = merged.get(key);
            if (into == null) {
                merged.put(key, group.stackId == id && group.java == java ? group : new Group(id, java).absorb(group));
            } else {
                into.absorb(group);
            }
        }
        return new ArrayList<>(merged.values());
    }

    /**
     * The groups as every output shows them: groups whose frames name the same code ({@code idOf}, by
     * {@link StackIdentity}) are one, under that id; its frames are those of the member with the most outstanding
     * bytes (then the most allocated, then the smallest stack id).
     */
    static List<Group> byFrames(List<Group> groups, ToLongFunction<Group> idOf) {
        // The member with the most outstanding bytes carries the group: its frames say how the JVM runs the path
        // now (a path's stacks from before the JIT compiled it may linger, with little or nothing outstanding).
        groups.sort(CARRIER_FIRST);
        Map<Long, Group> byId = new HashMap<>(groups.size() * 2);
        for (Group group : groups) {
            long id = idOf.applyAsLong(group);
            Group into = byId.get(id);
            if (into == null) {
                group.id = id;
                byId.put(id, group);
            } else {
                into.absorb(group);
            }
        }
        return new ArrayList<>(byId.values());
    }

    /** The JNI marks still carried by outstanding allocations (their bindings must be kept). */
    private static final class MarkList {
        private long[] marks = new long[16];
        private int count;

        void add(long mark) {
            if (count == marks.length) {
                marks = Arrays.copyOf(marks, count * 2);
            }
            marks[count++] = mark;
        }

        long[] sorted() {
            long[] sorted = Arrays.copyOf(marks, count);
            Arrays.sort(sorted);
            return sorted;
        }
    }

    /**
     * A native stack and, when the allocation was made in a wrapped JNI call, its Java callers (interned). Not a
     * record: a record's equals and hashCode go through method handles, slow in the C1-only code of the agent.
     */
    private static final class GroupKey {
        final long stackId;
        final JavaStack java;

        GroupKey(long stackId, JavaStack java) {
            this.stackId = stackId;
            this.java = java;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof GroupKey that && that.stackId == stackId && Objects.equals(that.java, java);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(stackId) * 31 + (java == null ? 0 : java.hashCode());
        }
    }

    static final class Group {
        final long stackId;
        /** The Java callers bound to the allocations' JNI mark, or null. */
        final JavaStack java;
        long bytes;
        long count;
        long estimatedBytes;
        long estimatedCountMilli;
        long oldestAgeNanos = -1;
        /** The owners of its blocks, null while none is known. */
        OwnerTally owners;
        /** The id in reports, once {@link #byFrames} set it; 0 before. */
        long id;
        /** Allocated since the baseline, freed or not (estimated): set per kernel stack, summed when groups merge. */
        long allocatedBytes;
        long allocatedCountMilli;
        final List<Allocation> allocations = new ArrayList<>();

        Group(long stackId) {
            this(stackId, null);
        }

        Group(long stackId, JavaStack java) {
            this.stackId = stackId;
            this.java = java;
        }

        /**
         * The stack's id in reports: the one {@link #byFrames} gave; before, the native stack's, mixed with its Java
         * callers' when there are some.
         */
        long reportId() {
            if (id != 0) {
                return id;
            }
            return java == null ? stackId : (stackId ^ (java.hash() * 0x9E3779B97F4A7C15L)) | 1;
        }

        long estimatedCount() {
            return (estimatedCountMilli + 500) / 1000;
        }

        long allocatedCount() {
            return (allocatedCountMilli + 500) / 1000;
        }

        /** Adds {@code other}'s allocations to this group's (two kernel stacks that the report shows as one). */
        Group absorb(Group other) {
            bytes += other.bytes;
            count += other.count;
            estimatedBytes += other.estimatedBytes;
            estimatedCountMilli += other.estimatedCountMilli;
            allocatedBytes += other.allocatedBytes;
            allocatedCountMilli += other.allocatedCountMilli;
            oldestAgeNanos = Math.max(oldestAgeNanos, other.oldestAgeNanos);
            if (other.owners != null) {
                owners = (owners == null ? new OwnerTally() : owners).absorb(other.owners);
            }
            for (Allocation allocation : other.allocations) {
                list(allocation);
            }
            return this;
        }

        /** Lists one block (show-allocs); keeps the MAX_LISTED_ALLOCATIONS largest, lowest address first on ties. */
        void list(Allocation allocation) {
            allocations.add(allocation);
            if (allocations.size() >= 2 * MAX_LISTED_ALLOCATIONS) {
                trimListed();
            }
        }

        /** The listed blocks, largest first. */
        List<Allocation> listed() {
            trimListed();
            return List.copyOf(allocations);
        }

        private void trimListed() {
            allocations.sort(LISTING_ORDER);
            if (allocations.size() > MAX_LISTED_ALLOCATIONS) {
                allocations.subList(MAX_LISTED_ALLOCATIONS, allocations.size()).clear();
            }
        }
    }
}
