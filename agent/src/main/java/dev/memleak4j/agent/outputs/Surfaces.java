package dev.memleak4j.agent.outputs;

import dev.memleak4j.agent.report.Snapshot;

import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Where memleak4j shows up besides the text report (JFR events, the MBean, the JSON and view files) reads its
 * reports: the latest {@link ReportView}, made on the reporter thread from the snapshot and the agent's state it is
 * handed. Reading BPF maps and symbolizing allocate natively, and only the reporter thread is excluded from tracking,
 * so JFR's and JMX's threads never do: they read the view made last.
 *
 * <p>Each output is optional: one that fails to write says so and the others go on.
 */
public final class Surfaces implements Supplier<ReportView> {
    private final ViewFiles viewFiles;
    private final List<Consumer<ReportView>> outputs = new CopyOnWriteArrayList<>();
    private volatile ReportView view;
    private ReportView previous;
    private ReportView.Baseline baseline;

    /** @param viewFiles the flame graph, pprof and JFR files asked for; null when none */
    public Surfaces(ViewFiles viewFiles) {
        this.viewFiles = viewFiles;
    }

    /** Called on the reporter thread with every report's view (JSON file, JFR's Allocation events). */
    public void addOutput(Consumer<ReportView> output) {
        outputs.add(output);
    }

    /** The latest report, or null before the first. */
    public ReportView view() {
        return view;
    }

    /** {@link #view}: the JFR events read it (a Supplier, not a method reference's hidden class). */
    @Override
    public ReportView get() {
        return view;
    }

    /** On the reporter thread after every report: the snapshot and the agent's state at it. */
    public void onReport(Snapshot snapshot, AgentState state) {
        ReportView made;
        synchronized (this) {
            made = ReportView.of(snapshot, view, baseline, state);
            previous = view;
            view = made;
        }
        if (viewFiles != null) {
            viewFiles.write(snapshot);
        }
        for (Consumer<ReportView> output : outputs) {
            output.accept(made);
        }
    }

    /** The agent's state changed between reports (the probes stopped): the latest view says so. */
    public synchronized void stateChanged(AgentState state) {
        ReportView current = view;
        if (current != null) {
            view = current.withState(state);
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

    static void log(String message) {
        System.err.println("memleak4j: " + message);
    }
}
