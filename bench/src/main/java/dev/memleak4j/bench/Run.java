package dev.memleak4j.bench;

import java.nio.file.Path;

/** One child JVM's results. */
final class Run {
    String error;
    long ops;
    long nanos;
    long cpuNanos = -1;
    long calls = -1;
    long rssKb = -1;
    long hwmKb = -1;
    long bpfMapBytes = -1;
    int bpfMaps;
    long bpfProgBytes = -1;
    long heldAllocNanos = -1;
    Run before;
    long reportedAllocations = -1;
    /** Classes loaded at the end of the window; full GCs in the window and their total pause. */
    long classes = -1;
    long fullGcs;
    long fullGcMillis;
    /** CPU time of the GC threads in the window, ms; -1: not read. */
    long gcCpuMillis = -1;
    /** Objects live after a full GC once the window closed (jcmd GC.class_histogram); -1: not read. */
    long liveObjects = -1;
    /** memleak4j's traps into the kernel per second during the window (its BPF counters); NaN: not read. */
    double trapsPerSecond = Double.NaN;
    /** CPUs busy with other processes while this child ran (machine busy time minus the child's), average. */
    double otherCpus = Double.NaN;
    /** When memleak4j began tracking, ms after the JVM started (the child's warm-up began then); -1: no agent. */
    long trackingUptimeMs = -1;
    String untrackedLine;
    Path log;

    boolean ok() {
        return error == null;
    }

    double opsPerSecond() {
        return ops * 1e9 / nanos;
    }

    double cpuNanosPerOp() {
        return cpuNanos < 0 ? Double.NaN : (double) cpuNanos / ops;
    }
}
