package dev.memleak4j.bench;

import static dev.memleak4j.bench.Numbers.format;
import static dev.memleak4j.bench.Numbers.formatRate;
import static dev.memleak4j.bench.Numbers.median;
import static dev.memleak4j.bench.Numbers.mib;
import static dev.memleak4j.bench.Numbers.seconds;
import static dev.memleak4j.bench.Numbers.spread;

import dev.memleak4j.bench.Column.Config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Markdown tables printed after the runs, from their results: the workloads' throughput and memory, their full
 * GCs, the timed rows (start-up, javac), the agent memory with a million outstanding allocations, and the legend.
 * Reading the rounds, the workloads' and agent-memory tables also gather the samples the targets are judged on
 * ({@link Targets}) and add the notes their runs call for (failures, against the do-nothing agent, when tracking
 * began).
 */
final class MarkdownTables {
    /** The notes under the tables, shared with the rest of the bench, in the order they arise. */
    private final List<String> notes;
    /** Per target, the values of its rows' rounds in the judged column ({@link Column#judged()}). */
    private final Map<Targets.Target, List<Double>> targetSamples;

    MarkdownTables(List<String> notes, Map<Targets.Target, List<Double>> targetSamples) {
        this.notes = notes;
        this.targetSamples = targetSamples;
    }

    /**
     * The workloads' table: per workload and column, the throughput, its ratio to no tool round by round, the time and
     * CPU per allocator call it adds, memleak4j's traps, the RSS added and the BPF maps; medians over the rounds.
     */
    String workloadTable(List<Column> columns, Map<Workload, Map<Column, List<Run>>> results,
            Map<Workload, Double> callsPerOp) {
        StringBuilder table = new StringBuilder();
        table.append("| workload | tool | ops/s (median) | ratio with/without: median [min–max] | ns added/op "
                + "| allocator calls/op | ns added/allocator call | traps/s | RSS added (MiB) | BPF maps (MiB) |\n");
        table.append("|---|---|---:|---|---:|---:|---:|---:|---:|---:|\n");
        Map<Column, List<Double>> trackingUptimes = new LinkedHashMap<>();
        for (Map.Entry<Workload, Map<Column, List<Run>>> entry : results.entrySet()) {
            Workload workload = entry.getKey();
            List<Run> base = entry.getValue().get(Column.BASELINE);
            Double calls = callsPerOp.get(workload);
            List<Run> empty = entry.getValue().get(Column.EMPTY_AGENT);
            for (Column column : columns) {
                List<Run> runs = entry.getValue().get(column);
                if (runs == null) {
                    continue;
                }
                List<Double> rates = new ArrayList<>();
                List<Double> overEmpty = new ArrayList<>();
                List<Double> ratios = new ArrayList<>();
                List<Double> nsPerOp = new ArrayList<>();
                List<Double> nsPerCall = new ArrayList<>();
                List<Double> rss = new ArrayList<>();
                List<Double> bpf = new ArrayList<>();
                List<Double> traps = new ArrayList<>();
                String failure = null;
                for (int i = 0; i < runs.size(); i++) {
                    Run run = runs.get(i);
                    Run ref = base.get(i);
                    if (!run.ok()) {
                        failure = run.error;
                        continue;
                    }
                    rates.add(run.opsPerSecond());
                    if (run.trackingUptimeMs >= 0) {
                        trackingUptimes.computeIfAbsent(column, c -> new ArrayList<>())
                                .add((double) run.trackingUptimeMs);
                    }
                    if (run.bpfMapBytes > 0) {
                        bpf.add(run.bpfMapBytes / 1048576.0);
                    }
                    if (!Double.isNaN(run.trapsPerSecond)) {
                        traps.add(run.trapsPerSecond);
                    }
                    if (!ref.ok() || column.config == Config.BASELINE) {
                        continue;
                    }
                    ratios.add(run.opsPerSecond() / ref.opsPerSecond());
                    if (empty != null && column.config == Config.MEMLEAK4J && empty.get(i).ok()) {
                        overEmpty.add(run.opsPerSecond() / empty.get(i).opsPerSecond());
                    }
                    nsPerOp.add(1e9 / run.opsPerSecond() - 1e9 / ref.opsPerSecond());
                    if (calls != null && calls > 0 && run.cpuNanos >= 0 && ref.cpuNanos >= 0) {
                        nsPerCall.add((run.cpuNanosPerOp() - ref.cpuNanosPerOp()) / calls);
                    }
                    rss.add((run.rssKb - ref.rssKb) / 1024.0);
                }
                if (failure != null) {
                    notes.add(workload.id + " / " + column.id + ": " + (runs.size() - rates.size()) + " of "
                            + runs.size() + " runs failed: " + failure);
                }
                Targets.Target target = Targets.Target.forRow(workload.id);
                if (column.judged() && target != null) {
                    targetSamples.put(target, target == Targets.Target.JNI_PAIR ? nsPerOp : ratios);
                }
                if (!overEmpty.isEmpty()) {
                    notes.add(workload.id + ": " + column.label + " against a do-nothing -javaagent in the same round: "
                            + spread(overEmpty, 3));
                }
                boolean baseline = column.config == Config.BASELINE;
                table.append("| ").append(baseline ? workload.id : "").append(" | ").append(column.label)
                        .append(" | ").append(rates.isEmpty() ? "failed" : formatRate(median(rates)))
                        .append(" | ").append(baseline ? "1 (reference)" : spread(ratios, 3))
                        .append(" | ").append(baseline || nsPerOp.isEmpty() ? "" : format(median(nsPerOp), 0))
                        .append(" | ").append(baseline && calls != null ? format(calls, 1) : "")
                        .append(" | ").append(baseline || nsPerCall.isEmpty() ? "" : format(median(nsPerCall), 0))
                        .append(" | ").append(traps.isEmpty() ? "" : format(median(traps), 0))
                        .append(" | ").append(baseline || rss.isEmpty() ? "" : format(median(rss), 1))
                        .append(" | ").append(bpf.isEmpty() ? "" : format(median(bpf), 1))
                        .append(" |\n");
            }
        }
        trackingUptimes.forEach((column, uptimes) -> notes.add(column.label + ": tracking began "
                + spread(uptimes, 0) + " ms after the JVM started (the children's warm-up began then)"));
        return table.toString();
    }

