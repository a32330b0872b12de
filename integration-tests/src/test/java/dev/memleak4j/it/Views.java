package dev.memleak4j.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.openjdk.jmc.common.IMCFrame;
import org.openjdk.jmc.common.IMCStackTrace;
import org.openjdk.jmc.common.item.IAccessorKey;
import org.openjdk.jmc.common.item.IItem;
import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.item.IItemIterable;
import org.openjdk.jmc.common.item.IMemberAccessor;
import org.openjdk.jmc.common.item.IType;
import org.openjdk.jmc.common.unit.IQuantity;
import org.openjdk.jmc.common.unit.UnitLookup;
import org.openjdk.jmc.flightrecorder.JfrAttributes;
import org.openjdk.jmc.flightrecorder.JfrLoaderToolkit;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Reads the flame graph, the pprof profile and the JFR file back with readers that are not memleak4j's (Jackson on the
 * page's embedded data, go tool pprof, JMC's parser), and the text report as a user reads it, into one shape: each
 * distinct call path (outermost caller first) with its outstanding bytes and allocations.
 */
final class Views {
    private static final Pattern NATIVE_OFFSET = Pattern.compile("^(.*)\\+0x[0-9a-f]+$");
    private static final Pattern JAVA_LINE = Pattern.compile("^(.*):\\d+$");
    private static final Pattern RAW_SAMPLE = Pattern.compile("^\\s*([\\d ]+): ([\\d ]+?)\\s*$");
    private static final Pattern RAW_LOCATION = Pattern.compile(
            "^\\s*(\\d+): 0x[0-9a-f]+(?: M=\\d+)? (.*) (\\S*):(\\d+) s=\\d+(?:\\((.*)\\))?$");

    /** A frame of the text report: the function, its library (native code) and what the pictures call its kind. */
    record TextFrame(String function, String module, String category, boolean nativeWrapper) {}

    private Views() {}

    // --- the text report ---------------------------------------------------------------------------------------

    static TextFrame textFrame(String text) {
        int open = text.endsWith("]") ? text.lastIndexOf(" [") : -1;
        String label = open < 0 ? text : text.substring(0, open);
        String tag = open < 0 ? null : text.substring(open + 2, text.length() - 1);
        if (tag != null && List.of("jit", "inlined", "interpreted", "native wrapper", "java caller", "stub")
                .contains(tag)) {
            Matcher line = JAVA_LINE.matcher(label);
            String function = line.matches() ? line.group(1) : label;
            String category = switch (tag) {
                case "native wrapper" -> "jit";
                case "java caller" -> "java";
                case "stub" -> "jvm";
                default -> tag;
            };
            return new TextFrame(function, null, category, tag.equals("native wrapper"));
        }
        if (tag == null) {
            return new TextFrame(label, null, label.equals("[unknown]") ? "unknown" : "native", false);
        }
        if (label.equals("[unknown]") && tag.contains("+0x")) {
            String module = tag.substring(0, tag.lastIndexOf("+0x"));
            return new TextFrame("[" + tag + "]", module, category(module), false);
        }
        Matcher offset = NATIVE_OFFSET.matcher(label);
        return new TextFrame(offset.matches() ? offset.group(1) : label, tag, category(tag), false);
    }

    private static String category(String module) {
        return module.equals("libjvm.so") ? "jvm" : "native";
    }

    /** The report's stacks by path of {@code key(frame)}, outermost first: bytes and allocations added up. */
    static Map<List<String>, List<Long>> fromText(Report report, Function<TextFrame, String> key) {
        Map<List<String>, List<Long>> paths = new TreeMap<>(Views::compare);
        for (Report.Stack stack : report.stacks) {
            List<String> path = new ArrayList<>();
            for (int i = stack.frames.size() - 1; i >= 0; i--) {
                path.add(key.apply(textFrame(stack.frames.get(i))));
            }
            add(paths, path, stack.bytes, stack.count);
        }
        return paths;
    }

    static String pictureKey(TextFrame frame) {
        return frame.category() + " " + frame.function() + (frame.module() != null ? " [" + frame.module() + "]" : "");
    }

    // --- the flame graph ---------------------------------------------------------------------------------------

    /** The data the page embeds. */
    static JsonNode flameGraphData(Path html) throws Exception {
        String page = Files.readString(html);
        String open = "<script id=\"data\" type=\"application/json\">";
        int from = page.indexOf(open);
        assertTrue(from > 0, "no embedded data in " + html);
        int to = page.indexOf("</script>", from);
        return new ObjectMapper().readTree(page.substring(from + open.length(), to));
    }

