package dev.memleak4j.agent.jfr;

import dev.memleak4j.agent.bpf.Stat;
import dev.memleak4j.agent.lang.Instants;
import dev.memleak4j.agent.leaks.LeakDetector;
import dev.memleak4j.agent.owners.OwnerCount;
import dev.memleak4j.agent.report.Allocation;
import dev.memleak4j.agent.report.ReportSettings;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.report.StackReport;
import dev.memleak4j.agent.outputs.AgentControl;
import dev.memleak4j.agent.outputs.Frames;
import dev.memleak4j.agent.outputs.ReportView;
import dev.memleak4j.jfr.AllocationEvent;
import dev.memleak4j.jfr.LeakSuspectEvent;
import dev.memleak4j.jfr.OutstandingStackEvent;
import dev.memleak4j.jfr.StatisticsEvent;
import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;

import java.time.Instant;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * memleak4j's JFR events. The periodic ones are committed by JFR's periodic thread from the latest report, which
 * JFR calls only while a recording has them enabled: without a recording they cost nothing. Allocation events come
 * from the reporter thread, after a report, only while a recording has them enabled.
 *
 * <p>The events are registered when Flight Recorder starts (at once when it runs already), not when the agent does:
 * registering initializes JFR, ~280 classes and thousands of objects of metadata, which every full GC then walks
 * (+3.8 ms per {@code System.gc()} in a small JVM). An application that never records does not pay for it;
 * {@code -XX:StartFlightRecording}, {@code jcmd JFR.start} and JMC all start it the same way. While reports are taken,
 * the reporter thread asks {@link FlightRecorder#isInitialized()} between them (every 200 ms or so): a
 * {@link FlightRecorderListener} would cost for good what it saves, since adding one initializes JFR's security
 * support and the JDK's security properties (~900 objects, 55 classes). When the reports stop (count reached, probes
 * stopped), a listener takes over, so that a recording started later still gets the events.
 */
public final class JfrEvents implements Consumer<ReportView> {
    /** The Allocation event reads the allocations of at most this many stacks per report. */
    static final int ALLOCATION_STACKS = 1000;

    /** The latest report. */
    private final Supplier<ReportView> latest;
    /** Only for the Allocation events' listing, taken on the reporter thread after a report. */
    private final AgentControl control;
    /* One class for the three periodic hooks, not three method references' hidden classes and method handles. */
    private final Runnable statistics = new Periodic(this, Periodic.STATISTICS);
    private final Runnable stacks = new Periodic(this, Periodic.STACKS);
    private final Runnable suspects = new Periodic(this, Periodic.SUSPECTS);
    /** Until when the Allocation events have listed allocations (reporter thread only). */
    private Instant listedUntil;
    private final FlightRecorderListener onRecorderStart = new FlightRecorderListener() {
        @Override
        public void recorderInitialized(FlightRecorder recorder) {
            register();
        }
    };
    /** Written under this object's lock; read without it between reports. */
    private volatile boolean registered;
    private boolean uninstalled;
    /** Whether {@link #onRecorderStart} was added (the reports stopped before Flight Recorder started). */
    private boolean listening;

    private JfrEvents(Supplier<ReportView> latest, AgentControl control) {
        this.latest = latest;
        this.control = control;
    }

    public static JfrEvents install(Supplier<ReportView> latest, AgentControl control) {
        JfrEvents events = new JfrEvents(latest, control);
        events.registerIfRecorderStarted(); // -XX:StartFlightRecording: it runs already
        return events;
    }

    /** Whether the events are registered with Flight Recorder (it has started since the agent did). */
    public boolean registered() {
        return registered;
    }

    /** Between reports, on the reporter thread: registers the events once Flight Recorder has started. */
    public void registerIfRecorderStarted() {
        if (!registered && FlightRecorder.isInitialized()) {
            register();
        }
    }

    /** The reports stopped, and with them the checks between them: a listener registers the events from now on. */
    public void listenForRecorderStart() {
        synchronized (this) {
            if (registered || uninstalled || listening) {
                return;
            }
            listening = true;
        }
        FlightRecorder.addListener(onRecorderStart); // calls register() at once when JFR runs already
    }

