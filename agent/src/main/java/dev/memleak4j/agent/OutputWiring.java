package dev.memleak4j.agent;

import dev.memleak4j.agent.jfr.JfrEvents;
import dev.memleak4j.agent.jmx.NativeMemory;
import dev.memleak4j.agent.json.JsonFileWriter;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.report.TextReportWriter;
import dev.memleak4j.agent.outputs.AgentControl;
import dev.memleak4j.agent.outputs.AgentState;
import dev.memleak4j.agent.outputs.Surfaces;
import dev.memleak4j.agent.outputs.ViewFiles;

/**
 * The outputs of one agent, each handed every report's snapshot and the agent's state at it: the text report, and
 * besides it JFR events, the {@code memleak4j:type=NativeMemory} MBean, the {@code json=} file and the view files.
 * Each of the latter is optional: one that cannot start (e.g. a runtime without jdk.jfr or java.management) prints one
 * line and the others go on. Nothing of an output is loaded unless the options ask for it.
 */
final class OutputWiring {
    private final TextReportWriter text;
    private final Surfaces surfaces;
    private final JfrEvents jfr;

    private OutputWiring(TextReportWriter text, Surfaces surfaces, JfrEvents jfr) {
        this.text = text;
        this.surfaces = surfaces;
        this.jfr = jfr;
    }

    /** For a started agent. Never throws: an output that fails says so and is left out. */
    static OutputWiring install(AgentOptions options, AgentControl control, TextReportWriter text) {
        Surfaces surfaces = new Surfaces(ViewFiles.of(options.flamegraph(), options.pprof(), options.jfrFile()));
        // Plain try blocks, not lambdas: each lambda's first use leaves a hidden class and its method handles in the
        // application's JVM for good (every full GC walks them).
        JfrEvents jfr = null;
        try {
            jfr = JfrEvents.install(surfaces, control);
            surfaces.addOutput(jfr);
        } catch (Throwable e) {
            notAvailable("JFR events", e);
        }
        if (options.json() != null) {
            JsonFileWriter json = new JsonFileWriter(options.json());
            surfaces.addOutput(json::write);
        }
        registerMBean(control);
        return new OutputWiring(text, surfaces, jfr);
    }

    /** memleak4j could not start: the MBean still registers, so that its Status says why. Never throws. */
    static void installNotStarted(String problem) {
        registerMBean(AgentControl.notStarted(problem));
    }

    Surfaces surfaces() {
        return surfaces;
    }

    /** On the reporter thread, with every report: the text report first, then the others. */
    void report(Snapshot snapshot, AgentState state) {
        text.write(snapshot, state.losses());
        surfaces.onReport(snapshot, state);
        NativeMemory.registerIfMissed(AgentLog.LINES);
    }

    /** On the reporter thread between reports (every 200 ms or so): JFR's events once Flight Recorder has started. */
    void betweenReports() {
        if (jfr != null) {
            jfr.registerIfRecorderStarted();
        }
    }

    /** The reports stopped: JFR's events are registered by a listener from now on. */
    void reportsStopped() {
        if (jfr != null) {
            try {
                jfr.listenForRecorderStart();
            } catch (Throwable e) {
                notAvailable("JFR events", e);
            }
        }
    }

    /** Removes the periodic JFR hooks and the MBean, and closes the text report's file. */
    void uninstall() {
        text.close();
        if (jfr != null) {
            jfr.uninstall();
        }
        try {
            NativeMemory.unregister();
        } catch (Throwable e) {
            // no MBean to remove (e.g. no java.management module)
        }
    }

    private static void registerMBean(AgentControl control) {
        try {
            NativeMemory.register(control, AgentLog.LINES);
        } catch (Throwable e) {
            notAvailable("the MBean", e);
        }
    }

    private static void notAvailable(String what, Throwable e) {
        AgentLog.line(what + " not available: " + e + "; the other reports go on");
    }
}
