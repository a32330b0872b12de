package dev.memleak4j.agent;

import dev.memleak4j.agent.report.ClockText;

import java.time.Instant;

/**
 * What other JVMs see of memleak4j in this one, through the Attach API's view of the system properties: the
 * command-line tool ({@code list}, {@code attach}, {@code detach}) reads them.
 */
public final class RunStatus {
    /** Set while memleak4j runs in this JVM: its version and since when it tracks. */
    public static final String RUNNING = "memleak4j.running";
    /**
     * Set while memleak4j starts in the background ({@code -javaagent}): an application that must have its first
     * allocations tracked can wait while it is set. Cleared when tracking began or the start failed.
     */
    public static final String STARTING = "memleak4j.starting";
    /** Set when the last start failed: the line the agent printed, for the tool to show. */
    public static final String PROBLEM = "memleak4j.problem";
    /** The argument that makes {@code agentmain} shut memleak4j down instead of starting it. */
    public static final String DETACH = "detach";

    private RunStatus() {}

    static void started(Instant since) {
        System.setProperty(RUNNING, version() + ", tracking since " + ClockText.of(since));
        System.clearProperty(PROBLEM);
    }

    static void starting() {
        System.setProperty(STARTING, version());
    }

    static void startEnded() {
        System.clearProperty(STARTING);
    }

    static void stopped() {
        System.clearProperty(RUNNING);
    }

    static void failed(String line) {
        System.setProperty(PROBLEM, line);
    }

    public static String version() {
        String version = RunStatus.class.getPackage().getImplementationVersion();
        return version != null ? version : "dev";
    }
}
