package dev.memleak4j.agent;

import dev.memleak4j.agent.AgentOptions.OptionException;

import java.lang.instrument.Instrumentation;

/**
 * The agent's entry points. Whatever goes wrong here, the application must run on: every failure becomes one line on
 * stderr and nothing is thrown back to the JVM.
 */
public final class Agent {
    private Agent() {}

    /** {@code java -javaagent:memleak4j-agent.jar[=options]}. */
    public static void premain(String arguments, Instrumentation instrumentation) {
        agentmain(arguments, instrumentation);
    }

    /** Loaded into a running JVM through the Attach API. */
    public static void agentmain(String arguments, Instrumentation instrumentation) {
        try {
            MemleakAgent.start(arguments);
        } catch (OptionException e) {
            MemleakAgent.log("bad option: " + e.getMessage() + "; memleak4j is not started, the application runs "
                    + "on ('help' lists the options)");
        } catch (Throwable e) {
            String message = e.getMessage() != null ? e.getMessage() : e.toString();
            MemleakAgent.log("not started: " + message + "; the application runs on without memleak4j");
        }
    }
}
