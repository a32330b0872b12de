package dev.memleak4j.agent.stacks;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;
import java.util.Optional;

/**
 * Whether JIT-compiled Java code keeps frame pointers. Without -XX:+PreserveFramePointer, C2-compiled methods use
 * rbp as a general register, so the frame-pointer walk skips or stops at their frames: stacks come out partial.
 */
public final class FramePointers {
    private FramePointers() {}

    /** The one line to tell the user when stacks will be partial; empty when they will not. */
    public static Optional<String> warning() {
        try {
            HotSpotDiagnosticMXBean hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            if (hotspot != null && !Boolean.parseBoolean(hotspot.getVMOption("PreserveFramePointer").getValue())) {
                return Optional.of("stacks through JIT-compiled Java code will be partial: start the JVM with "
                        + "-XX:+PreserveFramePointer for complete stacks (costs ~1-3% CPU)");
            }
        } catch (RuntimeException | LinkageError e) {
            // not HotSpot, or no management module: nothing known, nothing said
        }
        return Optional.empty();
    }
}
