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
            if (arguments != null && arguments.trim().equals(RunStatus.DETACH)) {
                detach();
                return;
            }
            MemleakAgent.useInstrumentation(instrumentation);
            MemleakAgent.start(arguments);
        } catch (OptionException e) {
            failed("bad option: " + e.getMessage() + "; memleak4j is not started, the application runs "
                    + "on ('help' lists the options)");
        } catch (Throwable e) {
            String message = e.getMessage() != null ? e.getMessage() : e.toString();
            failed("not started: " + message + "; the application runs on without memleak4j");
        }
    }

    /** {@code java -jar memleak4j-agent.jar detach PID} loads the agent again with {@code detach}. */
    private static void detach() {
        if (MemleakAgent.current() == null) {
            MemleakAgent.log("detach: memleak4j is not running in this JVM");
            return;
        }
        MemleakAgent.shutdown();
        MemleakAgent.log("detached: every probe removed, BPF maps freed; the application runs on");
    }

    private static void failed(String line) {
        MemleakAgent.log(line);
        try {
            RunStatus.failed(line);
        } catch (RuntimeException e) {
            // A security manager may forbid setting properties; the line above already told the user.
        }
    }
}
