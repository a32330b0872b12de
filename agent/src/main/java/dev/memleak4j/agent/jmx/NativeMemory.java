package dev.memleak4j.agent.jmx;

import dev.memleak4j.agent.bpf.Stat;
import dev.memleak4j.agent.json.JsonSnapshot;
import dev.memleak4j.agent.leaks.LeakDetector;
import dev.memleak4j.agent.report.ReportSettings;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.report.TextReport;
import dev.memleak4j.agent.stacks.Frame;
import dev.memleak4j.agent.outputs.AgentControl;
import dev.memleak4j.agent.outputs.AgentState;
import dev.memleak4j.agent.outputs.ReportView;
import dev.memleak4j.agent.outputs.ViewFiles;
import dev.memleak4j.agent.views.flamegraph.FlameGraph;
import dev.memleak4j.agent.views.jfrfile.JfrRecording;
import dev.memleak4j.agent.views.pprof.PprofProfile;

import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The MBean. It holds nothing but the {@link AgentControl} it is given: every call reads the agent's state and its
 * latest report through it, so one registration serves a running agent, a stopped one and one that never started.
 * Exceptions thrown to clients are JDK classes carrying only a message, so a client without our classes can read
 * them.
 */
public final class NativeMemory implements NativeMemoryMXBean {
    private final AgentControl control;

    private NativeMemory(AgentControl control) {
        this.control = control;
    }

    /** The control the MBean is registered for, or is to be once the platform MBeanServer is made; null when none. */
    private static volatile AgentControl pending;
    /** Where the MBean is registered and which one; guarded by NativeMemory.class. */
    private static MBeanServer registeredIn;
    private static NativeMemory registered;

    /**
     * Registers the MBean for {@code control} (in place of any registered before) in the platform MBeanServer: now
     * when that server exists, else as soon as somebody makes it ({@link LazyRegistration}): the agent does not make
     * it. {@code log} gets one line when a later registration fails.
     */
    public static void register(AgentControl control, Consumer<String> log) throws JMException {
        pending = control;
        boolean lazy = LazyRegistration.arm(new OnPlatformServer(log));
        if (!lazy || LazyRegistration.serverExists()) {
            registerIn(ManagementFactory.getPlatformMBeanServer());
        }
    }

    /**
     * After each report: registers the MBean when the platform server was made without the agent's builder (the
     * application set {@value LazyRegistration#PROPERTY} after the agent's start) and exists now. A registration that
     * fails is said once, through {@code log}, and not tried again.
     */
    public static void registerIfMissed(Consumer<String> log) {
        boolean missed;
        synchronized (NativeMemory.class) {
            missed = pending != null && registeredIn == null;
        }
        if (missed && !LazyRegistration.armed() && LazyRegistration.serverExists()) {
            LazyRegistration.disarm();
            registerLater(ManagementFactory.getPlatformMBeanServer(), log);
        }
    }

    /**
     * Registers the MBean in the platform server just made, once (a class, not a lambda: a hidden class for it would
     * stay in every JVM the agent runs in, JMX used or not).
     */
    private static final class OnPlatformServer implements Consumer<MBeanServer> {
        private final Consumer<String> log;

        OnPlatformServer(Consumer<String> log) {
            this.log = log;
        }

        @Override
        public void accept(MBeanServer server) {
            try {
                registerLater(server, log);
            } finally {
                LazyRegistration.disarm();
            }
        }
    }

    /** A registration after the start: one line when it fails, and no later try. */
    private static void registerLater(MBeanServer server, Consumer<String> log) {
        try {
            registerIn(server);
        } catch (JMException | RuntimeException e) {
            pending = null;
            log.accept("the MBean not available: " + e + "; the other reports go on");
        }
    }

    /** Registers the MBean for the pending control in {@code server}; nothing when it is there already. */
    private static synchronized void registerIn(MBeanServer server) throws JMException {
        AgentControl control = pending;
        if (control == null || (registeredIn == server && registered.control == control)) {
            return;
        }
        ObjectName name = new ObjectName(OBJECT_NAME);
        if (server.isRegistered(name)) {
            server.unregisterMBean(name);
        }
        NativeMemory bean = new NativeMemory(control);
        server.registerMBean(bean, name);
        registeredIn = server;
        registered = bean;
    }

    /** Removes the MBean, or the wait for the platform server; never makes that server. */
    public static void unregister() throws JMException {
        pending = null;
        LazyRegistration.disarm();
        MBeanServer server;
        synchronized (NativeMemory.class) {
            server = registeredIn;
            registeredIn = null;
            registered = null;
        }
        if (server != null) {
            try {
                server.unregisterMBean(new ObjectName(OBJECT_NAME));
            } catch (InstanceNotFoundException e) {
                // unregistered by somebody else
            }
        }
    }