    private synchronized void register() {
        if (registered || uninstalled) {
            return;
        }
        registered = true;
        FlightRecorder.register(AllocationEvent.class);
        FlightRecorder.addPeriodicEvent(StatisticsEvent.class, statistics);
        FlightRecorder.addPeriodicEvent(OutstandingStackEvent.class, stacks);
        FlightRecorder.addPeriodicEvent(LeakSuspectEvent.class, suspects);
    }

    public void uninstall() {
        boolean wasListening;
        boolean wasRegistered;
        synchronized (this) {
            uninstalled = true;
            wasListening = listening;
            listening = false;
            wasRegistered = registered;
            registered = false;
        }
        if (wasListening) {
            FlightRecorder.removeListener(onRecorderStart);
        }
        if (!wasRegistered) {
            return;
        }
        FlightRecorder.removePeriodicEvent(statistics);
        FlightRecorder.removePeriodicEvent(stacks);
        FlightRecorder.removePeriodicEvent(suspects);
        FlightRecorder.unregister(StatisticsEvent.class);
        FlightRecorder.unregister(OutstandingStackEvent.class);
        FlightRecorder.unregister(LeakSuspectEvent.class);
        FlightRecorder.unregister(AllocationEvent.class);
    }

    private void emitStatistics() {
        ReportView view = latest.get();
        if (view == null) {
            return;
        }
        StatisticsEvent event = new StatisticsEvent();
        if (!event.shouldCommit()) {
            return;
        }
        Snapshot snapshot = view.snapshot();
        boolean running = view.state().running();
        event.snapshotTime = snapshot.time().toEpochMilli();
        event.probeMode = view.probeMode();
        event.probesAttached = running ? view.attachedProbes() : 0;
        event.allocator = view.state().allocator();
        event.outstandingBytes = snapshot.totalBytes();
        event.outstandingAllocations = snapshot.totalCount();
        event.stacks = snapshot.stackCount();
        event.estimated = snapshot.estimated();
        event.sampleRate = snapshot.sampleRate();
        event.bytesAllocated = view.bytesAllocated();
        event.bytesFreed = view.bytesFreed();
        event.allocationCalls = view.sinceBaseline(Stat.ALLOC_CALLS);
        event.failedAllocations = view.sinceBaseline(Stat.ALLOC_FAILED);
        event.allocationRate = view.bytesPerSecond();
        event.allocationCallRate = view.callsPerSecond();
        event.allocationsNotTracked = view.notTracked();
        event.allocationsWithoutStack = view.withoutStack();
        event.allocationMapFill = view.allocationMapFill();
        event.mapMemory = running ? view.mapMemoryBytes() : 0;
        if (snapshot.memory() != null) {
            event.memoryVerdict = snapshot.memory().text();
            event.rss = snapshot.memory().now().rssBytes();
        }
        event.commit();
    }

    private void emitStacks() {
        ReportView view = latest.get();
        if (view == null) {
            return;
        }
        long time = view.snapshot().time().toEpochMilli();
        for (ReportView.StackView stack : view.stacks()) {
            OutstandingStackEvent event = new OutstandingStackEvent();
            if (!event.shouldCommit()) {
                return;
            }
            StackReport report = stack.report();
            event.snapshotTime = time;
            event.rank = stack.rank();
            event.stackId = report.stackId();
            event.bytes = report.bytes();
            event.allocations = report.count();
            event.estimated = report.estimated();
            event.oldestAge = report.oldestAgeNanos() < 0 ? Long.MIN_VALUE : report.oldestAgeNanos();
            event.growth = stack.growthBytes();
            event.allocationGrowth = stack.growthAllocations();
            event.topJavaFrame = stack.topJavaFrame();
            event.topNativeFrame = stack.topNativeFrame();
            event.frameCount = report.frames().size();
            event.stack = stack.stackText();
            event.commit();
        }
    }

