package dev.memleak4j.it;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One memleak-style report, parsed back from the agent's text output the way a user reads it. */
final class Report {
    private static final Pattern EXIT = Pattern.compile("^\\[\\d\\d:\\d\\d:\\d\\d\\] Exit report: .*$");
    private static final Pattern SUSPECTS = Pattern.compile(
            "^\\[\\d\\d:\\d\\d:\\d\\d\\] Leak suspects: (none|\\d+) growing over the last (\\d+) s \\((\\d+) steady, (\\d+) "
                    + "transient, (\\d+) too new to tell\\)$");
    private static final Pattern SUSPECT = Pattern.compile(
            "^\\t#(\\d+) growing (-?\\d+) bytes/min since (\\S+), confidence (\\w+) \\((.*)\\): (\\d+) bytes in (\\d+) "
                    + "allocations now$");
    private static final Pattern MEMORY = Pattern.compile("^\\[\\d\\d:\\d\\d:\\d\\d\\] Memory: ([a-z-]+): (.*)$");
    private static final Pattern HEADER = Pattern.compile("^\\[\\d\\d:\\d\\d:\\d\\d\\] Top (\\d+) stacks with outstanding allocations:$");
    private static final Pattern ADDR = Pattern.compile("^\\taddr = ([0-9a-f]+) size = (\\d+)$");
    private static final Pattern SUMMARY = Pattern.compile("^\\t(\\d+) bytes in (\\d+) allocations from stack(.*)$");
    private static final Pattern FRAME = Pattern.compile("^\\t\\t0x([0-9a-f]{16})\\t(.*)$");

    record Allocation(long address, long size) {}

    /**
     * One entry of the "Leak suspects" section that comes before a report's top stacks; {@code owners} is the text
     * of its "owners:" line, empty when there was none.
     */
    record Suspect(int rank, long bytesPerMinute, String since, String confidence, String evidence, long bytes,
                   long count, List<String> frames, List<String> owners) {}

    /** The "Leak suspects" section's counts. */
    record SuspectCounts(int growing, int steady, int transients, int tooNew) {}

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
    /** Whether the JVM's exit took this report (an "Exit report:" line came right before its header). */
    boolean atExit;
    /** The leak suspects printed before this report's top stacks; null when there was no such section. */
    List<Suspect> suspects;
    SuspectCounts suspectCounts;
    /** The verdict on the process's memory printed before this report's top stacks (e.g. native-leak), or null. */
    String memoryVerdict;
    String memoryLine;
    final List<Stack> stacks = new ArrayList<>();
    final List<String> otherLines = new ArrayList<>();

    private Report(int top) {
        this.top = top;
    }

    static List<Report> parseAll(String text) {
        List<Report> reports = new ArrayList<>();
        Report current = null;
        List<Allocation> pendingAllocations = new ArrayList<>();
        boolean exitLine = false;
        List<Suspect> suspects = null;
        SuspectCounts counts = null;
        Matcher memory = null;
        for (String line : text.split("\n")) {
            Matcher m;
            if ((m = MEMORY.matcher(line)).matches()) {
                memory = m;
            } else if (EXIT.matcher(line).matches()) {
                exitLine = true;
            } else if ((m = SUSPECTS.matcher(line)).matches()) {
                suspects = new ArrayList<>();
                counts = new SuspectCounts(m.group(1).equals("none") ? 0 : Integer.parseInt(m.group(1)),
                        Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)), Integer.parseInt(m.group(5)));
            } else if (suspects != null && (m = SUSPECT.matcher(line)).matches()) {
                suspects.add(new Suspect(Integer.parseInt(m.group(1)), Long.parseLong(m.group(2)), m.group(3),
                        m.group(4), m.group(5), Long.parseLong(m.group(6)), Long.parseLong(m.group(7)),
                        new ArrayList<>(), new ArrayList<>()));
            } else if (suspects != null && line.startsWith("\t\towners: ")) {
                if (!suspects.isEmpty()) {
                    suspects.get(suspects.size() - 1).owners().add(line.substring("\t\towners: ".length()));
                }
            } else if (suspects != null && line.startsWith("\t\t")) {
                if (!suspects.isEmpty()) {
                    suspects.get(suspects.size() - 1).frames().add(line.substring(2));
                }
            } else if (suspects != null && line.startsWith("\t... ")) {
                continue; // more growing stacks than top
            } else if ((m = HEADER.matcher(line)).matches()) {
                current = new Report(Integer.parseInt(m.group(1)));
                current.atExit = exitLine;
                current.suspects = suspects;
                current.suspectCounts = counts;
                current.memoryVerdict = memory == null ? null : memory.group(1);
                current.memoryLine = memory == null ? null : memory.group(0);
                memory = null;
                suspects = null;
                counts = null;
                exitLine = false;
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
