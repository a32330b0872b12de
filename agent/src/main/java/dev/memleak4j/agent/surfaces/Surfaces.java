package dev.memleak4j.agent.surfaces;

import dev.memleak4j.agent.MemleakAgent;
import dev.memleak4j.agent.jfr.JfrEvents;
import dev.memleak4j.agent.jmx.NativeMemory;
import dev.memleak4j.agent.json.JsonFileWriter;
import dev.memleak4j.agent.report.ReportSettings;
import dev.memleak4j.agent.report.SamplingText;
import dev.memleak4j.agent.report.Snapshot;

import java.time.Instant;

/**
 * Where memleak4j shows up besides the text report: JFR events, the {@code memleak4j:type=NativeMemory} MBean and
 * the {@code json=FILE} snapshot. Each is optional: one that cannot start (e.g. a runtime without jdk.jfr or
 * java.management) prints one line and the others go on.
 *
 * <p>All of them read the {@link ReportView} the reporter thread made last: reading BPF maps and symbolizing
 * allocate natively, and only the reporter thread is excluded from tracking, so JFR's and JMX's threads never do.
 */
public final class Surfaces {
    private static Surfaces installed;

    private final MemleakAgent agent;
    private final JfrEvents jfr;
    private final JsonFileWriter json;
    private final ViewFiles viewFiles;
    private volatile ReportView view;
    private ReportView previous;
    private ReportView.Baseline baseline;

    private Surfaces(MemleakAgent agent) {
        this.agent = agent;
        this.jfr = tryStart("JFR events", () -> JfrEvents.install(this));
        this.json = agent.options().json() == null ? null : new JsonFileWriter(agent.options().json());
        this.viewFiles = ViewFiles.of(agent.options());
    }

    /** Called once the agent runs: JFR events, the MBean, the JSON file. Never throws. */
    public static synchronized void install(MemleakAgent agent) {
        try {
            uninstall();
            Surfaces surfaces = new Surfaces(agent);
            installed = surfaces;
            agent.addSnapshotListener(surfaces::onSnapshot);
            tryStart("the MBean", () -> {
                NativeMemory.register();
                return null;
            });
        } catch (Throwable e) {
            log("reporting surfaces not started: " + e);
        }
    }

    /** memleak4j could not start: the MBean still registers, so that its Status says why. Never throws. */
    public static synchronized void installNotStarted() {
        tryStart("the MBean", () -> {
            NativeMemory.register();
            return null;
        });
    }

    /** Removes the periodic JFR hooks and the MBean. */
    public static synchronized void uninstall() {
        if (installed != null) {
            if (installed.jfr != null) {
                installed.jfr.uninstall();
            }
            installed = null;
        }
        try {
            NativeMemory.unregister();
        } catch (Throwable e) {
            // no MBean to remove (e.g. no java.management module)
        }
    }

    /** The installed surfaces, or null when memleak4j does not run. */
    public static synchronized Surfaces current() {
        return installed;
    }

    public MemleakAgent agent() {
        return agent;
    }

    /** The latest report, or null before the first. */
    public ReportView view() {
        return view;
    }

    /** Runs on the reporter thread after every report. */
    private void onSnapshot(Snapshot snapshot) {
        if (current() != this) {
            return; // an agent that was shut down keeps its listener; it no longer reports here
        }
        ReportView made;
        synchronized (this) {
            made = ReportView.of(snapshot, view, baseline, agent.mapMemoryBytes(), agent.attachedProbes(),
                    probeMode(agent), agent.options().maxAllocs());
            previous = view;
            view = made;
        }
        if (json != null) {
            json.write(made, agent);
        }
        if (viewFiles != null) {
            viewFiles.write(snapshot);
        }
        if (jfr != null) {
            jfr.afterReport(made, agent);
        }
    }

    /** Growth since the baseline and the "since" counters start over at the latest report. */
    public synchronized void resetBaseline() {
        ReportView current = view;
        if (current == null) {
            return;
        }
        baseline = current.asBaseline(Instant.now());
        view = current.withBaseline(baseline, previous);
    }

    /** Running: how the allocator is probed and what is sampled; else {@code stopped: why}. */
    public static String probeMode(MemleakAgent agent) {
        String how = agent.probeMode();
        if (how == null) {
            return "stopped: " + (agent.stopReason() != null ? agent.stopReason() : "probes not attached");
        }
        ReportSettings settings = agent.settings();
        long now = agent.sampleBytesNow();
        String sampling = SamplingText.of(settings.sampleRate(), settings.sampleBytes(), now);
        return how + ", " + sampling + (settings.combinedOnly() ? ", per-stack counters only" : "");
    }

    private interface Starter<T> {
        T start() throws Exception;
    }

    private static <T> T tryStart(String what, Starter<T> starter) {
        try {
            return starter.start();
        } catch (Throwable e) {
            log(what + " not available: " + e + "; the other reports go on");
            return null;
        }
    }

    static void log(String message) {
        System.err.println("memleak4j: " + message);
    }
}
