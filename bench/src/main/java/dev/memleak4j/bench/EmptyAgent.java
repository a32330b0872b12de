package dev.memleak4j.bench;

/**
 * A Java agent that does nothing: the bench jar's {@code Premain-Class}, for the "do-nothing -javaagent" column.
 *
 * <p>Why it is measured: whatever an agent does, {@code -javaagent} makes the JVM add {@code java.instrument} to the
 * boot layer's modules ({@code jdk.module.addmods}), and the class-data sharing archive's module graph was dumped
 * without it, so the JVM builds the module graph on the heap instead of mapping the archived one
 * ({@code -Xlog:cds} says "optimized module handling: disabled"). Those objects are then marked and moved by every
 * full GC. This column shows what the JDK charges any Java agent in a workload, apart from what the agent's own work
 * and weight cost.
 */
public final class EmptyAgent {
    private EmptyAgent() {}

    public static void premain(String arguments) {
        // nothing: the JVM's part of -javaagent is what this column measures
    }
}
