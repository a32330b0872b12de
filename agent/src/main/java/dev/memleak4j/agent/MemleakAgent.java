package dev.memleak4j.agent;

import dev.memleak4j.agent.bpf.AllocHooks;
import dev.memleak4j.agent.bpf.BpfException;
import dev.memleak4j.agent.bpf.BpfTracker;
import dev.memleak4j.agent.bpf.Preflight;
import dev.memleak4j.agent.bpf.Stat;
import dev.memleak4j.agent.jni.JniMarks;
import dev.memleak4j.agent.probes.AllocatorProbes;
import dev.memleak4j.agent.report.ReportSettings;
import dev.memleak4j.agent.report.Reporter;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.report.SnapshotCollector;
import dev.memleak4j.agent.report.TextReportWriter;
import dev.memleak4j.agent.sampling.TrackingBudget;
import dev.memleak4j.agent.stacks.FramePointers;
import dev.memleak4j.agent.stacks.JvmCodeMap;
import dev.memleak4j.agent.stacks.StackResolver;
import dev.memleak4j.agent.surfaces.Surfaces;
import dev.memleak4j.agent.symbols.NativeSymbolizer;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * memleak4j in this JVM: the options it was started with, the settings in force, and, while the probes are on, the
 * loaded BPF programs and the reporter thread. There is at most one per JVM ({@link #current()}).
 *
 * <p>Life cycle: {@link #start(String)} loads and attaches everything; {@link #stopProbes()} detaches every probe
 * and frees the BPF maps but keeps the agent (JMX can {@link #startProbes()} again); {@link #shutdown()} also
 * forgets the agent so that a new attach can start a fresh one.
 */
public final class MemleakAgent {
    public enum State { RUNNING, STOPPED }

    /** Reports after which freed memory is handed back to the kernel ({@link BpfTracker#returnFreedMemory}). */
    private static final int TRIMMED_REPORTS = 12;
    /** malloc/free pairs timed before and after the attach (~5 ms at 5 µs a trap, best of three runs each). */
    private static final int TIMED_PAIRS = 300;
    /** Pairs timed through the hooks: enough that the few sampled calls among them weigh what they will. */
    private static final int TIMED_HOOK_PAIRS = 20_000;

    private static MemleakAgent current;
    /** Why the last start failed, for the MBean's status; null after a successful start. */
    private static volatile String lastStartProblem;
    /** From premain/agentmain: Byte Buddy wraps JNI methods through it (jni-classes); null when not given. */
    private static volatile java.lang.instrument.Instrumentation instrumentation;

    private final AgentOptions options;
    private final Path library;
    private final NativeSymbolizer symbolizer;
    private final TextReportWriter textWriter;
    private final List<Consumer<Snapshot>> extraListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile ReportSettings settings;
    private volatile Snapshot lastSnapshot;
    private volatile String stopReason;
    /** What the probes add to one allocator call, measured at the last start; 0 when not known. */
    private volatile double callCostNanos;
    private Session session;

    /** One attach of the probes: its tracker, collector and reporter thread. */
    private static final class Session {
        final BpfTracker tracker;
        final SnapshotCollector collector;
        final Reporter reporter;
        final List<AllocatorProbes.Placement> placements;
        final TrackingBudget budget;
        /** probe-mode=hooks: the import-table slots redirected, and whether the probe site's uprobe is optimized. */
        int hookSlots = -1;
        boolean siteOptimized;

        Session(BpfTracker tracker, SnapshotCollector collector, Reporter reporter,
                List<AllocatorProbes.Placement> placements, TrackingBudget budget) {
            this.tracker = tracker;
            this.collector = collector;
            this.reporter = reporter;
            this.placements = placements;
            this.budget = budget;
        }
    }

    private MemleakAgent(AgentOptions options, Path library, TextReportWriter textWriter) {
        this.options = options;
        this.library = library;
        this.textWriter = textWriter;
        this.symbolizer = NativeSymbolizer.forCurrentProcess(BpfTracker::demangle);
        this.settings = new ReportSettings(options.intervalSeconds(), options.top(), options.showAllocs(),
                options.olderMillis(), options.combinedOnly(), options.sampleRate(), options.sampleBytes(),
                options.minSize(), options.maxSize());
    }

    /** Starts memleak4j; throws with a message for the user when it cannot. */
    static synchronized void start(String arguments) throws IOException {
        AgentOptions options = AgentOptions.parse(arguments);
        if (options.help()) {
            System.err.print(AgentOptions.helpText());
            return;
        }
        if (current != null) {
            throw new BpfException("memleak4j is already running in this JVM; the second start is ignored");
        }
        try {
            Optional<String> problem = Preflight.problem();
            if (problem.isPresent()) {
                throw new BpfException(problem.get());
            }
            for (String warning : options.warnings()) {
                log("warning: " + warning);
            }
            // First, before the agent's start-up code gets hot: C2 would compile it at length, beside the application.
            OwnCodeCompilation.keepOutOfC2(message -> {
                if (options.verbose()) {
                    log(message);
                }
            });
            Path library = options.obj() != null ? options.obj() : AllocatorProbes.findLibc();
            MemleakAgent agent = new MemleakAgent(options, library, new TextReportWriter(options.output()));
            // JMX and JFR set-up allocate natively in bulk: done before the probes, none of it is the application's.
            Surfaces.install(agent);
            try {
                agent.startProbes();
            } catch (IOException | RuntimeException e) {
                Surfaces.uninstall();
                throw e;
            }
            current = agent;
            FramePointers.warning().ifPresent(warning -> log("note: " + warning));
            RunStatus.started(Instant.now());
            lastStartProblem = null;
        } catch (IOException | RuntimeException e) {
            lastStartProblem = e.getMessage() != null ? e.getMessage() : e.toString();
            Surfaces.installNotStarted();
            throw e;
        }
    }

    /** The running (or stopped) agent of this JVM, or null when none was started or it was shut down. */
    public static synchronized MemleakAgent current() {
        return current;
    }

    /** Why memleak4j is not running in this JVM, when it tried to start and could not; else null. */
    public static String lastStartProblem() {
        return lastStartProblem;
    }

    /** Detaches everything and forgets this agent: a later attach starts a fresh one. */
    public static synchronized void shutdown() {
        if (current != null) {
            current.stopProbes();
            Surfaces.uninstall();
            current.textWriter.close();
            current = null;
            RunStatus.stopped();
        }
    }

    /** Loads the BPF programs and attaches the probes; does nothing when they are on. */
    public synchronized void startProbes() throws IOException {
        if (session != null) {
            return;
        }
        ReportSettings initial = settings;
        BpfTracker tracker = BpfTracker.open(new BpfTracker.Limits(options.maxAllocs(), options.maxStacks(),
                options.maxStacks() * 4, options.maxThreads()), options.verbose(),
                !options.classicProbes() && !options.hooks());
        Reporter starting = null;
        TrackingBudget budget = new TrackingBudget(options.maxTracked());
        try {
            tracker.tune(initial.sampleRate(), budget.reset(initial.sampleBytes()), initial.minSize(),
                    initial.maxSize(), true);
            startJavaFrameNaming(tracker);
            // Before the reporter's clock starts: wrapping the JNI methods takes a second or two at start-up.
            JniMarks.start(instrumentation, tracker, options.jniClasses(), options.verbose(), MemleakAgent::log);
            SnapshotCollector collector = new SnapshotCollector(tracker, new StackResolver(symbolizer), Instant.now(),
                    options.leakWindow());
            // The reporter thread exists and is marked as ours before any probe is attached: creating a thread
            // allocates natively on the creating thread, and that must not be reported as the application's.
            CountDownLatch marked = new CountDownLatch(1);
            Reporter reporter = new Reporter(collector, () -> settings, options.count(), () -> {
                tracker.ignoreCurrentThread();
                BpfTracker.runInBackground(); // reports never compete with the application for a CPU
                marked.countDown();
            }, () -> {
                stopProbes();
                log("stopped after " + options.count() + " reports (count=" + options.count() + "); probes detached");
            });
            if (options.verbose()) {
                reporter.setVerboseLog(MemleakAgent::log);
            }
            reporter.setAllStacks(options.wantsAllStacks());
            reporter.setBetweenReports(() -> keepTrackingWithinBudget(tracker, budget));
            reporter.addListener(snapshot -> lastSnapshot = snapshot);
            // The JIT compiles the agent's code during its first minute or so, and the memory it frees afterwards
            // stays in glibc's arenas: hand it back after each of the first reports (then never again).
            AtomicInteger trims = new AtomicInteger(TRIMMED_REPORTS);
            reporter.addListener(snapshot -> {
                if (trims.getAndDecrement() > 0) {
                    BpfTracker.returnFreedMemory();
                }
            });
            reporter.addListener(textWriter);
            reporter.addListener(snapshot -> extraListeners.forEach(listener -> listener.accept(snapshot)));
            if (options.exitReport()) {
                reporter.reportAtExit();
            }
            starting = reporter;
            reporter.start();
            boolean reporterMarked = false;
            try {
                reporterMarked = marked.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (!reporterMarked) {
                // Not silently: its own allocations would be reported as the application's.
                log("note: the report thread was not excluded from tracking within 10 s: the agent's own allocations "
                        + "on it may show in the reports");
            }
            if (options.hooks()) {
                session = startHooks(tracker, collector, reporter, budget);
            } else {
                double pairBefore = BpfTracker.allocatorPairNanos(TIMED_PAIRS);
                List<AllocatorProbes.Placement> placements = AllocatorProbes.attach(tracker, library,
                        options.symbolsPrefix(), note -> {
                            if (options.verbose()) {
                                log(note);
                            }
                        });
                callCostNanos = probedCallCost(tracker, pairBefore, () -> BpfTracker.allocatorPairNanos(TIMED_PAIRS));
                session = new Session(tracker, collector, reporter, placements, budget);
            }
            stopReason = null;
            reporter.trackingStarted();
            BpfTracker.returnFreedMemory(); // what loading the programs and wrapping the JNI methods freed
        } catch (IOException | RuntimeException e) {
            if (starting != null) {
                starting.stop();
            }
            JniMarks.stop();
            if (options.hooks()) {
                AllocHooks.uninstall();
            }
            tracker.close();
            throw e;
        }
        if (options.verbose()) {
            for (AllocatorProbes.Placement p : session.placements) {
                log(String.format("probe %s at file offset 0x%x%s%s%s", p.symbol(), p.fileOffset(),
                        p.entryDelta() == 0 ? "" : " (entry at +" + p.entryDelta() + ")",
                        p.returnProbe() ? " with return probe" : "", p.note() == null ? "" : "; " + p.note()));
            }
        }
        log("tracking native allocations of pid " + ProcessHandle.current().pid() + (session.hookSlots >= 0
                ? " through " + session.hookSlots + " allocator slots of the loaded libraries' import tables"
                : " in " + library + " (" + session.placements.stream().map(AllocatorProbes.Placement::symbol)
                        .collect(Collectors.joining(", ")) + ")")
                + " with " + probeMode() + " since " + RunStatus.clock(Instant.now()) + "; report every " + settings.intervalSeconds() + " s to "
                + (options.output() == null ? "stderr" : options.output().toString())
                + (session.hookSlots >= 0
                        // a few ns: may time at 0 when the run after the install was the quicker one
                        ? String.format(Locale.ROOT, "; each allocator call now costs ~%.0f ns more (the hook, and the"
                                + " trap of the sampled calls, measured on this host just now)", callCostNanos)
                        : callCostNanos <= 0 ? "" : String.format(Locale.ROOT, "; each allocator call now costs ~%.1f us more (the kernel's trap,"
                                + " measured on this host just now)", callCostNanos / 1000)));
    }

    /**
     * What the probes add to one allocator call, measured on the starting thread right after the attach (the thread
     * ignored, so the programs return at once): the trap into the kernel, which differs several-fold between hosts
     * and is what every malloc and free of the application pays from now on. 0 when it could not be told.
     */
    private static double probedCallCost(BpfTracker tracker, double pairBefore, DoubleSupplier pairNow) {
        try {
            tracker.ignoreCurrentThread(true);
            try {
                double pairAfter = pairNow.getAsDouble();
                return pairBefore > 0 && pairAfter > pairBefore ? (pairAfter - pairBefore) / 2 : 0;
            } finally {
                tracker.ignoreCurrentThread(false);
            }
        } catch (RuntimeException | LinkageError e) {
            return 0;
        }
    }

    /**
     * probe-mode=hooks: the BPF programs on the probe sites first, then the hooks into the import tables (a sampled
     * call must find its probe in place). The cost is timed through the hooks, with the starting thread ignored by
     * the kernel side: the hook on every call and the trap of the sampled ones, on average.
     */
    private Session startHooks(BpfTracker tracker, SnapshotCollector collector, Reporter reporter,
                               TrackingBudget budget) throws IOException {
        if (options.obj() != null) {
            AllocatorProbes.checkAllocator(options.obj(), options.symbolsPrefix()); // the same checks as uprobes
        }
        double pairBefore = BpfTracker.allocatorPairNanos(TIMED_HOOK_PAIRS);
        String sites = AllocHooks.attachSites(tracker);
        int slots = AllocHooks.install(options.maxAllocs(), options.obj() == null ? null : options.obj().toString(),
                options.symbolsPrefix());
        Session started = new Session(tracker, collector, reporter, List.of(), budget);
        started.hookSlots = slots;
        tracker.ignoreCurrentThread(true);
        try {
            started.siteOptimized = AllocHooks.siteOptimized();
        } finally {
            tracker.ignoreCurrentThread(false);
        }
        callCostNanos = probedCallCost(tracker, pairBefore, () -> BpfTracker.allocatorPairNanos(TIMED_HOOK_PAIRS));
        if (options.verbose()) {
            log("allocator hooks in " + slots + " import-table slots; probe sites in " + sites);
        }
        return started;
    }

    /** Puts the import-table slots back; says so when verbose, and always when a slot could not be restored. */
    private void uninstallHooks() {
        AllocHooks.Restored restored = AllocHooks.uninstall();
        if (options.verbose() || restored.left() != 0) {
            log("allocator hooks removed: " + restored.restored() + " import-table slots restored, "
                    + restored.left() + " still pointing at a hook");
        }
    }

    /**
     * Starts the live map of JIT-compiled code and tells the kernel side where the interpreter is, so interpreted
     * frames are recorded by method. Runs on the starting thread before any probe is attached: the JVMTI set-up
     * allocates once, and that is not the application's. Failing costs only Java frame names, never the start.
     */
    private static void startJavaFrameNaming(BpfTracker tracker) {
        try {
            JvmCodeMap.start();
        } catch (RuntimeException | LinkageError e) {
            log("note: JIT-compiled Java frames will not be named: " + e.getMessage());
        }
        try {
            long[] interpreter = JvmCodeMap.interpreterRange();
            if (interpreter != null) {
                tracker.setInterpreterRange(interpreter[0], interpreter[1]);
            }
        } catch (RuntimeException | LinkageError e) {
            log("note: interpreted Java frames will not be named: " + e.getMessage());
        }
        try {
            tracker.startAnchorWalk();
        } catch (RuntimeException | LinkageError e) {
            log("note: Java callers of native code without frame pointers will be missing: " + e.getMessage());
        }
    }

    /**
     * max-tracked: raises or lowers the sampling interval for new allocations when the rate of tracked ones says so.
     * Runs on the reporter thread; under the agent's lock so that it never undoes a JMX change made meanwhile.
     */
    private void keepTrackingWithinBudget(BpfTracker tracker, TrackingBudget budget) {
        long next = budget.check(System.nanoTime(), () -> tracker.readStats()[Stat.ALLOC_SAMPLED.ordinal()]);
        if (next == 0) {
            return;
        }
        synchronized (this) {
            if (session == null || session.budget != budget || budget.current() != next) {
                return;
            }
            ReportSettings now = settings;
            tracker.tune(now.sampleRate(), next, now.minSize(), now.maxSize(), true);
        }
        if (options.verbose()) {
            log(String.format("sampling new allocations 1 per %d bytes (%.0f tracked/s in the last second, "
                    + "max-tracked=%d)", next, budget.lastRate(), budget.maxTrackedPerSecond()));
        }
    }

    /** Detaches every probe and frees the BPF maps; the agent stays (JMX can start the probes again). */
    public void stopProbes() {
        Session stopping;
        synchronized (this) {
            if (session == null) {
                return;
            }
            stopping = session;
            session = null;
            stopReason = "probes stopped";
        }
        // Outside the lock: the reporter thread may be waiting for it (a listener reading the agent's state), and
        // joining it while holding the lock would stall until the join times out.
        JniMarks.stop();
        if (stopping.hookSlots >= 0) {
            uninstallHooks(); // before the programs go: no sampled call may trap into a closing tracker
        }
        stopping.reporter.stop();
        stopping.tracker.close();
    }

    /** How the allocating functions are probed: "uprobe sessions" or "entry and return probes"; null when off. */
    public synchronized String probeMode() {
        if (session == null) {
            return null;
        }
        if (session.hookSlots >= 0) {
            return "in-process hooks (sampled calls trap at " + (session.siteOptimized ? "an optimized uprobe)"
                    : "an int3 uprobe)");
        }
        return session.tracker.sessions() ? "uprobe sessions" : "entry and return probes";
    }

    public synchronized State state() {
        return session != null ? State.RUNNING : State.STOPPED;
    }

    /** Why the probes are off, or null while they are on. */
    public String stopReason() {
        return stopReason;
    }

    public AgentOptions options() {
        return options;
    }

    public Path library() {
        return library;
    }

    public ReportSettings settings() {
        return settings;
    }

    /** Changes the settings at run time; sampling and the size range reach the kernel side at once. */
    public synchronized void updateSettings(UnaryOperator<ReportSettings> change) {
        ReportSettings updated = change.apply(settings);
        settings = updated;
        if (session != null) {
            session.tracker.tune(updated.sampleRate(), session.budget.reset(updated.sampleBytes()), updated.minSize(),
                    updated.maxSize(), true);
        }
    }

    /**
     * The byte-sampling interval new allocations are chosen under: sample-bytes, or more while max-tracked holds the
     * tracked rate down; 0 when not sampling by bytes or while the probes are off.
     */
    public synchronized long sampleBytesNow() {
        return session == null ? 0 : session.tracker.sampleBytesNow();
    }

    /** The snapshot of the last interval, or null before the first. */
    public Snapshot lastSnapshot() {
        return lastSnapshot;
    }

    /** A snapshot taken now with the current settings; null while the probes are off. */
    public synchronized Snapshot snapshotNow() {
        return session == null ? null : session.collector.collect(settings);
    }

    /** A snapshot taken now with changed settings (JFR's Allocation event lists addresses); null while off. */
    public synchronized Snapshot snapshotNow(UnaryOperator<ReportSettings> change) {
        return session == null ? null : session.collector.collect(change.apply(settings));
    }

    /**
     * A snapshot with every stack (flame graph, pprof, JFR file on demand): the last interval's when it has them,
     * else one the reporter thread takes now (reading the maps and symbolizing allocate natively, and only that
     * thread's allocations are not tracked); null while the probes are off.
     */
    public Snapshot completeSnapshot() throws InterruptedException {
        Session current;
        synchronized (this) {
            current = session;
            Snapshot last = lastSnapshot;
            if (current == null) {
                return null;
            }
            if (last != null && last.complete() && last.trackingSince().equals(current.collector.trackingSince())) {
                return last;
            }
        }
        Snapshot taken = current.reporter.completeSnapshot(TimeUnit.SECONDS.toMillis(30));
        if (taken == null) {
            throw new IllegalStateException("the reporter thread did not take a snapshot within 30 s");
        }
        return taken;
    }

    /** Called with every interval's snapshot (JSON file, JFR): runs on the reporter thread. */
    public void addSnapshotListener(Consumer<Snapshot> listener) {
        extraListeners.add(listener);
    }

    /** Bytes of kernel memory the BPF maps hold now; 0 while the probes are off. */
    public synchronized long mapMemoryBytes() {
        return session == null ? 0 : session.tracker.mapMemoryBytes();
    }

    public synchronized int attachedProbes() {
        return session == null ? 0 : session.tracker.attachedProbes();
    }

    /**
     * ns the probes add to each allocator call of the application (the kernel's trap), timed when they were last
     * attached; 0 while stopped or when it could not be told.
     */
    public synchronized long allocatorCallCostNanos() {
        return session == null ? 0 : Math.round(callCostNanos);
    }

    static void useInstrumentation(java.lang.instrument.Instrumentation given) {
        instrumentation = given;
    }

    static void log(String message) {
        System.err.println("memleak4j: " + message);
    }
}
