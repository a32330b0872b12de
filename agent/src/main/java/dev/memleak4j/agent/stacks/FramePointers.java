package dev.memleak4j.agent.stacks;

import dev.memleak4j.agent.nativelib.DiagnosticCommand;

import java.util.Optional;

/**
 * Whether JIT-compiled Java code keeps frame pointers. Without -XX:+PreserveFramePointer, C2-compiled methods use
 * rbp as a general register. The kernel side walks Java frames from the thread's frame anchor, which does not need
 * them, but the anchor is set only across a JNI or VM transition: code that reaches the allocator without one still
 * depends on the frame-pointer walk.
 */
public final class FramePointers {
    private FramePointers() {}

    /**
     * The one line to tell the user when stacks will be partial; empty when they will not. The flag is read from
     * {@code VM.flags} (its default is off on the platforms the agent runs on, so it is on only when listed), not
     * through HotSpotDiagnosticMXBean, whose platform MXBean machinery the agent otherwise does without.
     */
    public static Optional<String> warning() {
        try {
            if (!DiagnosticCommand.flagSet(DiagnosticCommand.startFlags(), "PreserveFramePointer")) {
                return Optional.of("without -XX:+PreserveFramePointer, stacks of allocations made from JIT-compiled "
                        + "code with no JNI or VM transition (the frame anchor unset) may end early; Java callers of "
                        + "JNI, JNA and FFM calls are complete either way");
            }
        } catch (RuntimeException | LinkageError e) {
            // not HotSpot, or no jdk.management: nothing known, nothing said
        }
        return Optional.empty();
    }
}
