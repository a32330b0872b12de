package dev.memleak4j.agent.views.flamegraph;

import dev.memleak4j.agent.leaks.LeakDetector;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.stacks.Frame;
import dev.memleak4j.agent.views.FrameLabels;
import dev.memleak4j.agent.views.StackTree;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A snapshot as one self-contained HTML page: a flame graph of the outstanding bytes (or allocations, on a toggle),
 * Java and native frames in one tree, coloured by where the code comes from. The page needs no network: its script,
 * style and data are inside it. The tree is embedded as JSON, so a test or a script can read the numbers back.
 */
public final class FlameGraph {
    private static final String TEMPLATE = "flamegraph.html";

    private FlameGraph() {}

    /** The page for every stack the snapshot holds ({@link Snapshot#allStacks()}). */
    public static String html(Snapshot snapshot, String title) {
        String template = template();
        String data = data(snapshot, title);
        int titleAt = template.indexOf("/*TITLE*/");
        int dataAt = template.indexOf("/*DATA*/");
        StringBuilder out = new StringBuilder(template.length() + data.length() + 64);
        out.append(template, 0, titleAt).append(escapeHtml(title))
                .append(template, titleAt + "/*TITLE*/".length(), dataAt).append(data)
                .append(template, dataAt + "/*DATA*/".length(), template.length());
        return out.toString();
    }

    public static byte[] bytes(Snapshot snapshot, String title) {
        return html(snapshot, title).getBytes(StandardCharsets.UTF_8);
    }

    static String data(Snapshot snapshot, String title) {
        StackTree.Node root = StackTree.of(snapshot.allStacks());
        List<List<Frame>> suspects = new ArrayList<>();
        if (snapshot.leaks() != null) {
            for (LeakDetector.Suspect suspect : snapshot.leaks().suspects()) {
                suspects.add(suspect.frames());
            }
        }
        StackTree.markSuspects(root, suspects);
        Map<String, Integer> strings = new HashMap<>();
        StringBuilder table = new StringBuilder();
        StringBuilder tree = new StringBuilder(1 << 16);
        node(root, strings, table, tree);
        StringBuilder out = new StringBuilder(tree.length() + table.length() + 512);
        out.append("{\"title\":");
        string(out, title);
        out.append(",\"time\":");
        string(out, snapshot.time().toString());
        out.append(",\"estimated\":").append(snapshot.estimated());
        out.append(",\"stackCount\":").append(snapshot.stackCount());
        out.append(",\"stacksShown\":").append(snapshot.allStacks().size());
        out.append(",\"suspects\":").append(suspects.size());
        out.append(",\"categories\":[");
        FrameLabels.Category[] categories = FrameLabels.Category.values();
        for (int i = 0; i < categories.length; i++) {
            out.append(i == 0 ? "\"" : ",\"").append(categories[i].label()).append('"');
        }
        out.append("],\"strings\":[").append(table).append("],\"tree\":").append(tree).append('}');
        return out.toString();
    }

    /**
     * {@code [function, module or -1, category, bytes, allocations, [children], suspect rank]}, strings as table
     * indexes; the children (then possibly empty) and the rank only when the node is on a leak suspect's path, the
     * children alone when it has some.
     */
    private static void node(StackTree.Node node, Map<String, Integer> strings, StringBuilder table,
                             StringBuilder out) {
        out.append('[').append(index(node.function(), strings, table)).append(',')
                .append(node.module() == null ? -1 : index(node.module(), strings, table)).append(',')
                .append(node.category().ordinal()).append(',').append(node.bytes()).append(',').append(node.count());
        List<StackTree.Node> children = node.children();
        if (!children.isEmpty() || node.suspectRank() > 0) {
            out.append(",[");
            for (int i = 0; i < children.size(); i++) {
                if (i > 0) {
                    out.append(',');
                }
                node(children.get(i), strings, table, out);
            }
            out.append(']');
        }
        if (node.suspectRank() > 0) {
            out.append(',').append(node.suspectRank());
        }
        out.append(']');
    }

    private static int index(String text, Map<String, Integer> strings, StringBuilder table) {
        Integer index = strings.get(text);
        if (index == null) {
            index = strings.size();
            strings.put(text, index);
            if (index > 0) {
                table.append(',');
            }
            string(table, text);
        }
        return index;
    }

    /**
     * A JSON string that is also safe inside the page's script element: {@code <} is escaped, so no name (a C++
     * template, a hostile library name) can close the element.
     */
    private static void string(StringBuilder out, String text) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '<' -> out.append("\\u003c");
                case '>' -> out.append("\\u003e");
                case '&' -> out.append("\\u0026");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    private static String escapeHtml(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static String template() {
        try (InputStream in = FlameGraph.class.getResourceAsStream(TEMPLATE)) {
            if (in == null) {
                throw new IllegalStateException(TEMPLATE + " is missing from the agent jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
