package dev.memleak4j.it.programs;

import java.lang.instrument.Instrumentation;

/**
 * "Another agent" for tests: a {@code -javaagent} (a jar holding only a manifest that names this class; the class
 * comes from the class path) that keeps its Instrumentation, so that a program can retransform a class the way a
 * profiler or a debugger would.
 */
public final class RetransformingAgent {
    private static volatile Instrumentation instrumentation;

    private RetransformingAgent() {}

    public static void premain(String options, Instrumentation inst) {
        instrumentation = inst;
    }

    /** Retransforms {@code type} with no transformer of this agent's: what the JVM does keeps the original bytes. */
    public static void retransform(Class<?> type) throws Exception {
        if (instrumentation == null) {
            throw new IllegalStateException("RetransformingAgent was not loaded as -javaagent");
        }
        instrumentation.retransformClasses(type);
    }
}
