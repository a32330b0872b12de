package dev.memleak4j.agent.jmx;

/**
 * memleak4j in JMX: outstanding native allocations of this JVM by stack, with the agent's settings and controls.
 * Registered on the platform MBeanServer as {@value #OBJECT_NAME} when memleak4j starts, and also when it could not
 * start (then {@link #getStatus()} says why). Open types only: jconsole, JMC and VisualVM need no class of ours.
 *
 * <p>Values are those of the latest report (every {@code interval} seconds); "since" counters and growth since the
 * baseline count from the probes' attach or from {@link #resetBaseline()}. Amounts are estimates when
 * {@link #isEstimated()}.
 */
public interface NativeMemoryMXBean {
    /** The ObjectName memleak4j registers this MBean under. */
    String OBJECT_NAME = "memleak4j:type=NativeMemory";

    /** {@code running}, {@code stopped: why} or {@code not started: why}. */
    String getStatus();

    boolean isRunning();

    /** How the allocator is probed and sampled, or {@code stopped: why}. */
    String getProbeMode();

    /** Uprobes attached now (0 when stopped). */
    int getAttachedProbes();

    /**
     * ns every allocator call of this JVM pays for the probes, timed at the last start (with hooks: the hook, and the
     * sampled calls' traps spread over all calls; with uprobes: the kernel's trap); 0 when stopped. Times
     * {@link #getAllocationCallsPerSecond()} and the free calls, it is the CPU the probes take.
     */
    long getAllocatorCallCostNanos();

    /** The library whose allocator is probed. */
    String getAllocator();

    /** When the latest report was taken (ISO-8601), empty before the first. */
    String getSnapshotTime();

    long getOutstandingBytes();

    long getOutstandingAllocations();

    /** Stacks holding outstanding allocations (before the top cut). */
    int getStackCount();

    boolean isEstimated();

    /** When the "since" counters started (ISO-8601): the probes' attach or the last resetBaseline. */
    String getBaselineTime();

    long getBytesAllocated();

    long getBytesFreed();

    long getAllocationCalls();

    long getFreeCalls();

    long getFailedAllocations();

    long getAllocationBytesPerSecond();

    long getAllocationCallsPerSecond();

    long getAllocationsNotTracked();

    long getAllocationsWithoutStack();

    /** Kernel memory of the BPF maps at the latest report. */
    long getMapMemoryBytes();

    /**
     * The latest report's verdict on the process's memory, one line: native leak, glibc arenas keeping freed memory,
     * growth outside malloc, nothing growing or too early to tell, with RSS, glibc's figures and the JVM's pools;
     * empty before the first.
     */
    String getMemoryVerdict();

    /** The process's resident set at the latest report (0 before the first). */
    long getRssBytes();

    /**
     * The leak suspects of the latest report: stacks whose outstanding bytes grew over the leak window with nothing
     * freed, fastest-growing first; empty before the third report.
     */
    SuspectInfo[] getLeakSuspects();

    /** The latest report's top stacks, most outstanding bytes first. */
    StackInfo[] getTopStacks();

    SettingsInfo getSettings();

    int getIntervalSeconds();

    /** Seconds between reports, 1..86400; the next report uses it. */
    void setIntervalSeconds(int seconds);

    int getTop();

    /** Stacks per report, 1..10000. */
    void setTop(int top);

    long getSampleRate();

    /**
     * The byte-sampling interval new allocations are chosen under now: the sample-bytes setting, or a multiple of it
     * while max-tracked holds the rate of tracked allocations down; 0 when not sampling by bytes or stopped.
     */
    long getSampleBytesNow();

    /** Track one allocation in {@code rate} (1: every one), at once in the kernel. */
    void setSampleRate(long rate);

    /** Track only allocations of {@code min}..{@code max} bytes, at once in the kernel. */
    void setSizeRange(long min, long max);

    /** The latest report as text, as the agent prints it. */
    String textSnapshot();

    /** The latest report as the JSON document {@code json=FILE} writes. */
    String jsonSnapshot();

    /**
     * A self-contained HTML flame graph of every stack holding outstanding native memory now (as {@code flamegraph=}
     * writes it): the last report's when it had every stack, else a snapshot taken for this call.
     */
    String flameGraphHtml();

    /** A gzipped pprof profile ({@code inuse_space}, {@code inuse_objects}) of every stack, as {@code pprof=}. */
    byte[] pprofProfile();

    /** A JFR recording with one event per stack and its stack trace, as {@code jfr-file=}. */
    byte[] jfrRecording();

    /** Growth and the "since" counters start over at the latest report. */
    void resetBaseline();

    /** Detaches every probe and frees the BPF maps; the application runs on. */
    void stopProbes();

    /** Attaches the probes again; tracking starts over. */
    void startProbes();
}
