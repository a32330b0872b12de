package dev.memleak4j.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * json=FILE next to the text report: the file holds the last interval's document, which parses, has the documented
 * schema (README "JSON") and holds exactly what the program leaked.
 */
class JsonSnapshotTest {
    private static final String LIB = "Java_dev_memleak4j_it_programs_LeakLib_";
    /** Field → JSON type, for the document, each stack, each frame and each listed allocation. */
    private static final Map<String, String> DOCUMENT = Map.ofEntries(Map.entry("schema", "string"),
            Map.entry("version", "number"), Map.entry("time", "string"), Map.entry("timeMillis", "number"),
            Map.entry("pid", "number"), Map.entry("exitReport", "boolean"), Map.entry("trackingSince", "string"),
            Map.entry("baselineTime", "string"),
            Map.entry("allocator", "string"), Map.entry("probeMode", "string"), Map.entry("attachedProbes", "number"),
            Map.entry("mapMemoryBytes", "number"), Map.entry("settings", "object"), Map.entry("sampling", "object"),
            Map.entry("outstanding", "object"), Map.entry("sinceBaseline", "object"), Map.entry("rates", "object"),
            Map.entry("counters", "object"), Map.entry("losses", "object"), Map.entry("stacks", "array"));
    private static final Map<String, String> STACK = Map.ofEntries(Map.entry("rank", "number"),
            Map.entry("stackId", "string"), Map.entry("bytes", "number"), Map.entry("allocations", "number"),
            Map.entry("trackedAllocations", "number"), Map.entry("oldestAgeNanos", "number"),
            Map.entry("growthBytes", "number"), Map.entry("growthAllocations", "number"),
            Map.entry("growthSinceBaselineBytes", "number"), Map.entry("topJavaFrame", "string|null"),
            Map.entry("topNativeFrame", "string|null"), Map.entry("frames", "array"),
            Map.entry("allocationList", "array"), Map.entry("allocationsNotListed", "number"));
    private static final Map<String, String> FRAME = Map.ofEntries(Map.entry("address", "string"),
            Map.entry("kind", "string"), Map.entry("name", "string|null"), Map.entry("module", "string|null"),
            Map.entry("offset", "number"), Map.entry("file", "string|null"), Map.entry("line", "number|null"),
            Map.entry("text", "string"));
    private static final Map<String, String> ALLOCATION = Map.of("address", "string", "size", "number",
            "ageNanos", "number");

    private static AgentRun run;
    private static JsonNode document;