    /** Every path of the page's tree whose last frame holds bytes of its own (a stack ends there). */
    static Map<List<String>, List<Long>> fromFlameGraph(Path html) throws Exception {
        JsonNode data = flameGraphData(html);
        Map<List<String>, List<Long>> paths = new TreeMap<>(Views::compare);
        walk(data.get("tree"), new ArrayList<>(), data, paths, true);
        return paths;
    }

    private static void walk(JsonNode node, List<String> path, JsonNode data, Map<List<String>, List<Long>> paths,
                             boolean root) {
        long childBytes = 0;
        long childCount = 0;
        List<String> here = new ArrayList<>(path);
        if (!root) {
            String function = data.get("strings").get(node.get(0).asInt()).asText();
            int module = node.get(1).asInt();
            here.add(data.get("categories").get(node.get(2).asInt()).asText() + " " + function
                    + (module >= 0 ? " [" + data.get("strings").get(module).asText() + "]" : ""));
        }
        if (node.size() > 5) {
            for (JsonNode child : node.get(5)) {
                childBytes += child.get(3).asLong();
                childCount += child.get(4).asLong();
                walk(child, here, data, paths, false);
            }
        }
        long self = node.get(3).asLong() - childBytes;
        assertTrue(self >= 0, "children hold more than their parent at " + here);
        if (self > 0) {
            add(paths, here, self, node.get(4).asLong() - childCount);
        }
    }

    // --- pprof ---------------------------------------------------------------------------------------------------

