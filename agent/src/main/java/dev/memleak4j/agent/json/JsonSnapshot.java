package dev.memleak4j.agent.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.memleak4j.agent.bpf.Stat;
import dev.memleak4j.agent.leaks.LeakDetector;
import dev.memleak4j.agent.owners.OwnerCount;
import dev.memleak4j.agent.memory.MallocStats;
import dev.memleak4j.agent.memory.MemoryVerdict;
import dev.memleak4j.agent.memory.ProcessMemory;
import dev.memleak4j.agent.report.AgentLosses;
import dev.memleak4j.agent.report.Allocation;
import dev.memleak4j.agent.report.ReportSettings;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.report.StackReport;
import dev.memleak4j.agent.stacks.Frame;
import dev.memleak4j.agent.outputs.AgentState;
import dev.memleak4j.agent.outputs.Frames;
import dev.memleak4j.agent.outputs.ReportView;

import java.util.List;
import java.util.Locale;

/**
 * A report as JSON, the document {@code json=FILE} writes and the MBean's jsonSnapshot returns. The schema is in the
 * README ("JSON"); {@link #SCHEMA_VERSION} changes when a field changes meaning or goes away (new fields may come
 * without). 64-bit addresses and stack ids are hex strings: JSON numbers lose precision above 2^53 in most readers.
 */
public final class JsonSnapshot {
    public static final String SCHEMA = "memleak4j-snapshot";
    public static final int SCHEMA_VERSION = 1;
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonSnapshot() {}

    public static String toJson(ReportView view) {
        try {
            return MAPPER.writeValueAsString(document(view)) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("JSON snapshot failed: " + e.getMessage());
        }
    }

    static ObjectNode document(ReportView view) {
        Snapshot snapshot = view.snapshot();
        AgentState state = view.state();
        ObjectNode root = MAPPER.createObjectNode();
        root.put("schema", SCHEMA);
        root.put("version", SCHEMA_VERSION);
        root.put("time", snapshot.time().toString());
        root.put("timeMillis", snapshot.time().toEpochMilli());
        root.put("pid", ProcessHandle.current().pid());
        root.put("exitReport", snapshot.atExit());
        root.put("trackingSince", snapshot.trackingSince().toString());
        root.put("baselineTime", view.baselineTime().toString());
        root.put("allocator", state.allocator());
        root.put("probeMode", view.probeMode());
        root.put("attachedProbes", view.attachedProbes());
        root.put("mapMemoryBytes", view.mapMemoryBytes());

        ReportSettings s = state.settings();
        ObjectNode settings = root.putObject("settings");
        settings.put("intervalSeconds", s.intervalSeconds());
        settings.put("top", s.top());
        settings.put("showAllocs", s.showAllocs());
        settings.put("olderMillis", s.olderMillis());
        settings.put("combinedOnly", s.combinedOnly());
        settings.put("sampleRate", s.sampleRate());
        settings.put("sampleBytes", s.sampleBytes());
        settings.put("maxTracked", state.maxTracked());
        settings.put("minSize", s.minSize());
        settings.put("maxSize", s.maxSize());

        ObjectNode sampling = root.putObject("sampling");
        sampling.put("estimated", snapshot.estimated());
        sampling.put("sampleRate", snapshot.sampleRate());
        sampling.put("sampleBytes", snapshot.sampleBytes());
        sampling.put("sampleBytesNow", snapshot.sampleBytesNow());

        ObjectNode outstanding = root.putObject("outstanding");
        outstanding.put("bytes", snapshot.totalBytes());
        outstanding.put("allocations", snapshot.totalCount());
        outstanding.put("stacks", snapshot.stackCount());
        outstanding.put("top", snapshot.top());

        ObjectNode since = root.putObject("sinceBaseline");
        since.put("bytesAllocated", view.bytesAllocated());
        since.put("bytesFreed", view.bytesFreed());
        since.put("allocationCalls", view.sinceBaseline(Stat.ALLOC_CALLS));
        since.put("freeCalls", view.sinceBaseline(Stat.FREE_CALLS));
        since.put("failedAllocations", view.sinceBaseline(Stat.ALLOC_FAILED));
        since.put("notTracked", view.notTracked());
        since.put("withoutStack", view.withoutStack());

        ObjectNode rates = root.putObject("rates");
        rates.put("intervalStart", view.intervalStart().toString());
        rates.put("bytesPerSecond", view.bytesPerSecond());
        rates.put("allocationCallsPerSecond", view.callsPerSecond());

        // The kernel's counters since the attach, raw, by name: the text report's losses line comes from these.
        ObjectNode counters = root.putObject("counters");
        for (Stat stat : Stat.values()) {
            counters.put(camel(stat.name()), snapshot.stat(stat));
        }
        ObjectNode losses = root.putObject("losses");
        losses.put("allocationMapFull", snapshot.stat(Stat.DROPPED_ALLOCS_FULL));
        losses.put("stackMapFull", snapshot.stat(Stat.DROPPED_STACKS_FULL));
        losses.put("stackWalkFailed", snapshot.stat(Stat.DROPPED_STACK_ERROR));
        losses.put("combinedMapFull", snapshot.stat(Stat.DROPPED_COMBINED_FULL));
        losses.put("returnsWithoutEntry", snapshot.stat(Stat.DROPPED_NO_PENDING));
        AgentLosses own = state.losses();
        losses.put("jniBindingsDropped", own.jniBindingsDropped());
        losses.put("jniCaptureFailures", own.jniBridgeFailures());
        losses.put("ownersNotKnown", own.ownersLost());
        losses.put("framesNotNamed", own.unnamed().frames());
        losses.put("librariesNotRead", own.unnamed().libraries());
        losses.put("firstLibraryError", own.unnamed().firstError());

        putSuspects(root, snapshot.leaks());
        putMemory(root, snapshot.memory());

        ArrayNode stacks = root.putArray("stacks");
        for (ReportView.StackView stack : view.stacks()) {
            StackReport report = stack.report();
            ObjectNode node = stacks.addObject();
            node.put("rank", stack.rank());
            node.put("stackId", hex(report.stackId()));
            node.put("bytes", report.bytes());
            node.put("allocations", report.count());
            node.put("trackedAllocations", report.trackedCount());
            node.put("oldestAgeNanos", report.oldestAgeNanos());
            node.put("growthBytes", stack.growthBytes());
            node.put("growthAllocations", stack.growthAllocations());
            node.put("growthSinceBaselineBytes", stack.growthSinceBaselineBytes());
            node.put("allocatedSinceBaselineBytes", report.allocatedBytes());
            node.put("allocationsSinceBaseline", report.allocatedCount());
            node.put("topJavaFrame", stack.topJavaFrame());
            node.put("topNativeFrame", stack.topNativeFrame());
            putFrames(node.putArray("frames"), report.frames());
            ArrayNode allocations = node.putArray("allocationList");
            for (Allocation allocation : report.allocations()) {
                ObjectNode a = allocations.addObject();
                a.put("address", hex(allocation.address()));
                a.put("size", allocation.size());
                a.put("ageNanos", allocation.ageNanos());
            }
            node.put("allocationsNotListed", report.allocations().isEmpty() ? 0
                    : Math.max(0, report.trackedCount() - report.allocations().size()));
        }
        return root;
    }

