package dev.memleak4j.agent.outputs;

import dev.memleak4j.agent.report.AgentLosses;
import dev.memleak4j.agent.report.ReportSettings;

/**
 * What the agent was doing at a report (or now, for JMX's attributes): handed to the outputs beside the snapshot, so
 * that none of them has to ask the agent.
 *
 * @param settings       the settings in force
 * @param maxTracked     the max-tracked budget (0: off)
 * @param allocator      the library whose allocator is tracked
 * @param probeMode      how the allocator is probed and what is sampled, or {@code stopped: why}
 * @param stopReason     why the probes are off; null while they are on
 * @param attachedProbes probes attached (0 with the in-process hooks, which need none per function)
 * @param mapMemoryBytes kernel memory the BPF maps held at the report (read on the reporter thread only)
 * @param maxAllocs      the size of the kernel's allocation map
 * @param callCostNanos  what the probes add to one allocator call, measured at the start; 0 when not known
 * @param sampleBytesNow the byte-sampling interval new allocations are chosen under (0: not by bytes)
 * @param losses         what the agent itself lost (Java callers, unnamed frames); null outside a report
 * @param jsonFile       {@code json=} as given, or empty
 * @param outputFile     {@code output=} as given, or empty
 */
public record AgentState(ReportSettings settings, long maxTracked, String allocator, String probeMode,
                         String stopReason, int attachedProbes, long mapMemoryBytes, long maxAllocs,
                         long callCostNanos, long sampleBytesNow, AgentLosses losses, String jsonFile,
                         String outputFile) {
    public boolean running() {
        return stopReason == null;
    }
}