    @BeforeAll
    static void runWithJson() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("json");
        Path json = dir.resolve("snapshot.json");
        run = AgentRun.leakProgram(dir,
                "interval=1,count=2,older=0,top=100,show-allocs,sample-bytes=0,min-size=900000,json=" + json,
                "all-functions", "3500");
        assertEquals(0, run.exitCode, run.describe());
        document = new ObjectMapper().readTree(Files.readString(json));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "temporary file left");
        }
    }

    @Test
    void documentHasTheDocumentedSchema() {
        assertEquals("memleak4j-snapshot", document.get("schema").asText());
        assertEquals(1, document.get("version").asInt());
        check("document", document, DOCUMENT);
        for (String group : List.of("settings", "sampling", "outstanding", "sinceBaseline", "rates", "counters",
                "losses")) {
            assertFalse(document.get(group).isEmpty(), group);
            document.get(group).fields().forEachRemaining(e -> assertTrue(e.getValue().isValueNode(), group + "." + e.getKey()));
        }
        // Everything the text report's losses line can say, by the names docs/json.md gives them.
        java.util.Set<String> losses = new java.util.TreeSet<>();
        document.get("losses").fieldNames().forEachRemaining(losses::add);
        assertEquals(new java.util.TreeSet<>(List.of("allocationMapFull", "stackMapFull", "stackWalkFailed",
                "combinedMapFull", "returnsWithoutEntry", "jniBindingsDropped", "jniCaptureFailures", "framesNotNamed",
                "librariesNotRead", "firstLibraryError", "ownersNotKnown")), losses);
        assertFalse(document.get("stacks").isEmpty());
        for (JsonNode stack : document.get("stacks")) {
            check("stack", stack, STACK);
            for (JsonNode frame : stack.get("frames")) {
                check("frame", frame, FRAME);
            }
            for (JsonNode allocation : stack.get("allocationList")) {
                check("allocation", allocation, ALLOCATION);
            }
        }
    }

    /**
     * The document holds what the program left outstanding: per allocating JNI function, exactly the bytes and
     * allocations of its {@code LEAK} lines not {@code FREED}, listed at the very addresses the program got; and it is
     * the last interval's (the text report has a report at its time).
     */
    @Test
    void documentHoldsExactlyWhatTheProgramLeaked() {
        Map<String, Map<Long, Long>> leaked = new TreeMap<>(); // function -> address -> size
        Map<Long, String> functionOf = new HashMap<>();
        for (String line : run.stdout.split("\n")) {
            String[] parts = line.split(" ");
            if (parts[0].equals("LEAK")) {
                long address = Long.parseUnsignedLong(parts[1], 16);
                leaked.computeIfAbsent(parts[3], f -> new HashMap<>()).put(address, Long.parseLong(parts[2]));
                functionOf.put(address, parts[3]);
            } else if (parts[0].equals("FREED")) {
                long address = Long.parseUnsignedLong(parts[1], 16);
                leaked.get(functionOf.get(address)).remove(address);
            }
        }
        assertEquals(AllocatorFunctionsTest.EXPECTED.keySet(), leaked.keySet(), run.stdout);

        Map<String, Map<Long, Long>> listed = new TreeMap<>();
        Map<String, long[]> totals = new TreeMap<>();
        for (JsonNode stack : document.get("stacks")) {
            JsonNode top = stack.get("frames").get(0);
            String name = top.get("name").asText("");
            if (!name.startsWith(LIB)) {
                continue;
            }
            String function = name.substring(LIB.length());
            assertEquals("native", top.get("kind").asText(), top.toString());
            assertEquals("libleaktest.so", top.get("module").asText(), top.toString());
            long[] total = totals.computeIfAbsent(function, f -> new long[2]);
            total[0] += stack.get("bytes").asLong();
            total[1] += stack.get("allocations").asLong();
            assertEquals(0, stack.get("allocationsNotListed").asLong(), stack.toString());
            for (JsonNode allocation : stack.get("allocationList")) {
                listed.computeIfAbsent(function, f -> new HashMap<>()).put(
                        Long.parseUnsignedLong(allocation.get("address").asText().substring(2), 16),
                        allocation.get("size").asLong());
            }
        }
        assertEquals(leaked, listed, "addresses and sizes per function");
        for (Map.Entry<String, Map<Long, Long>> function : leaked.entrySet()) {
            long bytes = function.getValue().values().stream().mapToLong(Long::longValue).sum();
            long[] total = totals.get(function.getKey());
            assertEquals(bytes, total[0], "bytes from " + function.getKey());
            assertEquals(function.getValue().size(), total[1], "allocations from " + function.getKey());
        }
        assertFalse(document.get("sampling").get("estimated").asBoolean());

        String clock = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.systemDefault())
                .format(Instant.parse(document.get("time").asText()));
        assertTrue(run.reports.contains("[" + clock + "] Top 100 stacks"), "no report at " + clock);
    }

    private static void check(String what, JsonNode node, Map<String, String> fields) {
        for (Map.Entry<String, String> field : fields.entrySet()) {
            JsonNode value = node.get(field.getKey());
            if (value == null) {
                fail(what + " lacks '" + field.getKey() + "': " + node);
            }
            String type = value.isNull() ? "null" : value.isNumber() ? "number" : value.isTextual() ? "string"
                    : value.isBoolean() ? "boolean" : value.isArray() ? "array" : value.isObject() ? "object" : "?";
            assertTrue(List.of(field.getValue().split("\\|")).contains(type),
                    what + "." + field.getKey() + " is " + type + ", not " + field.getValue());
        }
    }
}