    /** The leak suspects of a periodic report (null in a snapshot taken on demand). */
    private static void putSuspects(ObjectNode root, LeakDetector.Verdicts leaks) {
        if (leaks == null) {
            root.putNull("leakSuspects");
            return;
        }
        ObjectNode node = root.putObject("leakSuspects");
        node.put("windowSeconds", leaks.windowSeconds());
        node.put("steadyStacks", leaks.steady());
        node.put("transientStacks", leaks.transients());
        node.put("tooNewStacks", leaks.tooNew());
        ArrayNode suspects = node.putArray("suspects");
        int rank = 0;
        for (LeakDetector.Suspect suspect : leaks.suspects()) {
            ObjectNode s = suspects.addObject();
            s.put("rank", ++rank);
            s.put("stackId", hex(suspect.stackId()));
            s.put("bytesPerMinute", Math.round(suspect.bytesPerMinute()));
            s.put("since", suspect.since().toString());
            s.put("confidence", suspect.confidence().text());
            s.put("grewInIntervals", suspect.grewIn());
            s.put("intervals", suspect.intervals());
            s.put("bytes", suspect.bytes());
            s.put("allocations", suspect.count());
            ArrayNode owners = s.putArray("owners"); // empty: no owner known (not "none live")
            for (OwnerCount owner : suspect.owners()) {
                ObjectNode o = owners.addObject();
                o.put("class", owner.className());
                o.put("live", owner.live());
                o.put("unreachable", owner.unreachable());
                o.put("awaitingCleaner", owner.awaitingCleaner());
            }
            putFrames(s.putArray("frames"), suspect.frames());
        }
    }

    /** The verdict on the process's memory and its figures (null in a snapshot taken on demand). */
    private static void putMemory(ObjectNode root, MemoryVerdict verdict) {
        if (verdict == null) {
            root.putNull("memory");
            return;
        }
        ObjectNode node = root.putObject("memory");
        ProcessMemory now = verdict.now();
        node.put("verdict", verdict.kind().text());
        node.put("text", verdict.text());
        node.put("rssBytes", now.rssBytes());
        node.put("rssGrowthBytesPerMinute", Math.round(verdict.rssGrowthPerMinute()));
        MallocStats malloc = now.malloc();
        if (malloc != null) {
            node.put("mallocInUseBytes", malloc.allocatedBytes());
            node.put("mallocFreeInArenasBytes", malloc.freeBytes());
            node.put("mallocTopPadBytes", malloc.topPadBytes());
            node.put("mallocMmappedBytes", malloc.mmappedBytes());
        }
        node.put("trackedBytes", now.trackedBytes());
        node.put("heapCommittedBytes", now.heapCommittedBytes());
        node.put("nonHeapCommittedBytes", now.nonHeapCommittedBytes());
        node.put("directBufferBytes", now.directBufferBytes());
        node.put("mappedBufferBytes", now.mappedBufferBytes());
        node.put("threads", now.threads());
        if (now.nmtCommittedBytes() >= 0) {
            node.put("nmtCommittedBytes", now.nmtCommittedBytes());
        } else {
            node.putNull("nmtCommittedBytes");
        }
    }

    private static void putFrames(ArrayNode frames, List<Frame> stack) {
        for (Frame frame : stack) {
            ObjectNode f = frames.addObject();
            f.put("address", hex(frame.address()));
            f.put("kind", Frames.kind(frame));
            f.put("name", frame.name());
            f.put("module", frame.module());
            f.put("offset", frame.offset());
            f.put("file", Frames.file(frame));
            int line = Frames.line(frame);
            if (line > 0) {
                f.put("line", line);
            } else {
                f.putNull("line");
            }
            f.put("text", frame.text());
        }
    }

    private static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }

    /** ALLOC_CALLS → allocCalls. */
    static String camel(String constant) {
        StringBuilder out = new StringBuilder();
        boolean upper = false;
        for (char c : constant.toLowerCase(Locale.ROOT).toCharArray()) {
            if (c == '_') {
                upper = true;
            } else {
                out.append(upper ? Character.toUpperCase(c) : c);
                upper = false;
            }
        }
        return out.toString();
    }
}