    private ReportView view() {
        return control.lastReport();
    }

    /** The agent's state now; throws, saying why, when it is not running. */
    private AgentState requireState() {
        AgentState state = control.state();
        if (state == null) {
            throw new IllegalStateException("memleak4j is " + control.status());
        }
        return state;
    }

    @Override
    public String getStatus() {
        return control.status();
    }

    @Override
    public boolean isRunning() {
        return control.running();
    }

    @Override
    public String getProbeMode() {
        AgentState state = control.state();
        return state == null ? getStatus() : state.probeMode();
    }

    @Override
    public int getAttachedProbes() {
        AgentState state = control.state();
        return state == null ? 0 : state.attachedProbes();
    }

    @Override
    public long getAllocatorCallCostNanos() {
        AgentState state = control.state();
        return state == null ? 0 : state.callCostNanos();
    }

    @Override
    public String getAllocator() {
        AgentState state = control.state();
        return state == null ? "" : state.allocator();
    }

    @Override
    public String getSnapshotTime() {
        ReportView view = view();
        return view == null ? "" : view.snapshot().time().toString();
    }

    @Override
    public long getOutstandingBytes() {
        ReportView view = view();
        return view == null ? 0 : view.snapshot().totalBytes();
    }

    @Override
    public long getOutstandingAllocations() {
        ReportView view = view();
        return view == null ? 0 : view.snapshot().totalCount();
    }

    @Override
    public int getStackCount() {
        ReportView view = view();
        return view == null ? 0 : view.snapshot().stackCount();
    }

    @Override
    public boolean isEstimated() {
        ReportView view = view();
        return view != null && view.snapshot().estimated();
    }

    @Override
    public String getBaselineTime() {
        ReportView view = view();
        return view == null ? "" : view.baselineTime().toString();
    }

    @Override
    public long getBytesAllocated() {
        ReportView view = view();
        return view == null ? 0 : view.bytesAllocated();
    }

    @Override
    public long getBytesFreed() {
        ReportView view = view();
        return view == null ? 0 : view.bytesFreed();
    }

    @Override
    public long getAllocationCalls() {
        return since(Stat.ALLOC_CALLS);
    }

    @Override
    public long getFreeCalls() {
        return since(Stat.FREE_CALLS);
    }

    @Override
    public long getFailedAllocations() {
        return since(Stat.ALLOC_FAILED);
    }

    private long since(Stat stat) {
        ReportView view = view();
        return view == null ? 0 : view.sinceBaseline(stat);
    }

    @Override
    public long getAllocationBytesPerSecond() {
        ReportView view = view();
        return view == null ? 0 : view.bytesPerSecond();
    }

    @Override
    public long getAllocationCallsPerSecond() {
        ReportView view = view();
        return view == null ? 0 : view.callsPerSecond();
    }

    @Override
    public long getAllocationsNotTracked() {
        ReportView view = view();
        return view == null ? 0 : view.notTracked();
    }

    @Override
    public long getAllocationsWithoutStack() {
        ReportView view = view();
        return view == null ? 0 : view.withoutStack();
    }

    @Override
    public long getMapMemoryBytes() {
        ReportView view = view();
        return view == null || !isRunning() ? 0 : view.mapMemoryBytes();
    }

    @Override
    public String getMemoryVerdict() {
        ReportView view = view();
        return view == null || view.snapshot().memory() == null ? "" : view.snapshot().memory().text();
    }

    @Override
    public long getRssBytes() {
        ReportView view = view();
        return view == null || view.snapshot().memory() == null ? 0 : view.snapshot().memory().now().rssBytes();
    }

    @Override
    public SuspectInfo[] getLeakSuspects() {
        ReportView view = view();
        if (view == null || view.snapshot().leaks() == null) {
            return new SuspectInfo[0];
        }
        List<LeakDetector.Suspect> suspects = view.snapshot().leaks().suspects();
        SuspectInfo[] infos = new SuspectInfo[suspects.size()];
        for (int i = 0; i < infos.length; i++) {
            LeakDetector.Suspect suspect = suspects.get(i);
            infos[i] = new SuspectInfo(i + 1, Long.toHexString(suspect.stackId()),
                    Math.round(suspect.bytesPerMinute()), suspect.since().toString(), suspect.confidence().text(),
                    suspect.evidence(), suspect.bytes(), suspect.count(), texts(suspect.frames()),
                    suspect.owners().stream().map(o -> new OwnerInfo(o.className(), o.live(), o.unreachable(),
                            o.awaitingCleaner())).toArray(OwnerInfo[]::new));
        }
        return infos;
    }

