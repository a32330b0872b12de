package dev.memleak4j.agent;

import java.util.function.Consumer;

/** The agent's own lines on stderr, each prefixed {@code memleak4j: } so users and tests can tell them apart. */
final class AgentLog {
    private AgentLog() {}

    static void line(String message) {
        System.err.println("memleak4j: " + message);
    }

    /** A log that prints only when {@code verbose} was given. */
    static Consumer<String> verbose(boolean verbose) {
        return verbose ? AgentLog::line : message -> { };
    }
}
