package dev.memleak4j.agent;

import java.util.function.Consumer;

/** The agent's own lines on stderr, each prefixed {@code memleak4j: } so users and tests can tell them apart. */
final class AgentLog {
    private AgentLog() {}

    /**
     * {@link #line} for those that take a log: one object for every caller, not a method reference's hidden class
     * (and its method handles, for good in the application's JVM) per call site.
     */
    static final Consumer<String> LINES = new Lines(true);
    private static final Consumer<String> SILENT = new Lines(false);

    static void line(String message) {
        System.err.println("memleak4j: " + message);
    }

    /** A log that prints only when {@code verbose} was given. */
    static Consumer<String> verbose(boolean verbose) {
        return verbose ? LINES : SILENT;
    }

    private static final class Lines implements Consumer<String> {
        private final boolean print;

        Lines(boolean print) {
            this.print = print;
        }

        @Override
        public void accept(String message) {
            if (print) {
                line(message);
            }
        }
    }
}
