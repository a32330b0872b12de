package dev.memleak4j.agent;

import dev.memleak4j.agent.bpf.AllocHooks;
import dev.memleak4j.agent.bpf.BpfException;
import dev.memleak4j.agent.bpf.BpfTracker;
import dev.memleak4j.agent.bpf.NativeThreads;
import dev.memleak4j.agent.bpf.Preflight;
import dev.memleak4j.agent.jnimarks.JniMarks;
import dev.memleak4j.agent.memory.MallocTrim;
import dev.memleak4j.agent.nativelib.JvmManagement;
import dev.memleak4j.agent.owners.Owners;
import dev.memleak4j.agent.probes.AllocatorProbes;
import dev.memleak4j.agent.report.AgentLosses;
import dev.memleak4j.agent.report.ClockText;
import dev.memleak4j.agent.report.ReportSettings;
import dev.memleak4j.agent.report.Reporter;
import dev.memleak4j.agent.report.SamplingText;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.report.SnapshotCollector;
import dev.memleak4j.agent.report.TextReportWriter;
import dev.memleak4j.agent.stacks.FramePointers;
import dev.memleak4j.agent.stacks.StackResolver;
import dev.memleak4j.agent.outputs.AgentControl;
import dev.memleak4j.agent.outputs.AgentState;
import dev.memleak4j.agent.outputs.ReportView;
import dev.memleak4j.agent.symbols.NativeSymbolizer;
import dev.memleak4j.agent.text.DecimalText;

