package dev.memleak4j.agent.json;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.memleak4j.agent.bpf.Stat;
import dev.memleak4j.agent.report.Allocation;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.report.StackReport;
import dev.memleak4j.agent.stacks.Frame;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A document written by {@link JsonSnapshot} read back into a {@link Snapshot}, so that the command-line tool can make
 * a flame graph, pprof profile or JFR file from a saved {@code json=FILE}. The document holds the top stacks only:
 * the snapshot's {@link Snapshot#stackCount()} says how many there were.
 */
public final class JsonSnapshotReader {
    private JsonSnapshotReader() {}

    /** @throws IOException when the text is not JSON or not a memleak4j snapshot (the message says which) */
    public static Snapshot read(String text) throws IOException {
        JsonNode root = new ObjectMapper().readTree(text);
        if (root == null || !JsonSnapshot.SCHEMA.equals(root.path("schema").asText())) {
            throw new IOException("not a memleak4j snapshot (no \"schema\": \"" + JsonSnapshot.SCHEMA + "\")");
        }
        if (root.path("version").asInt() != JsonSnapshot.SCHEMA_VERSION) {
            throw new IOException("snapshot version " + root.path("version").asText() + ", this memleak4j reads "
                    + JsonSnapshot.SCHEMA_VERSION);
        }
        List<StackReport> stacks = new ArrayList<>();
        for (JsonNode stack : root.path("stacks")) {
            List<Frame> frames = new ArrayList<>();
            for (JsonNode frame : stack.path("frames")) {
                frames.add(new Frame(hex(frame.path("address").asText("0x0")), kind(frame.path("kind").asText()),
                        text(frame.get("name")), text(frame.get("module")), frame.path("offset").asLong(),
                        frame.path("line").isNumber() ? frame.path("line").asInt() : -1, text(frame.get("file"))));
            }
            List<Allocation> allocations = new ArrayList<>();
            for (JsonNode allocation : stack.path("allocationList")) {
                allocations.add(new Allocation(hex(allocation.path("address").asText("0x0")),
                        allocation.path("size").asLong(), allocation.path("ageNanos").asLong()));
            }
            long count = stack.path("allocations").asLong();
            long tracked = stack.path("trackedAllocations").asLong(count);
            long bytes = stack.path("bytes").asLong();
            stacks.add(new StackReport(hex(stack.path("stackId").asText("0x0")), bytes, count, tracked,
                    tracked == count ? bytes : 0, stack.path("oldestAgeNanos").asLong(-1), List.copyOf(frames),
                    List.copyOf(allocations), stack.path("allocatedSinceBaselineBytes").asLong(-1),
                    stack.path("allocationsSinceBaseline").asLong(-1)));
        }
        JsonNode outstanding = root.path("outstanding");
        JsonNode sampling = root.path("sampling");
        long[] stats = new long[Stat.values().length];
        JsonNode counters = root.path("counters");
        for (Stat stat : Stat.values()) {
            stats[stat.ordinal()] = counters.path(JsonSnapshot.camel(stat.name())).asLong();
        }
        Instant time = Instant.parse(root.path("time").asText());
        Instant since = root.hasNonNull("trackingSince") ? Instant.parse(root.path("trackingSince").asText()) : time;
        List<StackReport> all = List.copyOf(stacks);
        return new Snapshot(time, all, outstanding.path("stacks").asInt(all.size()),
                outstanding.path("bytes").asLong(), outstanding.path("allocations").asLong(),
                sampling.path("sampleRate").asLong(1), sampling.path("sampleBytes").asLong(),
                sampling.path("sampleBytesNow").asLong(), stats, since, outstanding.path("top").asInt(all.size()), all, List.of(),
                -1, false, null, null);
    }

    private static Frame.Kind kind(String text) {
        try {
            return Frame.Kind.valueOf(text.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return Frame.Kind.UNKNOWN;
        }
    }

    private static String text(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }

    private static long hex(String text) {
        String digits = text.startsWith("0x") ? text.substring(2) : text;
        try {
            return Long.parseUnsignedLong(digits, 16);
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
