package dev.memleak4j.bench;

import static dev.memleak4j.bench.Numbers.format;
import static dev.memleak4j.bench.Numbers.formatRate;
import static dev.memleak4j.bench.Numbers.mib;
import static dev.memleak4j.bench.Numbers.seconds;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The benchmark's parent: runs every workload in fresh child JVMs ({@link ChildMain}) without a tool, with memleak4j
 * and with async-profiler's {@code nativemem}, the configurations alternating round after round, then prints the
 * machine and one Markdown table. See {@link BenchOptions#usage()}.
 *
 * <p>This class is the orchestration: which columns run which rows, in which order, and what is printed when. The rest
 * lies beside it: {@link BenchOptions} (the command line), {@link Column} (a configuration), {@link ChildRunner}
 * (launching a child and reading what it cost: a {@link Run}, or a {@link TimedRun} for the start-up and javac rows),
 * {@link MarkdownTables} (the tables of those results), {@link Machine} (the machine lines), {@link Targets} (the
 * verdicts) and {@link Numbers} (how figures are written).
 */
public final class BenchMain {
    private final BenchOptions options;
    private final ChildRunner runner;
    /** The notes under the tables, in the order they arise; the runner and the tables add theirs. */
    private final List<String> notes = new ArrayList<>();
    /** Per target, the values of its rows' rounds in the judged column ({@link Column#judged()}). */
    private final Map<Targets.Target, List<Double>> targetSamples = new EnumMap<>(Targets.Target.class);
    private final MarkdownTables tables = new MarkdownTables(notes, targetSamples);
    private String millionAgentOptions;

    private BenchMain(BenchOptions options) throws IOException {
        this.options = options;
        this.runner = new ChildRunner(options, notes);
    }

    public static void main(String[] args) throws Exception {
        BenchOptions options;
        try {
            options = BenchOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("memleak4j-bench: " + e.getMessage());
            System.err.println(BenchOptions.usage());
            System.exit(2);
            return;
        }
        if (options.help) {
            System.out.println(BenchOptions.usage());
            return;
        }
        new BenchMain(options).run();
    }

    private void run() throws Exception {
        System.out.print(header());
        System.out.flush();

        if (!Files.isRegularFile(options.agent)) {
            throw new IllegalStateException("no agent jar at " + options.agent + ": build it (mvn -B -q install "
                    + "-DskipTests) or give --agent PATH");
        }
        List<Column> columns = columns();

        Map<Workload, Double> callsPerOp = new EnumMap<>(Workload.class);
        Map<Workload, Map<Column, List<Run>>> results = new EnumMap<>(Workload.class);
        for (Workload workload : options.workloads) {
            if (options.count) {
                Run count = runner.runChild(workload, Column.COUNT, 0, 1000, 2000, List.of());
                if (count.ok() && count.calls >= 0 && count.ops > 0) {
                    callsPerOp.put(workload, (double) count.calls / count.ops);
                    progress(workload.id + " count: " + format(count.calls / (double) count.ops, 1)
                            + " allocator calls/op");
                } else {
                    notes.add(workload.id + ": allocator calls not counted (" + describe(count) + ")");
                }
            }
            Map<Column, List<Run>> byColumn = new LinkedHashMap<>();
            List<Column> workloadColumns = columnsFor(workload.id, columns);
            for (int round = 1; round <= options.rounds; round++) {
                for (Column column : workloadColumns) {
                    Run run = runner.runChild(workload, column, round, options.warmupMs, options.measureMs, List.of());
                    byColumn.computeIfAbsent(column, c -> new ArrayList<>()).add(run);
                    progress(workload.id + " round " + round + "/" + options.rounds + " " + column.id + ": "
                            + (run.ok() ? formatRate(run.opsPerSecond()) + " ops/s, RSS " + run.rssKb / 1024
                                    + " MiB" + (run.bpfMaps > 0 ? ", BPF maps " + mib(run.bpfMapBytes) + " MiB" : "")
                                    + (Double.isNaN(run.trapsPerSecond) ? ""
                                            : ", " + format(run.trapsPerSecond, 0) + " traps/s")
                                    + (run.fullGcs > 0 ? ", " + run.fullGcs + " full GCs of "
                                            + format(run.fullGcMillis / (double) run.fullGcs, 2) + " ms" : "")
                                    + ", other processes busy " + format(run.otherCpus, 2) + " CPUs"
                                    : "FAILED: " + run.error + " (log: " + run.log + ")"));
                }
            }
            results.put(workload, byColumn);
        }
        String startup = options.startupRuns > 0 ? startup(columnsFor("startup", columns)) : null;
        String javac = options.runsJavac() ? javac(columnsFor("javac", columns)) : null;
        Run millionBaseline = null;
        Map<Column, Run> millionAgents = new LinkedHashMap<>();
        if (options.million > 0) {
            List<String> extra = List.of(String.valueOf(options.million), "32");
            millionBaseline = runner.runChild(Workload.MILLION, Column.BASELINE, 0, 0, options.millionHoldMs, extra);
            progress("million baseline: " + (millionBaseline.ok() ? "RSS " + millionBaseline.rssKb / 1024 + " MiB"
                    : "FAILED: " + millionBaseline.error));
            for (Column column : Column.memleak4jColumns(millionAgentOptions(), "memleak4j")) {
                Run run = runner.runChild(Workload.MILLION, column, 0, 0, options.millionHoldMs, extra);
                millionAgents.put(column, run);
                progress("million " + column.label + ": " + (run.ok() ? "RSS " + run.rssKb / 1024 + " MiB, BPF maps "
                        + mib(run.bpfMapBytes) + " MiB" : "FAILED: " + run.error));
            }
        }

        if (options.viewsStacks > 0) {
            viewsCost();
        }

        StringBuilder out = new StringBuilder();
        if (!results.isEmpty()) {
            out.append('\n').append(tables.workloadTable(columns, results, callsPerOp));
            out.append(MarkdownTables.fullGcTable(columns, results));
        }
        if (startup != null) {
            out.append('\n').append(startup);
        }
        if (javac != null) {
            out.append('\n').append(javac);
        }
        if (millionBaseline != null) {
            out.append('\n').append(tables.millionTable(options.million, millionAgentOptions(), options.millionHoldMs,
                    millionBaseline, millionAgents));
        }
        columns.stream().filter(Column::judged).findFirst().filter(judged -> !targetSamples.isEmpty())
                .ifPresent(judged -> out.append('\n').append(Targets.table(targetSamples, judged.agentOptions)));
        if (!results.isEmpty()) {
            out.append('\n').append(MarkdownTables.legend());
        }
        String load = runner.loadNote();
        if (load != null) {
            notes.add(0, load);
        }
        if (!notes.isEmpty()) {
            out.append("\nNotes:\n");
            for (String note : notes) {
                out.append("- ").append(note).append('\n');
            }
        }
        System.out.print(out);
    }

    /** The output's title and its list of what ran where: the machine, the tools, the child JVMs. */
    private String header() {
        String started = ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm zzz"));
        StringBuilder out = new StringBuilder();
        out.append("# memleak4j benchmark, ").append(started).append("\n\n");
        for (Map.Entry<String, String> entry : Machine.describe(options.java, runner.benchLibrary).entrySet()) {
            out.append("- ").append(entry.getKey()).append(": ").append(entry.getValue()).append('\n');
        }
        out.append("- memleak4j: `-javaagent:").append(options.agent)
                .append(ChildRunner.agentSuffix(options.agentOptions)).append("`")
                .append(options.agentOptions.contains("probe-mode=") ? ""
                        : ", with probe-mode=uprobes and with probe-mode=hooks added").append("\n");
        out.append("- async-profiler: ").append(options.asyncProfiler != null
                ? "`-agentpath:" + options.asyncProfiler + "=start,nativemem,file=<work-dir>/async-profiler.jfr`"
                : "skipped: " + options.noAsyncProfilerReason).append('\n');
        if (options.javacRounds > 0 && options.noJavacReason != null) {
            out.append("- javac row: skipped: ").append(options.noJavacReason).append('\n');
        }
        if (!options.emptyAgentWorkloads.isEmpty()) {
            out.append("- a do-nothing -javaagent: `-javaagent:").append(runner.benchJar)
                    .append("` (an empty premain), in ").append(String.join(", ", options.emptyAgentWorkloads))
                    .append(": what the JVM charges any Java agent (no archived module graph)\n");
        }
        out.append("- load average at start: ").append(Machine.read("/proc/loadavg")).append('\n');
        out.append("- child JVMs: `").append(String.join(" ", runner.baseJvmArgs())).append("`; ")
                .append(options.rounds).append(" rounds of ").append(seconds(options.warmupMs)).append(" s warm-up + ")
                .append(seconds(options.measureMs)).append(" s measurement, configurations alternating\n");
        return out.toString();
    }

    /**
     * What writing flamegraph=, pprof= and jfr-file= costs for a snapshot of --views-stacks stacks, measured in a JVM
     * of its own with C1 only (the agent's own code is compiled by C1 alone in the application's JVM), one JVM per
     * format so that each first write pays its own class loading and compilation, as with one option on.
     */
    private void viewsCost() {
        for (String format : List.of("flamegraph", "pprof", "jfr")) {
            String output = Machine.command(options.java.toString(), "-XX:TieredStopAtLevel=1", "-jar",
                    options.agent.toString(), "views-cost", String.valueOf(options.viewsStacks), format);
            for (String line : output.split("\n")) {
                if (!line.isBlank()) {
                    notes.add("views, C1 only: " + line.trim());
                }
            }
        }
        progress("views of " + options.viewsStacks + " stacks measured");
    }

    /** The columns of every table: no tool, memleak4j in both probe modes (or as its options say), the variants. */
    private List<Column> columns() {
        List<Column> columns = new ArrayList<>(List.of(Column.BASELINE));
        if (!options.emptyAgentWorkloads.isEmpty()) {
            columns.add(Column.EMPTY_AGENT);
        }
        columns.addAll(Column.memleak4jColumns(options.agentOptions, "memleak4j " + options.agentOptions));
        for (int i = 0; i < options.variants.size(); i++) {
            String variant = options.variants.get(i);
            columns.add(Column.memleak4j(Column.VARIANT_PREFIX + (i + 1), "memleak4j " + variant, variant));
        }
        if (options.asyncProfiler != null) {
            columns.add(Column.ASYNC_PROFILER);
        }
        return columns;
    }

    /** {@code columns} for one row (a workload's id, "startup", "javac"): the do-nothing agent only where asked for. */
    private List<Column> columnsFor(String row, List<Column> columns) {
        List<Column> forRow = new ArrayList<>(columns);
        if (!options.emptyAgentWorkloads.contains(row)) {
            forRow.remove(Column.EMPTY_AGENT);
        }
        return forRow;
    }

    /**
     * The start-up row: a program that sleeps 1 s in main, --startup-runs times per column, the columns
     * alternating; median wall time (launch to exit), its ratio to no tool, and the time from launch to main.
     */
    private String startup(List<Column> columns) throws IOException, InterruptedException {
        Map<Column, List<TimedRun>> byColumn = alternate("startup", options.startupRuns, columns,
                List.of(SleepMain.class.getName(), "1000"),
                t -> format(t.wallSeconds, 2) + " s, main after " + format(t.mainSeconds, 2) + " s");
        failures("start-up", byColumn);
        judgeWall(Targets.Target.STARTUP, byColumn);
        return "Start-up: `SleepMain` (Thread.sleep(1000) in main, no other JVM options), " + options.startupRuns
                + " runs per tool, alternating; wall time from launch to exit, and from launch to main; medians "
                + "[min–max]:\n\n" + MarkdownTables.timedTable(columns, byColumn, "time to main (s)",
                        t -> t.mainSeconds, "added before main (s)", false);
    }

    /**
     * The javac row: the JDK's compiler (in a JVM of its own, with the column's tool) compiling --javac-sources
     * (the agent's own sources by default) against --javac-classpath, --rounds times per column, alternating;
     * median wall and CPU time and their ratios to no tool.
     */
    private String javac(List<Column> columns) throws IOException, InterruptedException {
        List<String> sources;
        try (Stream<Path> files = Files.walk(options.javacSources)) {
            sources = files.filter(f -> f.toString().endsWith(".java")).map(Path::toString).sorted()
                    .collect(java.util.stream.Collectors.toList());
        } catch (IOException e) {
            notes.add("javac: skipped: cannot read " + options.javacSources + ": " + e.getMessage());
            return null;
        }
        Path out = Files.createDirectories(options.workDir.resolve("javac-out"));
        Path argFile = options.workDir.resolve("javac-args.txt");
        List<String> javacArgs = new ArrayList<>(List.of("-d", out.toString(), "-proc:none", "-nowarn",
                "-Xlint:none", "-implicit:none", "-encoding", "UTF-8"));
        if (!options.javacClasspath.isEmpty()) {
            javacArgs.addAll(List.of("-cp", options.javacClasspath));
        }
        javacArgs.addAll(sources);
        Files.write(argFile, javacArgs);
        Map<Column, List<TimedRun>> byColumn = alternate("javac", options.javacRounds, columns,
                List.of(JavacMain.class.getName(), "@" + argFile),
                t -> format(t.wallSeconds, 2) + " s wall, " + format(t.cpuSeconds, 2) + " s CPU");
        failures("javac", byColumn);
        judgeWall(Targets.Target.JAVAC, byColumn);
        return "javac: " + sources.size() + " sources of " + options.javacSources + " compiled in a JVM of their own "
                + "(no other JVM options), " + options.javacRounds + " rounds, alternating; wall time from launch to "
                + "exit, CPU time of the process; medians [min–max]:\n\n"
                + MarkdownTables.timedTable(columns, byColumn, "CPU (s)", t -> t.cpuSeconds, "× CPU", true);
    }

    /** {@code rounds} rounds of one timed JVM per column ({@code java ... -cp BENCH-JAR MAIN ARGS}), in order. */
    private Map<Column, List<TimedRun>> alternate(String row, int rounds, List<Column> columns,
            List<String> mainAndArgs, java.util.function.Function<TimedRun, String> describe)
            throws IOException, InterruptedException {
        Map<Column, List<TimedRun>> byColumn = new LinkedHashMap<>();
        List<String> args = new ArrayList<>(List.of("-cp", runner.benchJar.toString()));
        args.addAll(mainAndArgs);
        for (int round = 1; round <= rounds; round++) {
            for (Column column : columns) {
                TimedRun timed = runner.timed(column, row + "-" + column.id + "-r" + round, args);
                byColumn.computeIfAbsent(column, c -> new ArrayList<>()).add(timed);
                progress(row + " " + round + "/" + rounds + " " + column.id + ": "
                        + (timed.error == null ? describe.apply(timed) : "FAILED: " + timed.error));
            }
        }
        return byColumn;
    }

    /** The judged column's wall time over no tool's, round by round (the rounds where both ran). */
    private void judgeWall(Targets.Target target, Map<Column, List<TimedRun>> byColumn) {
        List<TimedRun> base = byColumn.get(Column.BASELINE);
        for (Map.Entry<Column, List<TimedRun>> entry : byColumn.entrySet()) {
            if (!entry.getKey().judged() || base == null) {
                continue;
            }
            List<Double> ratios = new ArrayList<>();
            List<TimedRun> runs = entry.getValue();
            for (int i = 0; i < runs.size() && i < base.size(); i++) {
                if (runs.get(i).error == null && base.get(i).error == null) {
                    ratios.add(runs.get(i).wallSeconds / base.get(i).wallSeconds);
                }
            }
            targetSamples.put(target, ratios);
        }
    }

    private void failures(String row, Map<Column, List<TimedRun>> byColumn) {
        for (Map.Entry<Column, List<TimedRun>> entry : byColumn.entrySet()) {
            entry.getValue().stream().filter(t -> t.error != null).findFirst().ifPresent(t -> notes.add(row + " / "
                    + entry.getKey().id + ": a run failed: " + t.error));
        }
    }

    /**
     * The agent's options in the million mode: room for every block, and every allocation tracked exactly when the
     * agent samples by default (it has {@code sample-bytes}): the mode measures the cost of tracked allocations.
     */
    private String millionAgentOptions() {
        if (millionAgentOptions == null) {
            // Room for the blocks and the JVM's own outstanding ones (a few thousand), rounded up to a power of two:
            // the kernel sizes the map's bucket array to the next power of two of max-allocs anyway.
            long maxAllocs = Long.highestOneBit(options.million + options.million / 32 + 16_384 - 1) << 1;
            String help = Machine.command(options.java.toString(), "-javaagent:" + options.agent + "=help", "-version");
            String extra = "max-allocs=" + maxAllocs + (help.contains("sample-bytes") ? ",sample-bytes=0" : "");
            millionAgentOptions = options.agentOptions.isEmpty() ? extra : options.agentOptions + "," + extra;
        }
        return millionAgentOptions;
    }

    private static String describe(Run run) {
        if (!run.ok()) {
            return run.error + ", log: " + run.log;
        }
        return "the counter library was not preloaded";
    }

    private static void progress(String message) {
        System.err.println("[bench] " + message);
    }
}