import java.io.IOException;
import java.lang.instrument.Instrumentation;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * memleak4j in this JVM, from start to detach, in the order libbpf's loaders follow: {@link #start} checks and
 * configures (options, preflight, outputs), {@link #startProbes} loads the BPF programs, starts the reporter and
 * attaches the probes, the reporter thread reports, {@link #stopProbes} detaches them and {@link #shutdown} forgets
 * the agent so that a new attach starts a fresh one. There is at most one per JVM ({@link #current()}).
 *
 * <p>The outputs are handed the snapshots and the agent's {@link AgentState}; what they may ask of it goes through
 * {@link AgentControl}, which this class implements.
 */
public final class AgentLifecycle implements AgentControl {

    private static AgentLifecycle current;
    /** From premain/agentmain: Byte Buddy wraps JNI methods through it (jni-classes); null when not given. */
    private static volatile Instrumentation instrumentation;

    private final AgentOptions options;
    private final Path library;
    private final NativeSymbolizer symbolizer;
    private final Consumer<String> verbose;
    /** Null only while the outputs are installed (the MBean, registered then, may already call in). */
    private volatile OutputWiring outputs;
    private volatile ReportSettings settings;
    private volatile Snapshot lastSnapshot;
    /** Why the probes are off; null while they are on. The MBean can ask before the first attach is done. */
    private volatile String stopReason = "starting, probes not attached yet";
    /** What the probes add to one allocator call, measured at the last start; 0 when not known. */
    private volatile double callCostNanos;
    /** Kernel memory of the BPF maps at the last report: read on the reporter thread only. */
    private volatile long mapMemoryAtReport;
    private Session session;

    /** One attach of the probes: its tracker, sampling, collector and reporter thread. */
    private static final class Session {
        final BpfTracker tracker;
        final SamplingTuning sampling;
        SnapshotCollector collector;
        Reporter reporter;
        List<AllocatorProbes.Placement> placements = List.of();
        /** probe-mode=hooks: the import-table slots redirected, and whether the probe site's uprobe is optimized. */
        int hookSlots = -1;
        boolean siteOptimized;
        /** When the probes were on: allocations from then on are tracked. */
        Instant attached;

        Session(BpfTracker tracker, SamplingTuning sampling) {
            this.tracker = tracker;
            this.sampling = sampling;
        }
    }

    private AgentLifecycle(AgentOptions options, Path library) {
        this.options = options;
        this.library = library;
        this.verbose = AgentLog.verbose(options.verbose());
        this.symbolizer = NativeSymbolizer.forCurrentProcessDemangled();
        this.settings = options.reportSettings();
    }

    /**
     * Starts memleak4j with options parsed already; throws with a message for the user when it cannot.
     *
     * @param ownThread on a thread of the agent's own (premain's start thread): after the attach, what it still
     *                  allocates is not the application's
     */
    static synchronized void start(AgentOptions options, boolean ownThread) throws IOException {
        if (current != null) {
            throw new BpfException("memleak4j is already running in this JVM; the second start is ignored");
        }
        try {
            // Check: nothing is loaded when the kernel or the privileges cannot run it.
            Optional<String> problem = Preflight.problem();
            if (problem.isPresent()) {
                throw new BpfException(problem.get());
            }
            for (String warning : options.warnings()) {
                AgentLog.line("warning: " + warning);
            }
            // First, before the agent's start-up code gets hot: C2 would compile it at length, beside the application.
            OwnCodeCompilation.keepOutOfC2(AgentLog.verbose(options.verbose()));
            // Configure: the outputs. JMX and JFR set-up allocate natively in bulk: done before the probes, none of it
            // is the application's.
            Path library = options.obj() != null ? options.obj() : AllocatorProbes.findLibc();
            AgentLifecycle agent = new AgentLifecycle(options, library);
            agent.outputs = OutputWiring.install(options, agent, new TextReportWriter(options.output()));
            Session started;
            try {
                started = agent.attachProbes(ownThread);
            } catch (IOException | RuntimeException e) {
                if (!(e instanceof BackgroundStart.JvmExiting)) {
                    agent.outputs.uninstall();
                }
                throw e;
            }
            if (ownThread) {
                started.tracker.ignoreCurrentThread(true);
            }
            try {
                agent.logStart(started);
                current = agent;
                Optional<String> framePointers = FramePointers.warning();
                if (framePointers.isPresent()) {
                    AgentLog.line("note: " + framePointers.get());
                }
                RunStatus.started(started.attached);
                if (ownThread) {
                    agent.preloadSymbols();
                }
            } finally {
                if (ownThread) {
                    // The thread ends; a thread of the application may get its id next.
                    started.tracker.ignoreCurrentThread(false);
                }
            }
        } catch (IOException | RuntimeException e) {
            if (!(ownThread && BackgroundStart.exitedFirst())) {
                OutputWiring.installNotStarted(e.getMessage() != null ? e.getMessage() : e.toString());
            }
            throw e;
        }
    }

    /**
     * Loads the symbols nearly every report names (the JVM's, libc's) on the start thread, whose allocations are not
     * the application's, rather than in the first report: a short program's exit report would add them to its exit.
     */
    private void preloadSymbols() {
        try {
            symbolizer.preload(Set.of("libjvm.so", "libc.so.6"));
        } catch (RuntimeException e) {
            // The first report loads them then.
        }
    }

    /** The running (or stopped) agent of this JVM, or null when none was started or it was shut down. */
    public static synchronized AgentLifecycle current() {
        return current;
    }

    /** Detaches everything and forgets this agent: a later attach starts a fresh one. */
    static synchronized void shutdown() {
        if (current != null) {
            current.stopProbes();
            current.outputs.uninstall();
            current = null;
            RunStatus.stopped();
        }
    }

    /** Load, start the reporter, attach, say so: the probes are on when this returns (JMX). */
    @Override
    public synchronized void startProbes() throws IOException {
        Session started = attachProbes(false);
        if (started != null) {
            logStart(started);
        }
    }

    /**
     * Load, start the reporter, attach: the probes are on when this returns; null when they were on already.
     *
     * @param background premain's start ({@link BackgroundStart}): it gives up quietly when the JVM exits first
     */
    private synchronized Session attachProbes(boolean background) throws IOException {
        if (session != null) {
            return null;
        }
        Session started = load();
        try {
            // Before the reporter's clock starts: wrapping the JNI methods takes a second or two at start-up.
            JavaFrameNaming.start(started.tracker, verbose);
            JniMarks.start(instrumentation, started.tracker, options.jniClasses(), options.verbose(), AgentLog.LINES);
            Owners.start(instrumentation, options.owners(), options.hooks(), AgentLog.LINES);
            started.collector = new SnapshotCollector(started.tracker, new StackResolver(symbolizer), Instant.now(),
                    options.leakWindowSeconds(), options.maxStacks(), new Call(this, started, Call.SAMPLE_BYTES_NOW, null));
            started.reporter = startReporter(started);
            if (options.hooks()) {
                attachHooks(started);
            } else {
                attachUprobes(started);
            }
            if (background) {
                // What the start thread still does (loading classes, trimming) is the agent's; start() ends this.
                started.tracker.ignoreCurrentThread(true);
            }
            started.attached = Instant.now();
            if (background) {
                BackgroundStart.beginTracking(started.reporter);
            } else {
                started.reporter.trackingStarted();
            }
            session = started;
            stopReason = null;
            MallocTrim.returnFreedMemory(); // what loading the programs and wrapping the JNI methods freed
        } catch (IOException | RuntimeException e) {
            if (e instanceof BackgroundStart.JvmExiting) {
                throw e; // the JVM exits: undoing the start would only hold the exit up
            }
            if (started.reporter != null) {
                started.reporter.stop();
            }
            JniMarks.stop();
            Owners.stop(instrumentation, AgentLog.LINES);
            if (options.hooks()) {
                AllocHooks.uninstall();
            }
            started.tracker.close();
            throw e;
        }
        return started;
    }

    /** Loads the BPF programs and sizes their maps; sampling as the settings say. No probe is attached yet. */
    private Session load() {
        BpfTracker tracker = BpfTracker.open(new BpfTracker.Limits(options.maxAllocs(), options.maxStacks(),
                options.maxStacks() * 4, options.maxThreads()), options.verbose(), options.hooks(),
                !options.classicProbes());
        try {
            return new Session(tracker, new SamplingTuning(tracker, options.maxTracked(), settings, verbose));
        } catch (RuntimeException e) {
            tracker.close();
            throw e;
        }
    }

    /**
     * The reporter thread exists and is marked as ours before any probe is attached: creating a thread allocates
     * natively on the creating thread, and that must not be reported as the application's.
     */
    private Reporter startReporter(Session started) {
        CountDownLatch marked = new CountDownLatch(1);
        Call listener = new Call(this, started, Call.REPORTED, null);
        Reporter reporter = new Reporter(started.collector, listener, options.count(),
                new Call(this, started, Call.REPORTER_STARTS, marked),
                new Call(this, started, Call.COUNT_REACHED, null));
        if (options.verbose()) {
            reporter.setVerboseLog(AgentLog.LINES);
        }
        reporter.setAllStacks(options.wantsAllStacks());
        reporter.setBetweenReports(new Call(this, started, Call.BETWEEN_REPORTS, null));
        // No malloc_trim between reports: it trims the application's arenas too, changing the very memory the
        // verdict reads (arena retention handed back behind the application's back); only the start's own is trimmed.
        reporter.addListener(listener);
        if (options.exitReport()) {
            reporter.reportAtExit();
            reporter.setBeforeExitReport(new Call(this, started, Call.EXIT_REPORT_NEXT, null));
        }
        started.reporter = reporter;
        reporter.start();
        boolean reporterMarked = false;
        try {
            reporterMarked = marked.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!reporterMarked) {
            // Not silently: its own allocations would be reported as the application's.
            AgentLog.line("note: the report thread was not excluded from tracking within 10 s: the agent's own "
                    + "allocations on it may show in the reports");
        }
        return reporter;
    }

    /** probe-mode=uprobes and classic: a uprobe on each allocator function of the library. */
    private void attachUprobes(Session started) throws IOException {
        CallCost cost = CallCost.before(started.tracker, CallCost.UPROBE_PAIRS);
        started.placements = AllocatorProbes.attach(started.tracker, library, options.symbolsPrefix(), verbose);
        callCostNanos = cost.afterAttach();
    }

    /**
     * probe-mode=hooks: the BPF programs on the probe sites first, then the hooks into the import tables (a sampled
     * call must find its probe in place). The cost is timed through the hooks: the hook on every call and the trap of
     * the sampled ones, on average.
     */
    private void attachHooks(Session started) throws IOException {
        if (options.obj() != null) {
            AllocatorProbes.checkAllocator(options.obj(), options.symbolsPrefix()); // the same checks as uprobes
        }
        CallCost cost = CallCost.before(started.tracker, CallCost.HOOK_PAIRS);
        String sites = AllocHooks.attachSites(started.tracker);
        started.hookSlots = AllocHooks.install(options.maxAllocs(),
                options.obj() == null ? null : options.obj().toString(), options.symbolsPrefix());
        started.tracker.ignoreCurrentThread(true);
        try {
            started.siteOptimized = AllocHooks.siteOptimized();
            // Here: the first run of this code resolves its constants, which allocates natively for good.
            verbose.accept("allocator hooks in " + started.hookSlots + " import-table slots; probe sites in " + sites);
        } finally {
            started.tracker.ignoreCurrentThread(false);
        }
        callCostNanos = cost.afterAttach();
    }

    /** The start line: what is tracked, how, since when, and what each allocator call now costs. */
    private void logStart(Session started) {
        for (AllocatorProbes.Placement p : started.placements) {
            verbose.accept("probe " + p.symbol() + " at file offset 0x" + Long.toHexString(p.fileOffset())
                    + (p.entryDelta() == 0 ? "" : " (entry at +" + p.entryDelta() + ")")
                    + (p.returnProbe() ? " with return probe" : "") + (p.note() == null ? "" : "; " + p.note()));
        }
        Instant since = started.attached;
        AgentLog.line("tracking native allocations of pid " + BpfTracker.processId() + (started.hookSlots >= 0
                ? " through " + started.hookSlots + " allocator slots of the loaded libraries' import tables"
                : " in " + library + " (" + symbols(started.placements) + ")")
                + " with " + probeMode() + " since " + ClockText.of(since) + " (" + afterJvmStart(since)
                + " ms after the JVM started); report every " + settings.intervalSeconds() + " s to "
                + (options.output() == null ? "stderr" : options.output().toString())
                + (started.hookSlots >= 0
                        // a few ns: may time at 0 when the run after the install was the quicker one
                        ? "; each allocator call now costs ~" + DecimalText.of(callCostNanos, 0) + " ns more (the"
                                + " hook, and the trap of the sampled calls, measured on this host just now)"
                        : callCostNanos <= 0 ? "" : "; each allocator call now costs ~"
                                + DecimalText.of(callCostNanos / 1000, 1)
                                + " us more (the kernel's trap, measured on this host just now)"));
    }

    /** The probed functions, comma-separated (a loop: a stream's lambdas would stay in the JVM for good). */
    private static String symbols(List<AllocatorProbes.Placement> placements) {
        StringBuilder out = new StringBuilder();
        for (AllocatorProbes.Placement placement : placements) {
            out.append(out.length() == 0 ? "" : ", ").append(placement.symbol());
        }
        return out.toString();
    }

    private static long afterJvmStart(Instant time) {
        return time.toEpochMilli() - JvmManagement.startMillis();
    }

    /** Detach: every probe and hook off, the BPF maps freed; the agent stays (JMX can start the probes again). */
    @Override
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
        outputs.reportsStopped();
        Owners.stop(instrumentation, AgentLog.LINES);
        stopping.tracker.close();
        outputs.surfaces().stateChanged(state());
    }

    /** Puts the import-table slots back; says so when verbose, and always when a slot could not be restored. */
    private void uninstallHooks() {
        AllocHooks.Restored restored = AllocHooks.uninstall();
        String line = "allocator hooks removed: " + restored.restored() + " import-table slots restored, "
                + restored.left() + " still pointing at a hook";
        if (restored.left() != 0) {
            AgentLog.line(line);
        } else {
            verbose.accept(line);
        }
    }

    /** On the reporter thread, with every report: every output is handed the snapshot and the agent's state. */
    private void report(Snapshot snapshot) {
        mapMemoryAtReport = mapMemoryBytes();
        outputs.report(snapshot, state(AgentLosses.now()));
    }

    /** How the allocating functions are probed: "uprobe sessions" or "entry and return probes"; null when off. */
    private synchronized String probeMode() {
        if (session == null) {
            return null;
        }
        if (session.hookSlots >= 0) {
            return "in-process hooks (sampled calls trap at " + (session.siteOptimized ? "an optimized uprobe)"
                    : "an int3 uprobe)");
        }
        return session.tracker.sessions() ? "uprobe sessions" : "entry and return probes";
    }

    @Override
    public String status() {
        String reason = stopReason;
        return reason == null ? "running" : "stopped: " + reason;
    }

    @Override
    public boolean running() {
        return stopReason == null;
    }

    @Override
    public AgentState state() {
        return state(null);
    }

    /** The settings in force, how the allocator is probed, and (in a report) what the agent lost. */
    private synchronized AgentState state(AgentLosses losses) {
        ReportSettings s = settings;
        String how = probeMode();
        String reason = stopReason;
        String mode = how == null ? "stopped: " + (reason != null ? reason : "probes not attached")
                : how + ", " + SamplingText.of(s.sampleRate(), s.sampleBytes(), sampleBytesNow())
                        + (s.combinedOnly() ? ", per-stack counters only" : "");
        return new AgentState(s, options.maxTracked(), String.valueOf(library), mode, reason,
                session == null ? 0 : session.tracker.attachedProbes(), session == null ? 0 : mapMemoryAtReport,
                options.maxAllocs(), session == null ? 0 : Math.round(callCostNanos), sampleBytesNow(), losses,
                options.json() == null ? "" : options.json().toString(),
                options.output() == null ? "" : options.output().toString());
    }

    @Override
    public ReportView lastReport() {
        OutputWiring installed = outputs;
        return installed == null ? null : installed.surfaces().view();
    }

    @Override
    public void resetBaseline() {
        OutputWiring installed = outputs;
        if (installed != null) {
            installed.surfaces().resetBaseline();
        }
        Session running;
        synchronized (this) {
            running = session;
        }
        if (running != null && running.collector != null) {
            running.collector.resetAllocatedBaseline(); // pprof's alloc_* start over too
        }
    }

    @Override
    public void setIntervalSeconds(int seconds) {
        AgentOptions.checkValue("interval", seconds);
        updateSettings(s -> s.withIntervalSeconds(seconds));
    }

    @Override
    public void setTop(int top) {
        AgentOptions.checkValue("top", top);
        updateSettings(s -> s.withTop(top));
    }

    /** Sampling by count for new allocations (turns sampling by bytes off). */
    @Override
    public void setSampleRate(long rate) {
        AgentOptions.checkValue("sample-rate", rate);
        updateSettings(s -> s.withSampleRate(rate));
    }

    @Override
    public void setSizeRange(long min, long max) {
        AgentOptions.checkValue("min-size", min);
        AgentOptions.checkValue("max-size", max);
        if (min > max) {
            throw new IllegalArgumentException("size range " + min + ".." + max + ": min-size is larger than max-size");
        }
        updateSettings(s -> s.withSizeRange(min, max));
    }

    /** Changes the settings at run time; sampling and the size range reach the kernel side at once. */
    private synchronized void updateSettings(UnaryOperator<ReportSettings> change) {
        ReportSettings updated = change.apply(settings);
        settings = updated;
        if (session != null) {
            session.sampling.apply(updated);
        }
    }

    /** The byte-sampling interval new allocations are chosen under; 0 when not by bytes or while the probes are off. */
    private synchronized long sampleBytesNow() {
        return session == null ? 0 : session.sampling.sampleBytesNow();
    }

    @Override
    public synchronized Snapshot snapshotNow(UnaryOperator<ReportSettings> change) {
        return session == null ? null : session.collector.collect(change.apply(settings));
    }

    /**
     * A snapshot with every stack: the last interval's when it has them, else one the reporter thread takes now
     * (reading the maps and symbolizing allocate natively, and only that thread's allocations are not tracked).
     */
    @Override
    public Snapshot completeSnapshot() throws InterruptedException {
        Session now;
        synchronized (this) {
            now = session;
            Snapshot last = lastSnapshot;
            if (now == null) {
                return null;
            }
            if (last != null && last.complete() && last.trackingSince().equals(now.collector.trackingSince())) {
                return last;
            }
        }
        Snapshot taken = now.reporter.completeSnapshot(TimeUnit.SECONDS.toMillis(30));
        if (taken == null) {
            throw new IllegalStateException("the reporter thread did not take a snapshot within 30 s");
        }
        return taken;
    }

    /** Bytes of kernel memory the BPF maps hold now; 0 while the probes are off (the soak test reads it). */
    public synchronized long mapMemoryBytes() {
        return session == null ? 0 : session.tracker.mapMemoryBytes();
    }

    static void useInstrumentation(Instrumentation given) {
        instrumentation = given;
    }

    /**
     * The agent's callbacks (the reporter's and the collector's): one small object per role, not
     * lambdas and method references, each of which would spin a hidden class and keep the JDK's objects for its call
     * site in the application's JVM for good.
     */
    private static final class Call implements Runnable, Supplier<ReportSettings>, Consumer<Snapshot>, LongSupplier {
        /** Runnable: on the reporter thread as it starts, before any probe is attached. */
        static final int REPORTER_STARTS = 0;
        /** Runnable: after count= reports. */
        static final int COUNT_REACHED = 1;
        /** Runnable: on the reporter thread between reports. */
        static final int BETWEEN_REPORTS = 2;
        /** Runnable: before the exit report. */
        static final int EXIT_REPORT_NEXT = 3;
        /** Supplier of the settings in force, and Consumer of every report. */
        static final int REPORTED = 4;
        /** LongSupplier of the byte-sampling interval in force. */
        static final int SAMPLE_BYTES_NOW = 5;

        private final AgentLifecycle agent;
        private final Session session;
        private final int role;
        private final CountDownLatch marked;

        Call(AgentLifecycle agent, Session session, int role, CountDownLatch marked) {
            this.agent = agent;
            this.session = session;
            this.role = role;
            this.marked = marked;
        }

        @Override
        public void run() {
            switch (role) {
                case REPORTER_STARTS -> {
                    session.tracker.ignoreCurrentThread();
                    NativeThreads.runCurrentInBackground(); // reports never compete with the application for a CPU
                    marked.countDown();
                }
                case COUNT_REACHED -> {
                    agent.stopProbes();
                    AgentLog.line("stopped after " + agent.options.count() + " reports (count="
                            + agent.options.count() + "); probes detached");
                }
                case BETWEEN_REPORTS -> {
                    session.sampling.keepWithinBudget();
                    Owners.forgetFreed();
                    agent.outputs.betweenReports();
                }
                // The JVM's exit waits for it: at nice 10 beside the JIT's threads it took several times its CPU time.
                case EXIT_REPORT_NEXT -> NativeThreads.runCurrentInForeground();
                default -> throw new IllegalStateException("not a Runnable: " + role);
            }
        }

        @Override
        public ReportSettings get() {
            return agent.settings;
        }

        @Override
        public void accept(Snapshot snapshot) {
            agent.lastSnapshot = snapshot;
            agent.report(snapshot);
        }

        @Override
        public long getAsLong() {
            return session.sampling.sampleBytesNow();
        }
    }
}
