package dev.memleak4j.agent;

import dev.memleak4j.agent.AgentOptions.OptionException;

import java.lang.instrument.Instrumentation;

/**
 * The agent's entry points, {@code premain} and {@code agentmain} (the jar's Premain-Class and Agent-Class). Whatever
 * goes wrong here, the application must run on: every failure becomes one line on stderr and nothing is thrown back
 * to the JVM.
 *
 * <p>{@code premain} checks the options and returns: the rest of the start (BPF programs, symbol tables, the code
 * map, weaving) runs on a thread of its own, so that {@code main} does not wait for it. Allocations are tracked from
 * the start line on ("tracking native allocations ... since"); while the start runs the system property
 * {@link RunStatus#STARTING} is set. The start thread is a daemon ({@link BackgroundStart}): the JVM's exit does not
 * wait for it; a program that ends before tracking began gets one line saying so instead of a report.
 */
public final class AgentEntry {
    private AgentEntry() {}

    /** {@code java -javaagent:memleak4j-agent.jar[=options]}: starts memleak4j in the background. */
    public static void premain(String arguments, Instrumentation instrumentation) {
        try {
            AgentOptions options = AgentOptions.parse(arguments);
            if (options.help()) {
                System.err.print(AgentOptions.helpText());
                return;
            }
            AgentLifecycle.useInstrumentation(instrumentation);
            RunStatus.starting();
            BackgroundStart.run(new Start(options));
        } catch (Throwable e) {
            RunStatus.startEnded();
            failed(e);
        }
    }

    /**
     * The start, on the start thread. A class rather than a lambda, as in {@link BackgroundStart}: a JVM's first lambda
     * bootstraps the lambda machinery (method handles, a class spun with ASM), and premain runs before main.
     */
    private static final class Start implements Runnable {
        private final AgentOptions options;

        Start(AgentOptions options) {
            this.options = options;
        }

        @Override
        public void run() {
            try {
                AgentLifecycle.start(options, true);
            } catch (Throwable e) {
                if (!BackgroundStart.exitedFirst()) {
                    failed(e); // else the exit line said it: whatever failed since is the exit's doing
                }
            } finally {
                RunStatus.startEnded();
            }
        }
    }

    /**
     * Loaded into a running JVM through the Attach API: starts on the Attach Listener's thread, which the application
     * does not wait for, so that the tool sees the outcome when the load returns.
     */
    public static void agentmain(String arguments, Instrumentation instrumentation) {
        try {
            if (arguments != null && arguments.trim().equals(RunStatus.DETACH)) {
                detach();
                return;
            }
            AgentOptions options = AgentOptions.parse(arguments);
            if (options.help()) {
                System.err.print(AgentOptions.helpText());
                return;
            }
            AgentLifecycle.useInstrumentation(instrumentation);
            AgentLifecycle.start(options, false);
        } catch (Throwable e) {
            failed(e);
        }
    }

    /** {@code java -jar memleak4j-agent.jar detach PID} loads the agent again with {@code detach}. */
    private static void detach() {
        if (AgentLifecycle.current() == null) {
            AgentLog.line("detach: memleak4j is not running in this JVM");
            return;
        }
        AgentLifecycle.shutdown();
        AgentLog.line("detached: every probe removed, BPF maps freed; the application runs on");
    }

    private static void failed(Throwable e) {
        String line;
        if (e instanceof OptionException) {
            line = "bad option: " + e.getMessage() + "; memleak4j is not started, the application runs on ('help' "
                    + "lists the options)";
        } else {
            line = "not started: " + (e.getMessage() != null ? e.getMessage() : e.toString())
                    + "; the application runs on without memleak4j";
        }
        AgentLog.line(line);
        try {
            RunStatus.failed(line);
        } catch (RuntimeException ignored) {
            // A security manager may forbid setting properties; the line above already told the user.
        }
    }
}