    /**
     * Per workload that ran full GCs (gc-heavy, direct-buffer): the classes loaded and the mean full-GC pause per
     * column, medians over the rounds: what a tool's weight in the JVM costs every full GC.
     */
    static String fullGcTable(List<Column> columns, Map<Workload, Map<Column, List<Run>>> results) {
        StringBuilder table = new StringBuilder();
        for (Map.Entry<Workload, Map<Column, List<Run>>> entry : results.entrySet()) {
            List<Run> all = new ArrayList<>();
            entry.getValue().values().forEach(all::addAll);
            if (all.stream().noneMatch(run -> run.ok() && run.fullGcs > 0)) {
                continue;
            }
            if (table.length() == 0) {
                table.append("\nFull GCs in the measurement window (old-generation collector's MXBean; classes loaded "
                        + "at its end); medians over the rounds:\n\n");
                table.append("| workload | tool | classes loaded | objects live after the window | full GCs/s "
                        + "| mean full-GC pause (ms) | GC threads' CPU per full GC (ms) |\n");
                table.append("|---|---|---:|---:|---:|---:|---:|\n");
            }
            for (Column column : columns) {
                if (!entry.getValue().containsKey(column)) {
                    continue;
                }
                List<Double> classes = new ArrayList<>();
                List<Double> live = new ArrayList<>();
                List<Double> perSecond = new ArrayList<>();
                List<Double> pause = new ArrayList<>();
                List<Double> gcCpu = new ArrayList<>();
                for (Run run : entry.getValue().get(column)) {
                    if (run.ok() && run.classes >= 0) {
                        classes.add((double) run.classes);
                        if (run.liveObjects >= 0) {
                            live.add((double) run.liveObjects);
                        }
                        perSecond.add(run.fullGcs * 1e9 / run.nanos);
                        if (run.fullGcs > 0) {
                            pause.add(run.fullGcMillis / (double) run.fullGcs);
                            if (run.gcCpuMillis >= 0) {
                                gcCpu.add(run.gcCpuMillis / (double) run.fullGcs);
                            }
                        }
                    }
                }
                table.append("| ").append(column.config == Config.BASELINE ? entry.getKey().id : "").append(" | ")
                        .append(column.label).append(" | ")
                        .append(classes.isEmpty() ? "failed" : format(median(classes), 0)).append(" | ")
                        .append(live.isEmpty() ? "" : format(median(live), 0)).append(" | ")
                        .append(perSecond.isEmpty() ? "" : format(median(perSecond), 1)).append(" | ")
                        .append(pause.isEmpty() ? "" : format(median(pause), 2)).append(" | ")
                        .append(gcCpu.isEmpty() ? "" : format(median(gcCpu), 2)).append(" |\n");
            }
        }
        return table.toString();
    }