    private static String[] texts(List<Frame> frames) {
        String[] texts = new String[frames.size()];
        for (int f = 0; f < texts.length; f++) {
            texts[f] = frames.get(f).text();
        }
        return texts;
    }

    @Override
    public StackInfo[] getTopStacks() {
        ReportView view = view();
        if (view == null) {
            return new StackInfo[0];
        }
        List<ReportView.StackView> stacks = view.stacks();
        StackInfo[] infos = new StackInfo[stacks.size()];
        for (int i = 0; i < infos.length; i++) {
            ReportView.StackView stack = stacks.get(i);
            String[] texts = texts(stack.report().frames());
            long age = stack.report().oldestAgeNanos();
            infos[i] = new StackInfo(stack.rank(), Long.toHexString(stack.report().stackId()), stack.report().bytes(),
                    stack.report().count(), age < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(age), stack.growthBytes(),
                    stack.growthSinceBaselineBytes(), orEmpty(stack.topJavaFrame()), orEmpty(stack.topNativeFrame()),
                    texts);
        }
        return infos;
    }

    @Override
    public SettingsInfo getSettings() {
        AgentState state = requireState();
        ReportSettings s = state.settings();
        return new SettingsInfo(s.intervalSeconds(), s.top(), s.showAllocs(), s.olderMillis(), s.combinedOnly(),
                s.sampleRate(), s.sampleBytes(), s.minSize(), s.maxSize(), state.jsonFile(), state.outputFile());
    }

    @Override
    public int getIntervalSeconds() {
        return requireState().settings().intervalSeconds();
    }

    @Override
    public void setIntervalSeconds(int seconds) {
        update(() -> control.setIntervalSeconds(seconds));
    }

    @Override
    public int getTop() {
        return requireState().settings().top();
    }

    @Override
    public void setTop(int top) {
        update(() -> control.setTop(top));
    }

    @Override
    public long getSampleRate() {
        return requireState().settings().sampleRate();
    }

    @Override
    public long getSampleBytesNow() {
        return requireState().sampleBytesNow();
    }

    @Override
    public void setSampleRate(long rate) {
        update(() -> control.setSampleRate(rate));
    }

    @Override
    public void setSizeRange(long min, long max) {
        update(() -> control.setSizeRange(min, max));
    }

    @Override
    public String textSnapshot() {
        ReportView view = view();
        return view == null ? "no report yet (" + getStatus() + ")\n"
                : TextReport.format(view.snapshot(), view.state().losses());
    }

    @Override
    public String jsonSnapshot() {
        ReportView view = view();
        if (view == null) {
            throw new IllegalStateException("no report yet (" + getStatus() + ")");
        }
        return JsonSnapshot.toJson(view);
    }

    @Override
    public String flameGraphHtml() {
        Snapshot snapshot = completeSnapshot();
        return render(() -> FlameGraph.html(snapshot, ViewFiles.title(snapshot)));
    }

    @Override
    public byte[] pprofProfile() {
        Snapshot snapshot = completeSnapshot();
        return render(() -> PprofProfile.gzipped(snapshot, ViewFiles.title(snapshot)));
    }

    @Override
    public byte[] jfrRecording() {
        Snapshot snapshot = completeSnapshot();
        return render(() -> JfrRecording.bytes(snapshot));
    }

    private Snapshot completeSnapshot() {
        Snapshot snapshot;
        try {
            snapshot = control.completeSnapshot();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the snapshot");
        } catch (RuntimeException e) {
            throw new IllegalStateException("no snapshot: " + e.getMessage());
        }
        if (snapshot == null) {
            throw new IllegalStateException("no snapshot: the probes are off (" + getStatus() + ")");
        }
        return snapshot;
    }

    /** Only a message crosses to the client: it may not have our classes (or the JFR writer may not load here). */
    private static <T> T render(java.util.function.Supplier<T> view) {
        try {
            return view.get();
        } catch (RuntimeException | LinkageError e) {
            throw new IllegalStateException("cannot make it: " + e);
        }
    }

    @Override
    public void resetBaseline() {
        control.resetBaseline();
    }

    @Override
    public void stopProbes() {
        control.stopProbes();
    }

    @Override
    public void startProbes() {
        try {
            control.startProbes();
        } catch (Exception e) {
            // Only the message crosses: the client may not have our exception classes.
            throw new IllegalStateException("probes not started: " + (e.getMessage() != null ? e.getMessage()
                    : e.getClass().getSimpleName()));
        }
    }

    /** A value out of range stays an IllegalArgumentException; only JDK classes and a message reach the client. */
    private static void update(Runnable change) {
        try {
            change.run();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage());
        } catch (RuntimeException e) {
            throw new IllegalStateException(e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName());
        }
    }

    private static String orEmpty(String text) {
        return text == null ? "" : text;
    }
}
