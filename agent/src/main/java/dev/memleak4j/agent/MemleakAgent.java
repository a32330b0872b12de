package dev.memleak4j.agent;

import dev.memleak4j.agent.bpf.BpfException;
import dev.memleak4j.agent.bpf.BpfTracker;
import dev.memleak4j.agent.bpf.Preflight;
import dev.memleak4j.agent.probes.AllocatorProbes;
import dev.memleak4j.agent.report.ReportSettings;
import dev.memleak4j.agent.report.Reporter;
import dev.memleak4j.agent.report.SnapshotCollector;
import dev.memleak4j.agent.stacks.StackResolver;
import dev.memleak4j.agent.symbols.NativeSymbolizer;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * One running memleak4j in this JVM: the loaded BPF programs, their probes and the reporter thread. Started once
 * by {@link Agent}; a second start is refused.
 */
public final class MemleakAgent {
    private static MemleakAgent running;

    private final AgentOptions options;
    private final BpfTracker tracker;
    private volatile ReportSettings settings;
    private Reporter reporter;

    private MemleakAgent(AgentOptions options, BpfTracker tracker) {
        this.options = options;
        this.tracker = tracker;
        this.settings = new ReportSettings(options.top(), options.showAllocs(), options.olderMillis(),
                options.combinedOnly(), options.sampleRate());
    }

    /** Starts memleak4j; throws with a message for the user when it cannot. */
    static synchronized void start(String arguments) throws IOException {
        AgentOptions options = AgentOptions.parse(arguments);
        if (options.help()) {
            System.err.print(AgentOptions.helpText());
            return;
        }
        if (running != null) {
            throw new BpfException("memleak4j is already running in this JVM; the second start is ignored");
        }
        Optional<String> problem = Preflight.problem();
        if (problem.isPresent()) {
            throw new BpfException(problem.get());
        }
        for (String warning : options.warnings()) {
            log("warning: " + warning);
        }
        BpfTracker tracker = BpfTracker.open(new BpfTracker.Limits(options.maxAllocs(), options.maxStacks(),
                options.maxStacks() * 4, options.maxThreads()), options.verbose());
        MemleakAgent agent = new MemleakAgent(options, tracker);
        try {
            agent.startTracking();
        } catch (IOException | RuntimeException e) {
            agent.stop();
            throw e;
        }
        running = agent;
    }

    private void startTracking() throws IOException {
        tracker.tune(options.sampleRate(), options.minSize(), options.maxSize(), true);
        Path library = options.obj() != null ? options.obj() : AllocatorProbes.findLibc();
        NativeSymbolizer symbolizer = NativeSymbolizer.forCurrentProcess(BpfTracker::demangle);
        Instant since = Instant.now();
        SnapshotCollector collector = new SnapshotCollector(tracker, new StackResolver(symbolizer), since);
        // The reporter thread exists and is marked as ours before any probe is attached: creating a thread
        // allocates natively on the creating thread, and that must not be reported as the application's.
        CountDownLatch marked = new CountDownLatch(1);
        reporter = new Reporter(collector, () -> settings, TimeUnit.SECONDS.toMillis(options.intervalSeconds()),
                options.count(), options.output(), () -> {
                    tracker.ignoreCurrentThread();
                    marked.countDown();
                }, message -> {
                    tracker.close();
                    log(message.substring("memleak4j: ".length()));
                });
        reporter.start();
        try {
            marked.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<AllocatorProbes.Placement> placements = AllocatorProbes.attach(tracker, library,
                options.symbolsPrefix(), note -> {
                    if (options.verbose()) {
                        log(note);
                    }
                });
        if (options.verbose()) {
            for (AllocatorProbes.Placement p : placements) {
                log(String.format("probe %s at file offset 0x%x%s%s%s", p.symbol(), p.fileOffset(),
                        p.entryDelta() == 0 ? "" : " (entry at +" + p.entryDelta() + ")",
                        p.returnProbe() ? " with return probe" : "", p.note() == null ? "" : "; " + p.note()));
            }
        }
        log("tracking native allocations of pid " + ProcessHandle.current().pid() + " in " + library + " ("
                + placements.stream().map(AllocatorProbes.Placement::symbol).collect(Collectors.joining(", "))
                + "); report every " + options.intervalSeconds() + " s to "
                + (options.output() == null ? "stderr" : options.output().toString()));
    }

    private void stop() {
        if (reporter != null) {
            reporter.stop();
        }
        tracker.close();
    }

    static void log(String message) {
        System.err.println("memleak4j: " + message);
    }
}