    /**
     * A table of timed runs per column: the median wall time [min–max] and its ratio to no tool, then a second
     * value likewise, with its ratio to no tool ({@code ratio}) or what the column adds to it.
     */
    static String timedTable(List<Column> columns, Map<Column, List<TimedRun>> byColumn, String name,
            java.util.function.ToDoubleFunction<TimedRun> value, String versus, boolean ratio) {
        StringBuilder table = new StringBuilder();
        table.append("| tool | wall (s) | × wall | ").append(name).append(" | ").append(versus).append(" |\n");
        table.append("|---|---:|---:|---:|---:|\n");
        double baseWall = medianOf(byColumn.get(Column.BASELINE), t -> t.wallSeconds);
        double baseValue = medianOf(byColumn.get(Column.BASELINE), value);
        for (Column column : columns) {
            List<TimedRun> runs = byColumn.get(column);
            double median = medianOf(runs, value);
            table.append("| ").append(column.label).append(" | ").append(spreadOf(runs, t -> t.wallSeconds, 2))
                    .append(" | ").append(format(medianOf(runs, t -> t.wallSeconds) / baseWall, 2)).append(" | ")
                    .append(spreadOf(runs, value, 2)).append(" | ")
                    .append(ratio ? format(median / baseValue, 2)
                            : column.config == Config.BASELINE ? "" : format(median - baseValue, 2))
                    .append(" |\n");
        }
        return table.toString();
    }

    private static List<Double> valuesOf(List<TimedRun> runs, java.util.function.ToDoubleFunction<TimedRun> value) {
        List<Double> values = new ArrayList<>();
        for (TimedRun timed : runs) {
            if (timed.error == null && !Double.isNaN(value.applyAsDouble(timed))) {
                values.add(value.applyAsDouble(timed));
            }
        }
        return values;
    }

    private static double medianOf(List<TimedRun> runs, java.util.function.ToDoubleFunction<TimedRun> value) {
        List<Double> values = valuesOf(runs, value);
        return values.isEmpty() ? Double.NaN : median(values);
    }

    private static String spreadOf(List<TimedRun> runs, java.util.function.ToDoubleFunction<TimedRun> value,
            int decimals) {
        return spread(valuesOf(runs, value), decimals);
    }

