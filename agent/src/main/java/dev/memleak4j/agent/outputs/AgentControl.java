package dev.memleak4j.agent.outputs;

import dev.memleak4j.agent.report.ReportSettings;
import dev.memleak4j.agent.report.Snapshot;

import java.io.IOException;
import java.util.function.UnaryOperator;

/**
 * What the outputs may ask of the agent: its state, and the few operations JMX offers (probes on and off, settings,
 * a snapshot now). The outputs are handed this, never the agent itself; everything else reaches them as a
 * {@link ReportView} made on the reporter thread.
 */
public interface AgentControl {
    /** {@code running}, {@code stopped: why} or {@code not started: why}. */
    String status();

    /** Whether the probes are on. */
    boolean running();

    /** The agent's state now; null when it did not start. */
    AgentState state();

    /** The latest report as the outputs show it; null before the first. */
    ReportView lastReport();

    void setIntervalSeconds(int seconds);

    void setTop(int top);

    void setSampleRate(long rate);

    void setSizeRange(long min, long max);

    void startProbes() throws IOException;

    void stopProbes();

    /** Growth since the baseline and the "since" counters start over at the latest report. */
    void resetBaseline();

    /**
     * A snapshot with every stack (flame graph, pprof, JFR file on demand), taken on the reporter thread unless the
     * last report has them; null while the probes are off.
     */
    Snapshot completeSnapshot() throws InterruptedException;

    /** A snapshot taken now with changed settings (JFR's Allocation event lists addresses); null while off. */
    Snapshot snapshotNow(UnaryOperator<ReportSettings> change);

    /** memleak4j tried to start and could not: the MBean still answers, and says why. */
    static AgentControl notStarted(String problem) {
        String why = problem == null ? "memleak4j was not started or was shut down" : problem;
        return new AgentControl() {
            private IllegalStateException notRunning() {
                return new IllegalStateException("memleak4j is not running: " + why);
            }

            @Override public String status() { return "not started: " + why; }
            @Override public boolean running() { return false; }
            @Override public AgentState state() { return null; }
            @Override public ReportView lastReport() { return null; }
            @Override public void setIntervalSeconds(int seconds) { throw notRunning(); }
            @Override public void setTop(int top) { throw notRunning(); }
            @Override public void setSampleRate(long rate) { throw notRunning(); }
            @Override public void setSizeRange(long min, long max) { throw notRunning(); }
            @Override public void startProbes() { throw notRunning(); }
            @Override public void stopProbes() { throw notRunning(); }
            @Override public void resetBaseline() { throw notRunning(); }
            @Override public Snapshot completeSnapshot() { throw notRunning(); }
            @Override public Snapshot snapshotNow(UnaryOperator<ReportSettings> change) { throw notRunning(); }
        };
    }
}