    private void emitSuspects() {
        ReportView view = latest.get();
        if (view == null || view.snapshot().leaks() == null) {
            return;
        }
        long time = view.snapshot().time().toEpochMilli();
        int rank = 0;
        for (LeakDetector.Suspect suspect : view.snapshot().leaks().suspects()) {
            LeakSuspectEvent event = new LeakSuspectEvent();
            if (!event.shouldCommit()) {
                return;
            }
            event.snapshotTime = time;
            event.rank = ++rank;
            event.stackId = suspect.stackId();
            event.bytesPerMinute = Math.round(suspect.bytesPerMinute());
            event.since = suspect.since().toEpochMilli();
            event.confidence = suspect.confidence().text();
            event.evidence = suspect.evidence();
            event.bytes = suspect.bytes();
            event.allocations = suspect.count();
            event.topJavaFrame = Frames.topJava(suspect.frames());
            event.topNativeFrame = Frames.topNative(suspect.frames());
            event.stack = Frames.text(suspect.frames());
            if (!suspect.owners().isEmpty()) { // else the owner fields stay unset: no owner known
                event.owners = OwnerCount.text(suspect.owners());
                for (OwnerCount owner : suspect.owners()) {
                    event.ownersLive += owner.live();
                    event.ownersUnreachable += owner.unreachable();
                    event.ownersAwaitingCleaner += owner.awaitingCleaner();
                }
            }
            event.commit();
        }
    }

    /**
     * On the reporter thread after each report: when a recording wants Allocation events, reads the outstanding
     * allocations once more with their addresses and commits those made since the previous report.
     */
    /** {@link #afterReport}: with every report's view. */
    @Override
    public void accept(ReportView view) {
        afterReport(view);
    }

    public void afterReport(ReportView view) {
        if (!registered() || !new AllocationEvent().isEnabled() || view.snapshot().stat(Stat.ALLOC_TRACKED) == 0) {
            return;
        }
        Snapshot full = control.snapshotNow(JfrEvents::listingAll);
        if (full == null) {
            return;
        }
        // Each allocation once: those made after the previous listing (or the previous report, or the attach).
        Instant from = listedUntil != null && listedUntil.isAfter(view.intervalStart()) ? listedUntil
                : view.intervalStart();
        listedUntil = full.time();
        long windowNanos = Instants.nanosBetween(from, full.time());
        long sampleRate = full.sampleRate();
        for (StackReport stack : full.stacks()) {
            String javaFrame = null;
            String nativeFrame = null;
            String text = null;
            for (Allocation allocation : stack.allocations()) {
                if (allocation.ageNanos() > windowNanos) {
                    continue;
                }
                AllocationEvent event = new AllocationEvent();
                event.size = allocation.size();
                if (!event.shouldCommit()) {
                    break; // below minSize: the rest of the list is smaller still
                }
                if (text == null) {
                    javaFrame = Frames.topJava(stack.frames());
                    nativeFrame = Frames.topNative(stack.frames());
                    text = Frames.text(stack.frames());
                }
                event.address = allocation.address();
                event.age = allocation.ageNanos();
                event.allocationTime = full.time().minusNanos(allocation.ageNanos()).toEpochMilli();
                event.sampleRate = sampleRate;
                event.stackId = stack.stackId();
                event.topJavaFrame = javaFrame;
                event.topNativeFrame = nativeFrame;
                event.stack = text;
                event.commit();
            }
        }
    }

    /** The report's settings, but every allocation of the first ALLOCATION_STACKS stacks, however young. */
    private static ReportSettings listingAll(ReportSettings s) {
        return s.withTop(Math.max(s.top(), ALLOCATION_STACKS)).withShowAllocs(true).withOlderMillis(0)
                .withCombinedOnly(false);
    }

    private static final class Periodic implements Runnable {
        static final int STATISTICS = 0;
        static final int STACKS = 1;
        static final int SUSPECTS = 2;
        private final JfrEvents events;
        private final int which;

        Periodic(JfrEvents events, int which) {
            this.events = events;
            this.which = which;
        }

        @Override
        public void run() {
            switch (which) {
                case STATISTICS -> events.emitStatistics();
                case STACKS -> events.emitStacks();
                default -> events.emitSuspects();
            }
        }
    }
}
