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
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * json=FILE next to the text report: the file holds the last interval's document, which parses, has the documented
 * schema (README "JSON") and says what the text report of the same interval says.
 */
class JsonSnapshotTest {
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

    @Test
    void documentAgreesWithTheTextReportOfTheSameInterval() {
        Report report = run.lastReport();
        String clock = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.systemDefault())
                .format(Instant.parse(document.get("time").asText()));
        assertTrue(run.reports.contains("[" + clock + "] Top 100 stacks"), "no report at " + clock);
        assertEquals(report.top, document.get("outstanding").get("top").asInt());
        JsonNode stacks = document.get("stacks");
        assertEquals(report.stacks.size(), stacks.size(), report.toString());
        for (int i = 0; i < stacks.size(); i++) {
            Report.Stack text = report.stacks.get(i);
            JsonNode json = stacks.get(i);
            assertEquals(i + 1, json.get("rank").asInt());
            assertEquals(text.bytes, json.get("bytes").asLong(), "stack " + i);
            assertEquals(text.count, json.get("allocations").asLong(), "stack " + i);
            assertEquals(text.frames.size(), json.get("frames").size(), "stack " + i);
            for (int f = 0; f < text.frames.size(); f++) {
                assertEquals(text.frames.get(f), json.get("frames").get(f).get("text").asText());
            }
            assertEquals(text.allocations.size(), json.get("allocationList").size());
            for (int a = 0; a < text.allocations.size(); a++) {
                JsonNode allocation = json.get("allocationList").get(a);
                assertEquals(text.allocations.get(a).address(),
                        Long.parseUnsignedLong(allocation.get("address").asText().substring(2), 16));
                assertEquals(text.allocations.get(a).size(), allocation.get("size").asLong());
            }
        }
        // The known leak: 3 x 1999993 + 1222223 bytes in 4 allocations from viaMalloc, a native frame object.
        long viaMallocBytes = 0;
        for (JsonNode stack : stacks) {
            JsonNode top = stack.get("frames").get(0);
            if ("Java_dev_memleak4j_it_programs_LeakLib_viaMalloc".equals(top.get("name").asText(null))) {
                viaMallocBytes += stack.get("bytes").asLong();
                assertEquals("native", top.get("kind").asText());
                assertEquals("libleaktest.so", top.get("module").asText());
            }
        }
        assertEquals(3 * 1_999_993L + 1_222_223L, viaMallocBytes);
        assertFalse(document.get("sampling").get("estimated").asBoolean());
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
