package dev.memleak4j.agent.views;

import dev.memleak4j.agent.report.StackReport;
import dev.memleak4j.agent.stacks.Frame;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The stacks of a snapshot merged into one tree, outermost caller at the root: what a flame graph draws. Two frames
 * are one node when they are the same function of the same library with the same category under the same parent.
 */
public final class StackTree {
    /** One function on one path from the root. */
    public static final class Node {
        private final String function;
        private final String module;
        private final FrameLabels.Category category;
        private final Map<String, Node> byKey = new HashMap<>();
        private final List<Node> children = new ArrayList<>();
        private long bytes;
        private long count;
        /** The rank of the first leak suspect whose stack passes through this node; 0 when none does. */
        private int suspectRank;

        Node(String function, String module, FrameLabels.Category category) {
            this.function = function;
            this.module = module;
            this.category = category;
        }

        public String function() {
            return function;
        }

        /** The library of a native frame, else null. */
        public String module() {
            return module;
        }

        public FrameLabels.Category category() {
            return category;
        }

        /** Outstanding bytes of every stack through this node. */
        public long bytes() {
            return bytes;
        }

        /** Outstanding allocations of every stack through this node. */
        public long count() {
            return count;
        }

        /** Most bytes first. */
        public List<Node> children() {
            return children;
        }

        public int suspectRank() {
            return suspectRank;
        }

        private static String key(Frame frame) {
            FrameLabels.Category category = FrameLabels.category(frame);
            String module = frame.kind() == Frame.Kind.NATIVE ? frame.module() : null;
            return category.ordinal() + "\u0000" + FrameLabels.function(frame) + "\u0000"
                    + (module == null ? "" : module);
        }

        Node child(Frame frame) {
            FrameLabels.Category category = FrameLabels.category(frame);
            String function = FrameLabels.function(frame);
            String module = frame.kind() == Frame.Kind.NATIVE ? frame.module() : null;
            String key = key(frame);
            Node child = byKey.get(key);
            if (child == null) {
                child = new Node(function, module, category);
                byKey.put(key, child);
                children.add(child);
            }
            return child;
        }

        void sort() {
            children.sort(Comparator.comparingLong(Node::bytes).reversed().thenComparing(Node::function));
            for (Node child : children) {
                child.sort();
            }
        }
    }

    private StackTree() {}

    /**
     * Marks the path of each leak suspect's stack (ranked 1, 2, ... in {@code suspects} order) in a tree made by
     * {@link #of}; a path the tree does not hold (the suspect is not among its stacks) is left unmarked.
     */
    public static void markSuspects(Node root, List<List<Frame>> suspects) {
        for (int rank = 1; rank <= suspects.size(); rank++) {
            List<Frame> frames = suspects.get(rank - 1);
            List<Node> path = new ArrayList<>(frames.size());
            Node node = root;
            for (int i = frames.size() - 1; i >= 0 && node != null; i--) {
                node = node.byKey.get(Node.key(frames.get(i)));
                path.add(node);
            }
            if (node == null) {
                continue;
            }
            for (Node on : path) {
                if (on.suspectRank == 0) {
                    on.suspectRank = rank;
                }
            }
        }
    }

    /** The tree of {@code stacks} (frames listed innermost first, as in a {@link StackReport}). */
    public static Node of(List<StackReport> stacks) {
        Node root = new Node("all", null, FrameLabels.Category.UNKNOWN);
        for (StackReport stack : stacks) {
            Node node = root;
            node.bytes += stack.bytes();
            node.count += stack.count();
            List<Frame> frames = stack.frames();
            for (int i = frames.size() - 1; i >= 0; i--) {
                node = node.child(frames.get(i));
                node.bytes += stack.bytes();
                node.count += stack.count();
            }
        }
        root.sort();
        return root;
    }
}
