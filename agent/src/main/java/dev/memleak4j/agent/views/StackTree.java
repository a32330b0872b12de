package dev.memleak4j.agent.views;

import dev.memleak4j.agent.report.StackReport;
import dev.memleak4j.agent.stacks.Frame;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The stacks of a snapshot merged into one tree, outermost caller at the root: what a flame graph draws. Two frames
 * are one node when they are the same function of the same library with the same category under the same parent.
 */
public final class StackTree {
    /** Most bytes first, then by function. A class, not a comparator chain: each link of one is a lambda. */
    private static final Comparator<Node> MOST_BYTES = new Comparator<>() {
        @Override
        public int compare(Node a, Node b) {
            int byBytes = Long.compare(b.bytes, a.bytes);
            return byBytes != 0 ? byBytes : a.label.function.compareTo(b.label.function);
        }
    };

    /**
     * What makes two frames one node under a parent: their function, library (native frames) and category. Made once
     * per frame object in a tree (stacks share their frames' objects), not once per frame of every stack.
     */
    private static final class Label {
        final String function;
        final String module;
        final FrameLabels.Category category;
        private final int hash;

        Label(Frame frame) {
            this(FrameLabels.function(frame), frame.kind() == Frame.Kind.NATIVE ? frame.module() : null,
                    FrameLabels.category(frame));
        }

        Label(String function, String module, FrameLabels.Category category) {
            this.function = function;
            this.module = module;
            this.category = category;
            this.hash = (function.hashCode() * 31 + Objects.hashCode(module)) * 31 + category.ordinal();
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Label that && that.hash == hash && that.category == category
                    && that.function.equals(function) && Objects.equals(that.module, module);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    private static final Label ROOT = new Label("all", null, FrameLabels.Category.UNKNOWN);

    /** One function on one path from the root. */
    public static final class Node {
        /** Children found by a scan up to this many; past it, by a map (most nodes have one child or none). */
        private static final int SCANNED_CHILDREN = 8;
        private final Label label;
        /** Null while there are none. */
        private List<Node> children;
        /** Null until there are more than SCANNED_CHILDREN children. */
        private Map<Label, Node> byLabel;
        private long bytes;
        private long count;
        /** The rank of the first leak suspect whose stack passes through this node; 0 when none does. */
        private int suspectRank;

        Node(Label label) {
            this.label = label;
        }

        public String function() {
            return label.function;
        }

        /** The library of a native frame, else null. */
        public String module() {
            return label.module;
        }

        public FrameLabels.Category category() {
            return label.category;
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
            return children == null ? List.of() : children;
        }

        public int suspectRank() {
            return suspectRank;
        }

        /** The child for label, or null. */
        Node find(Label label) {
            if (byLabel != null) {
                return byLabel.get(label);
            }
            if (children != null) {
                for (Node child : children) {
                    if (child.label.equals(label)) {
                        return child;
                    }
                }
            }
            return null;
        }

        Node child(Label label) {
            Node child = find(label);
            if (child == null) {
                child = new Node(label);
                if (children == null) {
                    children = new ArrayList<>(2);
                }
                children.add(child);
                if (byLabel != null) {
                    byLabel.put(label, child);
                } else if (children.size() > SCANNED_CHILDREN) {
                    byLabel = new HashMap<>();
                    for (Node known : children) {
                        byLabel.put(known.label, known);
                    }
                }
            }
            return child;
        }

        void sort() {
            if (children == null) {
                return;
            }
            children.sort(MOST_BYTES);
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
                node = node.find(new Label(frames.get(i)));
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
        Node root = new Node(ROOT);
        Map<Frame, Label> labels = new IdentityHashMap<>();
        for (StackReport stack : stacks) {
            Node node = root;
            node.bytes += stack.bytes();
            node.count += stack.count();
            List<Frame> frames = stack.frames();
            for (int i = frames.size() - 1; i >= 0; i--) {
                Frame frame = frames.get(i);
                Label label = labels.get(frame);
                if (label == null) {
                    label = new Label(frame);
                    labels.put(frame, label);
                }
                node = node.child(label);
                node.bytes += stack.bytes();
                node.count += stack.count();
            }
        }
        root.sort();
        return root;
    }
}
