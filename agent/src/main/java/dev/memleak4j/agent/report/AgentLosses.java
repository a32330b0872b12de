package dev.memleak4j.agent.report;

import dev.memleak4j.agent.jnimarks.JniMarks;
import dev.memleak4j.agent.owners.Owners;
import dev.memleak4j.agent.symbols.NativeSymbolizer;

/**
 * What the agent itself lost, beside the kernel's counters: Java callers of marked JNI calls, and frames left without
 * a name because their library could not be read. The text report's losses line and the JSON's {@code losses} both
 * come from here.
 *
 * @param jniBindingsDropped marked JNI calls with allocations beyond the bindings kept between two reports
 * @param jniBridgeFailures  captures of Java callers and thread registrations that failed
 * @param unnamed            frames in libraries whose file could not be read
 * @param ownersLost         owners of tracked blocks not registered (registry full, or the registration failed)
 */
public record AgentLosses(long jniBindingsDropped, long jniBridgeFailures, NativeSymbolizer.Unnamed unnamed,
                          long ownersLost) {

    public static AgentLosses now() {
        JniMarks marks = JniMarks.active();
        return new AgentLosses(marks == null ? 0 : marks.bindingsDropped(), marks == null ? 0 : marks.bridgeFailures(),
                NativeSymbolizer.unnamedInCurrentProcess(), Owners.lost());
    }

    /** JNI calls reported without their Java callers. */
    public long javaCallersLost() {
        return jniBindingsDropped + jniBridgeFailures;
    }
}