    /**
     * The agent-memory row: {@code million} outstanding allocations held {@code holdMs}, in a child without a tool and
     * in memleak4j's columns (run with {@code agentOptions}).
     */
    String millionTable(long million, String agentOptions, long holdMs, Run baseline, Map<Column, Run> agents) {
        StringBuilder table = new StringBuilder();
        table.append("Agent memory with ").append(String.format(Locale.ROOT, "%,d", million))
                .append(" outstanding 32-byte allocations (JNI malloc, kept; agent options `")
                .append(agentOptions).append("`; read after ").append(seconds(holdMs))
                .append(" s held, one report or more included):\n\n");
        table.append("| | RSS (MiB) | RSS added (MiB) | peak RSS added (MiB) | BPF maps before → after (MiB) "
                + "| BPF maps per allocation (bytes) | agent memory per allocation (bytes) "
                + "| time to allocate them (s) | largest count in a report | total agent memory (MiB) "
                + "| at the RSS peak (MiB) |\n");
        table.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        table.append("| no tool | ").append(baseline.ok() ? format(baseline.rssKb / 1024.0, 1) : "failed")
                .append(" | | | | | | ").append(baseline.ok() ? format(baseline.heldAllocNanos / 1e9, 2) : "")
                .append(" | | | |\n");
        for (Map.Entry<Column, Run> entry : agents.entrySet()) {
            Column column = entry.getKey();
            Run agent = entry.getValue();
            if (!agent.ok() || !baseline.ok()) {
                table.append("| ").append(column.label).append(" | failed | | | | | | | | | |\n");
                notes.add("million / " + column.label + ": " + (agent.ok() ? baseline.error : agent.error)
                        + " (log: " + (agent.ok() ? baseline.log : agent.log) + ")");
                continue;
            }
            double rssAdded = (agent.rssKb - baseline.rssKb) / 1024.0;
            double peakAdded = (agent.hwmKb - baseline.hwmKb) / 1024.0;
            double maps = agent.bpfMapBytes / 1048576.0;
            long mapsBefore = agent.before != null ? agent.before.bpfMapBytes : -1;
            double perAllocation = ((agent.rssKb - baseline.rssKb) * 1024.0 + agent.bpfMapBytes) / million;
            if (million == 1_000_000 && column.judged()) { // the target's count, in the default mode
                targetSamples.put(Targets.Target.MILLION, List.of(rssAdded + maps));
            }
            table.append("| ").append(column.label).append(" | ").append(format(agent.rssKb / 1024.0, 1))
                    .append(" | ").append(format(rssAdded, 1)).append(" | ").append(format(peakAdded, 1))
                    .append(" | ").append(mapsBefore < 0 ? "?" : mib(mapsBefore)).append(" → ")
                    .append(format(maps, 1)).append(" | ")
                    .append(mapsBefore < 0 ? "" : format((agent.bpfMapBytes - mapsBefore) / (double) million, 0))
                    .append(" | ").append(format(perAllocation, 0)).append(" | ")
                    .append(format(agent.heldAllocNanos / 1e9, 2)).append(" | ")
                    .append(agent.reportedAllocations < 0 ? "no report" : String.format(Locale.ROOT, "%,d",
                            agent.reportedAllocations))
                    .append(" | ").append(format(rssAdded + maps, 1)).append(" | ")
                    .append(format(peakAdded + maps, 1)).append(" |\n");
            if (agent.untrackedLine != null) {
                notes.add("million / " + column.label + ": the agent's last report said: "
                        + agent.untrackedLine.trim());
            }
        }
        table.append("\nTotal agent memory: RSS added + BPF maps.\n");
        return table.toString();
    }

    static String legend() {
        return String.join("\n",
                "Legend:",
                "- ratio: throughput with the tool / without it, per round (each round runs every configuration once, "
                        + "in order, each in a fresh JVM); median and min–max over the rounds. 1.00 = no cost.",
                "- ns added/op: 1e9/(ops/s with) − 1e9/(ops/s without), median over rounds (wall time per op of "
                        + "the whole process; for jni-malloc-free, ns per malloc/free pair).",
                "- allocator calls/op: malloc/calloc/realloc/free/... calls per op, counted in a separate run "
                        + "with an LD_PRELOAD counter (JVM threads included: GC, JIT, Cleaner).",
                "- ns added/allocator call: process CPU time per op with − without, divided by allocator "
                        + "calls/op, median over rounds (an estimate: includes everything the tool adds).",
                "- traps/s: memleak4j's entries into the kernel per second in the window, from its BPF counters "
                        + "(hooks: sampled allocations and frees of sampled blocks; uprobes: every call, and the "
                        + "return of each sampled one); median over rounds.",
                "- RSS added: the child's VmRSS at the end of measurement, with − without, same round; "
                        + "BPF maps: sum of `memlock:` in /proc/PID/fdinfo of the child's bpf-map fds.",
                "");
    }
}
