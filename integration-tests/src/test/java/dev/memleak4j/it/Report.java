package dev.memleak4j.it;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One memleak-style report, parsed back from the agent's text output the way a user reads it. */
final class Report {
    private static final Pattern HEADER = Pattern.compile("^\\[\\d\\d:\\d\\d:\\d\\d\\] Top (\\d+) stacks with outstanding allocations:$");
    private static final Pattern ADDR = Pattern.compile("^\\taddr = ([0-9a-f]+) size = (\\d+)$");
    private static final Pattern SUMMARY = Pattern.compile("^\\t(\\d+) bytes in (\\d+) allocations from stack(.*)$");
    private static final Pattern FRAME = Pattern.compile("^\\t\\t0x([0-9a-f]{16})\\t(.*)$");

    record Allocation(long address, long size) {}

    static final class Stack {
        final long bytes;
        final long count;
        final boolean estimated;
        final List<Allocation> allocations;
        final List<String> frames = new ArrayList<>();

        Stack(long bytes, long count, boolean estimated, List<Allocation> allocations) {
            this.bytes = bytes;
            this.count = count;
            this.estimated = estimated;
            this.allocations = allocations;
        }

        /** The index of the first frame that matches {@code regex}, or -1. */
        int indexOf(String regex) {
            for (int i = 0; i < frames.size(); i++) {
                if (frames.get(i).matches(regex)) {
                    return i;
                }
            }
            return -1;
        }

        /** The allocator's direct caller, as printed. */
        String topFrame() {
            return frames.isEmpty() ? "" : frames.get(0);
        }

        @Override
        public String toString() {
            return bytes + " bytes in " + count + " allocations from " + frames;
        }
    }

    final int top;
    final List<Stack> stacks = new ArrayList<>();
    final List<String> otherLines = new ArrayList<>();

    private Report(int top) {
        this.top = top;
    }

    static List<Report> parseAll(String text) {
        List<Report> reports = new ArrayList<>();
        Report current = null;
        List<Allocation> pendingAllocations = new ArrayList<>();
        for (String line : text.split("\n")) {
            Matcher m;
            if ((m = HEADER.matcher(line)).matches()) {
                current = new Report(Integer.parseInt(m.group(1)));
                reports.add(current);
                pendingAllocations = new ArrayList<>();
            } else if (current == null) {
                continue;
            } else if ((m = ADDR.matcher(line)).matches()) {
                pendingAllocations.add(new Allocation(Long.parseUnsignedLong(m.group(1), 16), Long.parseLong(m.group(2))));
            } else if ((m = SUMMARY.matcher(line)).matches()) {
                current.stacks.add(new Stack(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
                        m.group(3).contains("estimated"), pendingAllocations));
                pendingAllocations = new ArrayList<>();
            } else if ((m = FRAME.matcher(line)).matches() && !current.stacks.isEmpty()) {
                current.stacks.get(current.stacks.size() - 1).frames.add(m.group(2));
            } else if (!line.isBlank()) {
                current.otherLines.add(line);
            }
        }
        return reports;
    }

    /** Stacks whose direct caller frame starts with {@code prefix}. */
    List<Stack> stacksFrom(String prefix) {
        List<Stack> found = new ArrayList<>();
        for (Stack stack : stacks) {
            if (stack.topFrame().startsWith(prefix)) {
                found.add(stack);
            }
        }
        return found;
    }

    long bytesFrom(String prefix) {
        return stacksFrom(prefix).stream().mapToLong(s -> s.bytes).sum();
    }

    long countFrom(String prefix) {
        return stacksFrom(prefix).stream().mapToLong(s -> s.count).sum();
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("Report(top " + top + ")\n");
        for (Stack stack : stacks) {
            out.append("  ").append(stack).append('\n');
        }
        return out.toString();
    }
}