    static String go() {
        for (String candidate : List.of("/usr/bin/go", "/usr/lib/go/bin/go", "/usr/local/go/bin/go")) {
            if (Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        fail("go tool pprof is needed to read the pprof profile back: scripts/install-toolchain.sh installs golang-go");
        return null;
    }

    /** Runs a command and returns its stdout; fails the test with its output when it fails. */
    static String run(List<String> command, Path stderr) throws Exception {
        Process process = new ProcessBuilder(command).redirectError(stderr.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail(command + " did not finish");
        }
        if (process.exitValue() != 0) {
            fail(command + " exited " + process.exitValue() + ":\n" + out + "\n" + Files.readString(stderr));
        }
        return out;
    }

    /** The profile's outstanding memory (inuse_*) as {@code go tool pprof -raw} prints it, by path of function names. */
    static Map<List<String>, List<Long>> fromPprof(Path profile, Path work) throws Exception {
        return fromPprof(profile, work, "inuse");
    }

    /**
     * The profile's {@code kind}_space and {@code kind}_objects values ("inuse" or "alloc") as {@code go tool pprof
     * -raw} prints them, by path of function names; samples whose values are both 0 left out, as pprof's views do.
     */
    static Map<List<String>, List<Long>> fromPprof(Path profile, Path work, String kind) throws Exception {
        String raw = run(List.of(go(), "tool", "pprof", "-raw", profile.toString()),
                work.resolve("pprof-raw.err"));
        Map<String, String> functions = new HashMap<>();
        List<long[]> values = new ArrayList<>();
        List<String[]> ids = new ArrayList<>();
        boolean samples = false;
        boolean locations = false;
        int objects = -1;
        int space = -1;
        for (String line : raw.split("\n")) {
            if (line.startsWith("Samples:")) {
                samples = true;
                continue;
            }
            if (line.startsWith("Locations")) {
                samples = false;
                locations = true;
                continue;
            }
            if (line.startsWith("Mappings")) {
                locations = false;
                continue;
            }
            if (samples && line.contains("inuse_objects/count")) {
                List<String> types = List.of(line.replace("[dflt]", "").trim().split(" +"));
                objects = types.indexOf(kind + "_objects/count");
                space = types.indexOf(kind + "_space/bytes");
                continue;
            }
            Matcher sample = RAW_SAMPLE.matcher(line);
            if (samples && sample.matches() && objects >= 0 && space >= 0) {
                String[] numbers = sample.group(1).trim().split(" +");
                long count = Long.parseLong(numbers[objects]);
                long bytes = Long.parseLong(numbers[space]);
                if (count != 0 || bytes != 0) {
                    values.add(new long[] {count, bytes});
                    ids.add(sample.group(2).trim().split(" +"));
                }
            }
            Matcher location = RAW_LOCATION.matcher(line);
            if (locations && location.matches()) {
                // pprof shows a C++ name simplified, and the name as written (the system name) in parentheses.
                functions.put(location.group(1), location.group(5) != null ? location.group(5) : location.group(2));
            }
        }
        assertTrue(objects >= 0 && space >= 0, "no sample types " + kind + "_objects/count " + kind
                + "_space/bytes:\n" + raw);
        Map<List<String>, List<Long>> paths = new TreeMap<>(Views::compare);
        for (int s = 0; s < values.size(); s++) {
            List<String> path = new ArrayList<>();
            String[] locationIds = ids.get(s);
            for (int i = locationIds.length - 1; i >= 0; i--) {
                String function = functions.get(locationIds[i]);
                assertTrue(function != null, "location " + locationIds[i] + " not listed:\n" + raw);
                path.add(function);
            }
            add(paths, path, values.get(s)[1], values.get(s)[0]);
        }
        return paths;
    }

    // --- JFR (JMC's parser) ---------------------------------------------------------------------------------------

    /** The memleak4j.NativeMemoryStack events as JMC sees them: frame types and {@code class.method}. */
    static Map<List<String>, List<Long>> fromJfr(Path recording) throws Exception {
        IItemCollection items = JfrLoaderToolkit.loadEvents(recording.toFile());
        Map<List<String>, List<Long>> paths = new TreeMap<>(Views::compare);
        for (IItemIterable iterable : items) {
            IType<IItem> type = iterable.getType();
            if (!type.getIdentifier().equals("memleak4j.NativeMemoryStack")) {
                continue;
            }
            IMemberAccessor<IMCStackTrace, IItem> traces = JfrAttributes.EVENT_STACKTRACE.getAccessor(type);
            IMemberAccessor<?, IItem> bytes = accessor(type, "bytes");
            IMemberAccessor<?, IItem> allocations = accessor(type, "allocations");
            for (IItem item : iterable) {
                List<? extends IMCFrame> frames = traces.getMember(item).getFrames();
                List<String> path = new ArrayList<>();
                for (int i = frames.size() - 1; i >= 0; i--) {
                    IMCFrame frame = frames.get(i);
                    path.add(frame.getType() + " " + frame.getMethod().getType().getFullName() + "."
                            + frame.getMethod().getMethodName());
                }
                add(paths, path, ((IQuantity) bytes.getMember(item)).longValueIn(UnitLookup.BYTE),
                        ((Number) allocations.getMember(item)).longValue());
            }
        }
        return paths;
    }

    /** How JMC shows a frame of the text report, for {@link #fromJfr}. */
    static String jmcKey(TextFrame frame) {
        String type = frame.nativeWrapper() ? "NATIVE" : switch (frame.category()) {
            case "jit" -> "JIT_COMPILED";
            case "inlined" -> "INLINED";
            case "interpreted" -> "INTERPRETED";
            case "jvm" -> "CPP";
            case "java" -> "Java caller";
            default -> "NATIVE";
        };
        String owner = frame.module() != null ? frame.module() : frame.category().equals("jvm") ? "libjvm.so" : null;
        return type + " " + (owner != null ? owner + "." + frame.function() : frame.function());
    }

    @SuppressWarnings("unchecked")
    static IMemberAccessor<?, IItem> accessor(IType<IItem> type, String id) {
        for (IAccessorKey<?> key : type.getAccessorKeys().keySet()) {
            if (key.getIdentifier().equals(id)) {
                return type.getAccessor((IAccessorKey<Object>) key);
            }
        }
        fail(type.getIdentifier() + " has no attribute " + id);
        return null;
    }

    // ---------------------------------------------------------------------------------------------------------

    private static void add(Map<List<String>, List<Long>> paths, List<String> path, long bytes, long count) {
        List<Long> sum = paths.getOrDefault(path, List.of(0L, 0L));
        paths.put(List.copyOf(path), List.of(sum.get(0) + bytes, sum.get(1) + count));
    }

    private static int compare(List<String> a, List<String> b) {
        return String.join("\n", a).compareTo(String.join("\n", b));
    }

    /** Paths whose last frame is {@code function}: their bytes added up. */
    static long bytesEndingIn(Map<List<String>, List<Long>> paths, String function) {
        long bytes = 0;
        for (Map.Entry<List<String>, List<Long>> path : paths.entrySet()) {
            String last = path.getKey().get(path.getKey().size() - 1);
            if (last.contains(function)) {
                bytes += path.getValue().get(0);
            }
        }
        return bytes;
    }

    static void assertSamePaths(Map<List<String>, List<Long>> expected, Map<List<String>, List<Long>> actual,
                                String what) {
        assertEquals(expected, actual, what + " differs from the text report");
    }
}
