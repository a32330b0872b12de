package dev.memleak4j.agent;

import dev.memleak4j.agent.bpf.BpfTracker;
import dev.memleak4j.agent.stacks.JvmCodeMap;

import java.util.function.Consumer;

/**
 * Names the Java frames of native stacks: the live map of JIT-compiled code, and where the interpreter is, so that
 * the kernel side records interpreted frames by method.
 */
final class JavaFrameNaming {
    private JavaFrameNaming() {}

    /**
     * Runs on the starting thread before any probe is attached: the JVMTI set-up allocates once, and that is not the
     * application's. Failing costs only Java frame names, never the start.
     */
    static void start(BpfTracker tracker, Consumer<String> verbose) {
        try {
            JvmCodeMap.start();
            verbose.accept(JvmCodeMap.naming());
        } catch (RuntimeException | LinkageError e) {
            AgentLog.line("note: JIT-compiled Java frames will not be named: " + e.getMessage());
        }
        try {
            long[] interpreter = JvmCodeMap.interpreterRange();
            if (interpreter != null) {
                tracker.setInterpreterRange(interpreter[0], interpreter[1]);
            }
        } catch (RuntimeException | LinkageError e) {
            AgentLog.line("note: interpreted Java frames will not be named: " + e.getMessage());
        }
        try {
            tracker.startAnchorWalk();
            String note = tracker.anchorWalkNote();
            if (note != null) {
                AgentLog.line("note: " + note);
            }
        } catch (RuntimeException | LinkageError e) {
            AgentLog.line("note: Java callers of native code without frame pointers will be missing: " + e.getMessage());
        }
    }
}
