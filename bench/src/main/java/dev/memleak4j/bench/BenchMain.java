package dev.memleak4j.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The benchmark's parent: runs every workload in fresh child JVMs ({@link ChildMain}) without a tool, with memleak4j
 * and with async-profiler's {@code nativemem}, the configurations alternating round after round, then prints the
 * machine and one Markdown table. See {@link #usage()}.
 */
public final class BenchMain {
    private static final String CHILD_HEAP = "256m";

    /** What a child JVM runs with. */
    enum Config { BASELINE, EMPTY_AGENT, MEMLEAK4J, ASYNC_PROFILER, COUNT }

    /** One configuration as a column of the tables; memleak4j's columns carry the agent options they run with. */
    static final class Column {
        static final Column BASELINE = new Column(Config.BASELINE, "baseline", "no tool", null);
        /** The bench jar as a Java agent that does nothing ({@link EmptyAgent}): what any -javaagent costs. */
        static final Column EMPTY_AGENT = new Column(Config.EMPTY_AGENT, "empty-agent", "a do-nothing -javaagent",
                null);
        static final Column ASYNC_PROFILER = new Column(Config.ASYNC_PROFILER, "async-profiler",
                "async-profiler nativemem", null);
        static final Column COUNT = new Column(Config.COUNT, "count", "allocator-call counter (LD_PRELOAD)", null);
        /** The ids of the --variant columns start so. */
        static final String VARIANT_PREFIX = "memleak4j-v";

        final Config config;
        /** In log file names. */
        final String id;
        final String label;
        /** memleak4j's options, the probe mode included; null for the other configurations. */
        final String agentOptions;

        Column(Config config, String id, String label, String agentOptions) {
            this.config = config;
            this.id = id;
            this.label = label;
            this.agentOptions = agentOptions;
        }

        static Column memleak4j(String id, String label, String agentOptions) {
            return new Column(Config.MEMLEAK4J, id, label, agentOptions);
        }

        /**
         * The column the targets are judged on ({@link Targets}): memleak4j in its default probe mode, hooks, and not
         * a --variant.
         */
        boolean judged() {
            return config == Config.MEMLEAK4J && !id.startsWith(VARIANT_PREFIX)
                    && agentOptions.contains("probe-mode=hooks");
        }

        /** memleak4j with uprobes: every allocator call traps (else, with hooks, only the sampled ones). */
        boolean trapsEveryCall() {
            return agentOptions != null && (agentOptions.contains("probe-mode=uprobes")
                    || agentOptions.contains("probe-mode=classic"));
        }
    }

    /** One child JVM's results. */
    static final class Run {
        String error;
        long ops;
        long nanos;
        long cpuNanos = -1;
        long calls = -1;
        long rssKb = -1;
        long hwmKb = -1;
        long bpfMapBytes = -1;
        int bpfMaps;
        long bpfProgBytes = -1;
        long heldAllocNanos = -1;
        Run before;
        long reportedAllocations = -1;
        /** Classes loaded at the end of the window; full GCs in the window and their total pause. */
        long classes = -1;
        long fullGcs;
        long fullGcMillis;
        /** CPU time of the GC threads in the window, ms; -1: not read. */
        long gcCpuMillis = -1;
        /** Objects live after a full GC once the window closed (jcmd GC.class_histogram); -1: not read. */
        long liveObjects = -1;
        /** memleak4j's traps into the kernel per second during the window (its BPF counters); NaN: not read. */
        double trapsPerSecond = Double.NaN;
        /** CPUs busy with other processes while this child ran (machine busy time minus the child's), average. */
        double otherCpus = Double.NaN;
        /** When memleak4j began tracking, ms after the JVM started (the child's warm-up began then); -1: no agent. */
        long trackingUptimeMs = -1;
        String untrackedLine;
        Path log;

        boolean ok() {
            return error == null;
        }

        double opsPerSecond() {
            return ops * 1e9 / nanos;
        }

        double cpuNanosPerOp() {
            return cpuNanos < 0 ? Double.NaN : (double) cpuNanos / ops;
        }
    }

    private final Options options;
    private final Path benchJar;
    private final Path benchLibrary;
    private final Path countLibrary;
    private final List<String> notes = new ArrayList<>();
    /** Per target, the values of its rows' rounds in the judged column ({@link Column#judged()}). */
    private final Map<Targets.Target, List<Double>> targetSamples = new EnumMap<>(Targets.Target.class);
    private final List<Double> otherCpus = new ArrayList<>();
    private long stealTicks;
    private String millionAgentOptions;
    private long totalTicks;

    private BenchMain(Options options) throws IOException {
        this.options = options;
        this.benchJar = Path.of(BenchMain.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        checkOursAlone(Files.createDirectories(options.workDir));
        Path nativeDir = Files.createDirectories(options.workDir.resolve("native"));
        Files.createDirectories(options.workDir.resolve("logs"));
        this.benchLibrary = extract("libmemleak4jbench.so", nativeDir);
        this.countLibrary = extract("libbenchcount.so", nativeDir);
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("memleak4j-bench: " + e.getMessage());
            System.err.println(usage());
            System.exit(2);
            return;
        }
        if (options.help) {
            System.out.println(usage());
            return;
        }
        new BenchMain(options).run();
    }

    static String usage() {
        return String.join("\n",
                "usage: java -jar memleak4j-bench.jar [options]   (scripts/bench.sh builds, fetches async-profiler, runs)",
                "  --agent PATH              memleak4j agent jar (default agent/target/memleak4j-agent.jar)",
                "  --agent-options OPTS      the agent's options (default interval=5, i.e. its defaults)",
                "  --async-profiler PATH     libasyncProfiler.so, run as -agentpath:PATH=start,nativemem,file=...",
                "  --no-async-profiler WHY   skip the async-profiler column, saying why",
                "  --rounds N                rounds of alternating configurations (default 3)",
                "  --warmup SECONDS          warm-up per child before measuring (default 2)",
                "  --measure SECONDS         measurement window per child (default 5)",
                "  --workloads A,B,...       of jni-malloc-free,direct-buffer,gc-heavy,gzip,mix (default all; none: only",
                "                            the start-up and javac rows)",
                "  --no-count                skip the allocator-call counting runs (no ns-per-call estimates)",
                "  --million N               outstanding allocations in the agent-memory mode (default 1000000; 0 skips)",
                "  --million-hold SECONDS    how long they are held before memory is read (default 8)",
                "  --views-stacks N          time writing the flame graph, pprof and JFR file of N stacks (default 16384;",
                "                            0 skips)",
                "  --variant OPTS            one more memleak4j column with these agent options (repeatable; e.g.",
                "                            probe-mode=hooks,sample-bytes=1g to see what a part costs)",
                "  --startup-runs N          runs per tool of the 1-second program (default 5; 0 skips the start-up row)",
                "  --empty-agent LIST        workloads (and 'startup') that also run with a do-nothing -javaagent: what",
                "                            the JDK charges any Java agent (default direct-buffer,gc-heavy,startup;",
                "                            none skips it)",
                "  --javac-rounds N          rounds of the javac row (default 3; 0 skips it)",
                "  --javac-sources DIR       what the javac row compiles (default agent/src/main/java)",
                "  --javac-classpath CP      its classpath (scripts/bench.sh gives the agent's dependencies)",
                "  --no-javac WHY            skip the javac row, saying why, whatever --javac-rounds says",
                "  --java PATH               java for the child JVMs (default: this JVM's)",
                "  --jvm-arg ARG             an extra argument for every child JVM (repeatable)",
                "  --work-dir DIR            logs, extracted libraries, async-profiler output (default ~/.cache/memleak4j-bench; ours alone)");
    }

    private void run() throws Exception {
        String started = ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm zzz"));
        StringBuilder out = new StringBuilder();
        out.append("# memleak4j benchmark, ").append(started).append("\n\n");
        for (Map.Entry<String, String> entry : machine().entrySet()) {
            out.append("- ").append(entry.getKey()).append(": ").append(entry.getValue()).append('\n');
        }
        out.append("- memleak4j: `-javaagent:").append(options.agent).append(agentSuffix(options.agentOptions))
                .append("`").append(options.agentOptions.contains("probe-mode=") ? ""
                        : ", with probe-mode=uprobes and with probe-mode=hooks added").append("\n");
        out.append("- async-profiler: ").append(options.asyncProfiler != null
                ? "`-agentpath:" + options.asyncProfiler + "=start,nativemem,file=<work-dir>/async-profiler.jfr`"
                : "skipped: " + options.noAsyncProfilerReason).append('\n');
        if (options.javacRounds > 0 && options.noJavacReason != null) {
            out.append("- javac row: skipped: ").append(options.noJavacReason).append('\n');
        }
        if (!options.emptyAgentWorkloads.isEmpty()) {
            out.append("- a do-nothing -javaagent: `-javaagent:").append(benchJar).append("` (an empty premain), in ")
                    .append(String.join(", ", options.emptyAgentWorkloads))
                    .append(": what the JVM charges any Java agent (no archived module graph)\n");
        }
        out.append("- load average at start: ").append(read("/proc/loadavg")).append('\n');
        out.append("- child JVMs: `").append(String.join(" ", baseJvmArgs())).append("`; ")
                .append(options.rounds).append(" rounds of ").append(seconds(options.warmupMs)).append(" s warm-up + ")
                .append(seconds(options.measureMs)).append(" s measurement, configurations alternating\n");
        System.out.print(out);
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
                Run count = runChild(workload, Column.COUNT, 0, 1000, 2000, List.of());
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
                    Run run = runChild(workload, column, round, options.warmupMs, options.measureMs, List.of());
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
            millionBaseline = runChild(Workload.MILLION, Column.BASELINE, 0, 0, options.millionHoldMs, extra);
            progress("million baseline: " + (millionBaseline.ok() ? "RSS " + millionBaseline.rssKb / 1024 + " MiB"
                    : "FAILED: " + millionBaseline.error));
            for (Column column : memleak4jColumns(millionAgentOptions(), "memleak4j")) {
                Run run = runChild(Workload.MILLION, column, 0, 0, options.millionHoldMs, extra);
                millionAgents.put(column, run);
                progress("million " + column.label + ": " + (run.ok() ? "RSS " + run.rssKb / 1024 + " MiB, BPF maps "
                        + mib(run.bpfMapBytes) + " MiB" : "FAILED: " + run.error));
            }
        }

        if (options.viewsStacks > 0) {
            viewsCost();
        }

        out.setLength(0);
        if (!results.isEmpty()) {
            out.append('\n').append(workloadTable(columns, results, callsPerOp));
            out.append(fullGcTable(columns, results));
        }
        if (startup != null) {
            out.append('\n').append(startup);
        }
        if (javac != null) {
            out.append('\n').append(javac);
        }
        if (millionBaseline != null) {
            out.append('\n').append(millionTable(millionBaseline, millionAgents));
        }
        columns.stream().filter(Column::judged).findFirst().filter(judged -> !targetSamples.isEmpty())
                .ifPresent(judged -> out.append('\n').append(Targets.table(targetSamples, judged.agentOptions)));
        if (!results.isEmpty()) {
            out.append('\n').append(legend());
        }
        if (!otherCpus.isEmpty()) {
            double average = otherCpus.stream().mapToDouble(Double::doubleValue).average().orElse(0);
            double max = otherCpus.stream().mapToDouble(Double::doubleValue).max().orElse(0);
            String load = "while the child JVMs ran, other processes kept on average " + format(average, 2)
                    + " of " + Runtime.getRuntime().availableProcessors() + " CPUs busy (at most " + format(max, 2)
                    + " during one child); steal time " + format(100.0 * stealTicks / Math.max(1, totalTicks), 1)
                    + "%; load average at the end: " + read("/proc/loadavg");
            notes.add(0, average > 0.2 || max > 0.5 ? load + ". The machine was not quiet: the ratios are noisy."
                    : load + ".");
        }
        if (!notes.isEmpty()) {
            out.append("\nNotes:\n");
            for (String note : notes) {
                out.append("- ").append(note).append('\n');
            }
        }
        System.out.print(out);
    }

    /**
     * What writing flamegraph=, pprof= and jfr-file= costs for a snapshot of --views-stacks stacks, measured in a JVM
     * of its own with C1 only (the agent's own code is compiled by C1 alone in the application's JVM), one JVM per
     * format so that each first write pays its own class loading and compilation, as with one option on.
     */
    private void viewsCost() {
        for (String format : List.of("flamegraph", "pprof", "jfr")) {
            String output = command(options.java.toString(), "-XX:TieredStopAtLevel=1", "-cp",
                    options.agent.toString(), "dev.memleak4j.agent.views.cost.ViewsCost",
                    String.valueOf(options.viewsStacks), format);
            for (String line : output.split("\n")) {
                if (!line.isBlank()) {
                    notes.add("views, C1 only: " + line.trim());
                }
            }
        }
        progress("views of " + options.viewsStacks + " stacks measured");
    }

    // ---------------------------------------------------------------------------------------------- child JVMs

    private List<String> baseJvmArgs() {
        List<String> args = new ArrayList<>(List.of("-Xms" + CHILD_HEAP, "-Xmx" + CHILD_HEAP, "-XX:+AlwaysPreTouch",
                "-XX:MaxDirectMemorySize=64m"));
        args.addAll(options.jvmArgs);
        return args;
    }

    /** The columns of every table: no tool, memleak4j in both probe modes (or as its options say), the variants. */
    private List<Column> columns() {
        List<Column> columns = new ArrayList<>(List.of(Column.BASELINE));
        if (!options.emptyAgentWorkloads.isEmpty()) {
            columns.add(Column.EMPTY_AGENT);
        }
        columns.addAll(memleak4jColumns(options.agentOptions, "memleak4j " + options.agentOptions));
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

    /** The JVM arguments that put a column's tool into a JVM. */
    private List<String> toolArgs(Column column) {
        switch (column.config) {
            case EMPTY_AGENT:
                return List.of("-javaagent:" + benchJar);
            case MEMLEAK4J:
                return List.of("-javaagent:" + options.agent + agentSuffix(column.agentOptions));
            case ASYNC_PROFILER:
                return List.of("-agentpath:" + options.asyncProfiler + "=start,nativemem,file="
                        + options.workDir.resolve("async-profiler.jfr"));
            default:
                return List.of();
        }
    }

    private Run runChild(Workload workload, Column column, int round, long warmupMs, long measureMs,
            List<String> extra) throws IOException, InterruptedException {
        Run run = new Run();
        String name = workload.id + "-" + column.id + (round > 0 ? "-r" + round : "");
        run.log = options.workDir.resolve("logs").resolve(name + ".log");
        Path jfr = options.workDir.resolve("async-profiler.jfr");
        List<String> command = new ArrayList<>();
        command.add(options.java.toString());
        command.addAll(baseJvmArgs());
        command.addAll(toolArgs(column));
        command.add("-D" + NativeBench.LIBRARY_PROPERTY + "=" + benchLibrary);
        command.addAll(List.of("-cp", benchJar.toString(), ChildMain.class.getName(), workload.id,
                String.valueOf(warmupMs), String.valueOf(measureMs)));
        command.addAll(extra);
        Files.writeString(run.log, "# " + String.join(" ", command) + "\n");
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.appendTo(run.log.toFile()));
        if (column.config == Config.COUNT) {
            builder.environment().put("LD_PRELOAD", countLibrary.toString());
        }
        long[] cpuBefore = machineCpu();
        Process process = builder.start();
        long deadline = warmupMs + measureMs + TimeUnit.SECONDS.toMillis(120);
        Thread watchdog = new Thread(() -> {
            try {
                if (!process.waitFor(deadline, TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        List<String> otherLines = new ArrayList<>();
        boolean sampled = false;
        BpfStats stats = column.config == Config.MEMLEAK4J ? new BpfStats(process.pid()) : null;
        long[] windowStart = null;
        long windowStartNanos = 0;
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                OutputStream stdin = process.getOutputStream()) {
            for (String line; (line = reader.readLine()) != null; ) {
                if (line.startsWith("BENCH result ")) {
                    Map<String, String> values = fields(line.substring("BENCH result ".length()));
                    run.ops = Long.parseLong(values.get("ops"));
                    run.nanos = Long.parseLong(values.get("nanos"));
                    run.cpuNanos = Long.parseLong(values.get("cpu_nanos"));
                    run.calls = Long.parseLong(values.get("calls"));
                    run.classes = Long.parseLong(values.getOrDefault("classes", "-1"));
                    run.fullGcs = Long.parseLong(values.getOrDefault("full_gcs", "0"));
                    run.fullGcMillis = Long.parseLong(values.getOrDefault("full_gc_millis", "0"));
                    run.gcCpuMillis = Long.parseLong(values.getOrDefault("gc_cpu_millis", "-1"));
                } else if (line.equals("BENCH window start") && stats != null) {
                    windowStart = stats.read();
                    windowStartNanos = System.nanoTime();
                } else if (line.equals("BENCH window end") && windowStart != null) {
                    long[] windowEnd = stats.read();
                    if (windowEnd != null) {
                        run.trapsPerSecond = (BpfStats.traps(windowEnd, column.trapsEveryCall())
                                - BpfStats.traps(windowStart, column.trapsEveryCall())) * 1e9
                                / (System.nanoTime() - windowStartNanos);
                    }
                } else if (line.startsWith("BENCH tracking ")) {
                    run.trackingUptimeMs = Long.parseLong(fields(line.substring("BENCH tracking ".length()))
                            .get("uptime_ms"));
                } else if (line.startsWith("BENCH held ")) {
                    run.heldAllocNanos = Long.parseLong(fields(line.substring("BENCH held ".length()))
                            .get("alloc_nanos"));
                } else if (line.startsWith("BENCH before")) {
                    run.before = new Run();
                    sample(process.pid(), run.before);
                    stdin.write('\n');
                    stdin.flush();
                } else if (line.startsWith("BENCH waiting")) {
                    sample(process.pid(), run);
                    if (run.fullGcs > 0) {
                        run.liveObjects = liveObjects(process.pid());
                    }
                    long[] cpuAfter = machineCpu();
                    long childTicks = processTicks(process.pid());
                    if (cpuBefore != null && cpuAfter != null && childTicks >= 0 && cpuAfter[1] > cpuBefore[1]) {
                        double cpus = Runtime.getRuntime().availableProcessors();
                        run.otherCpus = Math.max(0, (cpuAfter[0] - cpuBefore[0] - childTicks) * cpus
                                / (cpuAfter[1] - cpuBefore[1]));
                        otherCpus.add(run.otherCpus);
                        stealTicks += cpuAfter[2] - cpuBefore[2];
                        totalTicks += cpuAfter[1] - cpuBefore[1];
                    }
                    sampled = true;
                    stdin.write('\n');
                    stdin.flush();
                } else if (line.startsWith("BENCH error ")) {
                    run.error = line.substring("BENCH error ".length());
                } else if (!line.startsWith("BENCH ")) {
                    otherLines.add(line);
                }
            }
        }
        int exit = process.waitFor();
        if (run.error == null && (exit != 0 || !sampled)) {
            run.error = "child JVM exited with " + exit + firstLine(run.log, otherLines);
        }
        if (run.error == null && run.ops == 0 && workload != Workload.MILLION) {
            run.error = "no operation done in the window (log: " + run.log + ")";
        }
        String log = Files.readString(run.log, StandardCharsets.UTF_8);
        if (stats != null && stats.problem != null && !notes.contains("traps not counted: " + stats.problem)) {
            notes.add("traps not counted: " + stats.problem); // once: it is the same for every child
        }
        if (column.config == Config.MEMLEAK4J) {
            Matcher notStarted = Pattern.compile("memleak4j: not started[^\n]*").matcher(log);
            if (notStarted.find()) {
                run.error = notStarted.group();
            }
            Matcher report = Pattern.compile("(\\d+) bytes in (\\d+) allocations from stack").matcher(log);
            while (report.find()) {
                run.reportedAllocations = Math.max(run.reportedAllocations, Long.parseLong(report.group(2)));
            }
            Matcher untracked = Pattern.compile("\\[memleak4j\\] [^\n]*not tracked[^\n]*").matcher(log);
            while (untracked.find()) {
                run.untrackedLine = untracked.group();
            }
            if (run.ok() && run.bpfMaps == 0) {
                notes.add(name + ": no BPF map open in the child: memleak4j may not have attached (log: "
                        + run.log + ")");
            }
        }
        Files.deleteIfExists(jfr);
        return run;
    }

    /** The machine's busy, total and steal clock ticks from /proc/stat, or null. */
    private static long[] machineCpu() {
        List<String> stat = lines("/proc/stat");
        if (stat.isEmpty() || !stat.get(0).startsWith("cpu ")) {
            return null;
        }
        String[] f = stat.get(0).trim().split("\\s+");
        long user = Long.parseLong(f[1]);
        long nice = Long.parseLong(f[2]);
        long system = Long.parseLong(f[3]);
        long idle = Long.parseLong(f[4]);
        long iowait = Long.parseLong(f[5]);
        long irq = Long.parseLong(f[6]);
        long softirq = Long.parseLong(f[7]);
        long steal = f.length > 8 ? Long.parseLong(f[8]) : 0;
        long busy = user + nice + system + irq + softirq;
        return new long[] {busy, busy + idle + iowait + steal, steal};
    }

    /** utime + stime of a process, in clock ticks, or -1. */
    private static long processTicks(long pid) {
        String stat = read("/proc/" + pid + "/stat");
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            return -1;
        }
        String[] f = stat.substring(close + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /** Reads the child's RSS and the memory of the BPF maps and programs it holds open. */
    /**
     * The objects live in a child after a full GC, from the JDK's {@code jcmd PID GC.class_histogram} ("Total N
     * BYTES", its last line); -1 when jcmd cannot tell. Every live object is marked, moved and adjusted by each full
     * GC: what a tool keeps alive between its reports is what its weight costs the gc-heavy workload.
     */
    private long liveObjects(long pid) {
        String histogram = command(options.java.resolveSibling("jcmd").toString(), String.valueOf(pid),
                "GC.class_histogram");
        int total = histogram.lastIndexOf("Total ");
        if (total < 0) {
            return -1;
        }
        String[] fields = histogram.substring(total + "Total ".length()).trim().split("\\s+");
        try {
            return Long.parseLong(fields[0]);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static void sample(long pid, Run run) {
        Path proc = Path.of("/proc", String.valueOf(pid));
        try {
            for (String line : Files.readAllLines(proc.resolve("status"))) {
                if (line.startsWith("VmRSS:")) {
                    run.rssKb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                } else if (line.startsWith("VmHWM:")) {
                    run.hwmKb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long maps = 0;
        long progs = 0;
        int mapCount = 0;
        try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                String target;
                try {
                    target = Files.readSymbolicLink(fd).toString();
                } catch (IOException e) {
                    continue;
                }
                boolean map = target.equals("anon_inode:bpf-map");
                if (!map && !target.equals("anon_inode:bpf-prog")) {
                    continue;
                }
                long memlock = 0;
                try {
                    for (String line : Files.readAllLines(proc.resolve("fdinfo").resolve(fd.getFileName()))) {
                        if (line.startsWith("memlock:")) {
                            memlock = Long.parseLong(line.substring("memlock:".length()).trim());
                        }
                    }
                } catch (IOException e) {
                    continue;
                }
                if (map) {
                    maps += memlock;
                    mapCount++;
                } else {
                    progs += memlock;
                }
            }
        } catch (IOException e) {
            run.bpfMapBytes = -1;
            return;
        }
        run.bpfMapBytes = maps;
        run.bpfMaps = mapCount;
        run.bpfProgBytes = progs;
    }

    // ------------------------------------------------------------------------------------------------- tables

    private String workloadTable(List<Column> columns, Map<Workload, Map<Column, List<Run>>> results,
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
    private static String fullGcTable(List<Column> columns, Map<Workload, Map<Column, List<Run>>> results) {
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

    /** One timed JVM of the start-up or javac row: its wall time, and what it printed. */
    private static final class Timed {
        String error;
        double wallSeconds;
        /** When main began, after the launch (start-up row); the child's CPU time (javac row). */
        double mainSeconds = Double.NaN;
        double cpuSeconds = Double.NaN;
    }

    /** Runs one JVM to its end: {@code java [jvm-args] [the column's tool] ARGS}. */
    private Timed timed(Column column, String name, List<String> args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(options.java.toString());
        command.addAll(options.jvmArgs);
        command.addAll(toolArgs(column));
        command.addAll(args);
        Path log = options.workDir.resolve("logs").resolve(name + ".log");
        Files.writeString(log, "# " + String.join(" ", command) + "\n");
        Timed timed = new Timed();
        java.time.Instant launched = java.time.Instant.now();
        long t0 = System.nanoTime();
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        process.getOutputStream().close();
        List<String> lines = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = reader.readLine()) != null; ) {
                lines.add(line);
            }
        }
        if (!process.waitFor(300, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
        timed.wallSeconds = (System.nanoTime() - t0) / 1e9;
        Files.writeString(log, String.join("\n", lines) + "\n", java.nio.file.StandardOpenOption.APPEND);
        long launchedMicros = launched.getEpochSecond() * 1_000_000 + launched.getNano() / 1000;
        for (String line : lines) {
            if (line.startsWith("BENCH main ")) {
                timed.mainSeconds = (Long.parseLong(fields(line.substring(11)).get("at")) - launchedMicros) / 1e6;
            } else if (line.startsWith("BENCH javac ")) {
                timed.cpuSeconds = Long.parseLong(fields(line.substring(12)).get("cpu_nanos")) / 1e9;
            } else if (line.startsWith("BENCH error ")) {
                timed.error = line.substring(12);
            }
        }
        if (timed.error == null && process.exitValue() != 0) {
            timed.error = "exited with " + process.exitValue() + firstLine(log, lines) + " (log: " + log + ")";
        }
        return timed;
    }

    /**
     * The start-up row: a program that sleeps 1 s in main, --startup-runs times per column, the columns
     * alternating; median wall time (launch to exit), its ratio to no tool, and the time from launch to main.
     */
    private String startup(List<Column> columns) throws IOException, InterruptedException {
        Map<Column, List<Timed>> byColumn = alternate("startup", options.startupRuns, columns,
                List.of(SleepMain.class.getName(), "1000"),
                t -> format(t.wallSeconds, 2) + " s, main after " + format(t.mainSeconds, 2) + " s");
        failures("start-up", byColumn);
        judgeWall(Targets.Target.STARTUP, byColumn);
        return "Start-up: `SleepMain` (Thread.sleep(1000) in main, no other JVM options), " + options.startupRuns
                + " runs per tool, alternating; wall time from launch to exit, and from launch to main; medians "
                + "[min–max]:\n\n" + timedTable(columns, byColumn, "time to main (s)", t -> t.mainSeconds,
                        "added before main (s)", false);
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
        Map<Column, List<Timed>> byColumn = alternate("javac", options.javacRounds, columns,
                List.of(JavacMain.class.getName(), "@" + argFile),
                t -> format(t.wallSeconds, 2) + " s wall, " + format(t.cpuSeconds, 2) + " s CPU");
        failures("javac", byColumn);
        judgeWall(Targets.Target.JAVAC, byColumn);
        return "javac: " + sources.size() + " sources of " + options.javacSources + " compiled in a JVM of their own "
                + "(no other JVM options), " + options.javacRounds + " rounds, alternating; wall time from launch to "
                + "exit, CPU time of the process; medians [min–max]:\n\n"
                + timedTable(columns, byColumn, "CPU (s)", t -> t.cpuSeconds, "× CPU", true);
    }

    /**
     * A table of timed runs per column: the median wall time [min–max] and its ratio to no tool, then a second
     * value likewise, with its ratio to no tool ({@code ratio}) or what the column adds to it.
     */
    private static String timedTable(List<Column> columns, Map<Column, List<Timed>> byColumn, String name,
            java.util.function.ToDoubleFunction<Timed> value, String versus, boolean ratio) {
        StringBuilder table = new StringBuilder();
        table.append("| tool | wall (s) | × wall | ").append(name).append(" | ").append(versus).append(" |\n");
        table.append("|---|---:|---:|---:|---:|\n");
        double baseWall = medianOf(byColumn.get(Column.BASELINE), t -> t.wallSeconds);
        double baseValue = medianOf(byColumn.get(Column.BASELINE), value);
        for (Column column : columns) {
            List<Timed> runs = byColumn.get(column);
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

    /** {@code rounds} rounds of one timed JVM per column ({@code java ... -cp BENCH-JAR MAIN ARGS}), in order. */
    private Map<Column, List<Timed>> alternate(String row, int rounds, List<Column> columns, List<String> mainAndArgs,
            java.util.function.Function<Timed, String> describe) throws IOException, InterruptedException {
        Map<Column, List<Timed>> byColumn = new LinkedHashMap<>();
        List<String> args = new ArrayList<>(List.of("-cp", benchJar.toString()));
        args.addAll(mainAndArgs);
        for (int round = 1; round <= rounds; round++) {
            for (Column column : columns) {
                Timed timed = timed(column, row + "-" + column.id + "-r" + round, args);
                byColumn.computeIfAbsent(column, c -> new ArrayList<>()).add(timed);
                progress(row + " " + round + "/" + rounds + " " + column.id + ": "
                        + (timed.error == null ? describe.apply(timed) : "FAILED: " + timed.error));
            }
        }
        return byColumn;
    }

    /** The judged column's wall time over no tool's, round by round (the rounds where both ran). */
    private void judgeWall(Targets.Target target, Map<Column, List<Timed>> byColumn) {
        List<Timed> base = byColumn.get(Column.BASELINE);
        for (Map.Entry<Column, List<Timed>> entry : byColumn.entrySet()) {
            if (!entry.getKey().judged() || base == null) {
                continue;
            }
            List<Double> ratios = new ArrayList<>();
            List<Timed> runs = entry.getValue();
            for (int i = 0; i < runs.size() && i < base.size(); i++) {
                if (runs.get(i).error == null && base.get(i).error == null) {
                    ratios.add(runs.get(i).wallSeconds / base.get(i).wallSeconds);
                }
            }
            targetSamples.put(target, ratios);
        }
    }

    private void failures(String row, Map<Column, List<Timed>> byColumn) {
        for (Map.Entry<Column, List<Timed>> entry : byColumn.entrySet()) {
            entry.getValue().stream().filter(t -> t.error != null).findFirst().ifPresent(t -> notes.add(row + " / "
                    + entry.getKey().id + ": a run failed: " + t.error));
        }
    }

    private static List<Double> valuesOf(List<Timed> runs, java.util.function.ToDoubleFunction<Timed> value) {
        List<Double> values = new ArrayList<>();
        for (Timed timed : runs) {
            if (timed.error == null && !Double.isNaN(value.applyAsDouble(timed))) {
                values.add(value.applyAsDouble(timed));
            }
        }
        return values;
    }

    private static double medianOf(List<Timed> runs, java.util.function.ToDoubleFunction<Timed> value) {
        List<Double> values = valuesOf(runs, value);
        return values.isEmpty() ? Double.NaN : median(values);
    }

    private static String spreadOf(List<Timed> runs, java.util.function.ToDoubleFunction<Timed> value,
            int decimals) {
        return spread(valuesOf(runs, value), decimals);
    }

    /**
     * memleak4j's columns for {@code agentOptions}: one per probe mode, or the one mode the options name (labelled
     * {@code singleLabel}). The workloads' tables and the agent-memory row (the hooks' set of sampled addresses is
     * memory the uprobes do not need) both run them.
     */
    private static List<Column> memleak4jColumns(String agentOptions, String singleLabel) {
        if (agentOptions.contains("probe-mode=")) {
            return List.of(Column.memleak4j("memleak4j", singleLabel, agentOptions));
        }
        String uprobes = withProbeMode(agentOptions, "uprobes");
        String hooks = withProbeMode(agentOptions, "hooks");
        return List.of(Column.memleak4j("memleak4j", "memleak4j probe-mode=uprobes", uprobes),
                Column.memleak4j("memleak4j-hooks", "memleak4j probe-mode=hooks", hooks));
    }

    private String millionTable(Run baseline, Map<Column, Run> agents) {
        StringBuilder table = new StringBuilder();
        table.append("Agent memory with ").append(String.format(Locale.ROOT, "%,d", options.million))
                .append(" outstanding 32-byte allocations (JNI malloc, kept; agent options `")
                .append(millionAgentOptions()).append("`; read after ").append(seconds(options.millionHoldMs))
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
            double perAllocation = ((agent.rssKb - baseline.rssKb) * 1024.0 + agent.bpfMapBytes) / options.million;
            if (options.million == 1_000_000 && column.judged()) { // the target's count, in the default mode
                targetSamples.put(Targets.Target.MILLION, List.of(rssAdded + maps));
            }
            table.append("| ").append(column.label).append(" | ").append(format(agent.rssKb / 1024.0, 1))
                    .append(" | ").append(format(rssAdded, 1)).append(" | ").append(format(peakAdded, 1))
                    .append(" | ").append(mapsBefore < 0 ? "?" : mib(mapsBefore)).append(" → ")
                    .append(format(maps, 1)).append(" | ")
                    .append(mapsBefore < 0 ? "" : format((agent.bpfMapBytes - mapsBefore) / (double) options.million,
                            0))
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


    /**
     * The agent's options in the million mode: room for every block, and every allocation tracked exactly when the
     * agent samples by default (it has {@code sample-bytes}): the mode measures the cost of tracked allocations.
     */
    private String millionAgentOptions() {
        if (millionAgentOptions == null) {
            // Room for the blocks and the JVM's own outstanding ones (a few thousand), rounded up to a power of two:
            // the kernel sizes the map's bucket array to the next power of two of max-allocs anyway.
            long maxAllocs = Long.highestOneBit(options.million + options.million / 32 + 16_384 - 1) << 1;
            String help = command(options.java.toString(), "-javaagent:" + options.agent + "=help", "-version");
            String extra = "max-allocs=" + maxAllocs + (help.contains("sample-bytes") ? ",sample-bytes=0" : "");
            millionAgentOptions = options.agentOptions.isEmpty() ? extra : options.agentOptions + "," + extra;
        }
        return millionAgentOptions;
    }

    private static String legend() {
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

    // ------------------------------------------------------------------------------------------------ machine

    private Map<String, String> machine() {
        Map<String, String> machine = new LinkedHashMap<>();
        machine.put("CPU", cpuinfo("model name") + ", " + Runtime.getRuntime().availableProcessors() + " CPUs (nproc)");
        machine.put("memory", meminfo());
        machine.put("OS", osRelease() + ", kernel " + read("/proc/sys/kernel/osrelease") + ", "
                + command("getconf", "GNU_LIBC_VERSION"));
        machine.put("JDK", javaVersion());
        machine.put("bare uprobe hit", BareUprobe.measure(benchLibrary));
        return machine;
    }

    private static String cpuinfo(String key) {
        for (String line : lines("/proc/cpuinfo")) {
            if (line.startsWith(key)) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return "unknown";
    }

    private static String meminfo() {
        for (String line : lines("/proc/meminfo")) {
            if (line.startsWith("MemTotal:")) {
                return format(Long.parseLong(line.replaceAll("[^0-9]", "")) / 1048576.0, 1) + " GiB";
            }
        }
        return "unknown";
    }

    private static String osRelease() {
        for (String line : lines("/etc/os-release")) {
            if (line.startsWith("PRETTY_NAME=")) {
                return line.substring("PRETTY_NAME=".length()).replace("\"", "");
            }
        }
        return "Linux";
    }

    private String javaVersion() {
        String version = command(options.java.toString(), "-XshowSettings:properties", "-version");
        String vendor = "";
        String runtime = "";
        for (String line : version.split("\n")) {
            line = line.trim();
            if (line.startsWith("java.vm.vendor = ")) {
                vendor = line.substring("java.vm.vendor = ".length());
            } else if (line.startsWith("java.runtime.version = ")) {
                runtime = line.substring("java.runtime.version = ".length());
            }
        }
        return (vendor + " " + runtime).trim() + " (" + options.java + ")";
    }

    private static String command(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            process.waitFor();
            return output;
        } catch (IOException | InterruptedException e) {
            return "unknown";
        }
    }

    private static List<String> lines(String path) {
        try {
            return Files.readAllLines(Path.of(path));
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String read(String path) {
        return String.join(" ", lines(path)).trim();
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /**
     * The bench runs as root and loads the libraries it extracts into the work directory: a directory another user
     * made or can write (a predictable /tmp path) would let them swap those libraries.
     */
    private static void checkOursAlone(Path dir) throws IOException {
        Map<String, Object> attributes = Files.readAttributes(dir, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (Files.isSymbolicLink(dir) || (Integer) attributes.get("uid") != uid
                || ((Integer) attributes.get("mode") & 022) != 0) {
            throw new IllegalStateException("the work directory " + dir + " must belong to uid " + uid
                    + " and be writable by it alone: give another with --work-dir");
        }
    }

    private static Path extract(String name, Path dir) throws IOException {
        Path target = dir.resolve(name);
        try (InputStream in = BenchMain.class.getResourceAsStream("/native/" + name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is not in the bench jar: build it with mvn package");
            }
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
        return target;
    }

    private static Map<String, String> fields(String text) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String field : text.trim().split("\\s+")) {
            int eq = field.indexOf('=');
            if (eq > 0) {
                values.put(field.substring(0, eq), field.substring(eq + 1));
            }
        }
        return values;
    }

    private static String firstLine(Path log, List<String> stdout) {
        try {
            for (String line : Files.readAllLines(log)) {
                if (!line.startsWith("#") && !line.isBlank()) {
                    return ": " + line.trim();
                }
            }
        } catch (IOException e) {
            // fall through
        }
        return stdout.isEmpty() ? "" : ": " + stdout.get(0);
    }

    private static String describe(Run run) {
        if (!run.ok()) {
            return run.error + ", log: " + run.log;
        }
        return "the counter library was not preloaded";
    }

    /** The agent's options with this probe mode, unless they name one themselves. */
    private static String withProbeMode(String agentOptions, String mode) {
        if (agentOptions.contains("probe-mode=")) {
            return agentOptions;
        }
        return agentOptions.isEmpty() ? "probe-mode=" + mode : agentOptions + ",probe-mode=" + mode;
    }

    private static String agentSuffix(String agentOptions) {
        return agentOptions.isEmpty() ? "" : "=" + agentOptions;
    }

    private static void progress(String message) {
        System.err.println("[bench] " + message);
    }

    static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static String spread(List<Double> values, int decimals) {
        if (values.isEmpty()) {
            return "failed";
        }
        double min = values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
        double max = values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        return format(median(values), decimals) + " [" + format(min, decimals) + "–" + format(max, decimals) + "]";
    }

    private static String format(double value, int decimals) {
        return String.format(Locale.ROOT, "%,." + decimals + "f", value);
    }

    private static String formatRate(double perSecond) {
        if (perSecond >= 1e6) {
            return format(perSecond / 1e6, 2) + " M";
        }
        if (perSecond >= 1e3) {
            return format(perSecond / 1e3, 1) + " k";
        }
        return format(perSecond, 1);
    }

    private static String mib(long bytes) {
        return format(bytes / 1048576.0, 1);
    }

    private static String seconds(long millis) {
        return millis % 1000 == 0 ? String.valueOf(millis / 1000) : format(millis / 1000.0, 1);
    }

    /** Command-line options. */
    static final class Options {
        boolean help;
        Path agent = Path.of("agent/target/memleak4j-agent.jar").toAbsolutePath();
        String agentOptions = "interval=5";
        Path asyncProfiler;
        String noAsyncProfilerReason = "not given (--async-profiler PATH)";
        int rounds = 3;
        long warmupMs = 2000;
        long measureMs = 5000;
        List<Workload> workloads = new ArrayList<>(List.of(Workload.JNI_MALLOC_FREE, Workload.DIRECT_BUFFER,
                Workload.GC_HEAVY, Workload.GZIP, Workload.MIX));
        boolean count = true;
        long million = 1_000_000;
        long millionHoldMs = 8000;
        int viewsStacks = 16_384;
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> jvmArgs = new ArrayList<>();
        Path workDir = Path.of(System.getProperty("user.home"), ".cache", "memleak4j-bench");
        List<String> variants = new ArrayList<>();
        int startupRuns = 5;
        int javacRounds = 3;
        Path javacSources = Path.of("agent/src/main/java").toAbsolutePath();
        String javacClasspath = "";
        /** Why the javac row cannot run (no classpath), or null. */
        String noJavacReason;

        /** Whether the javac row runs: rounds asked for, and nothing that rules it out, in whatever order given. */
        boolean runsJavac() {
            return javacRounds > 0 && noJavacReason == null;
        }
        /** Workload ids (and "startup") that get the do-nothing -javaagent column. */
        List<String> emptyAgentWorkloads = new ArrayList<>(List.of("direct-buffer", "gc-heavy", "startup"));

        static Options parse(String[] args) {
            Options options = new Options();
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                switch (arg) {
                    case "-h":
                    case "--help":
                        options.help = true;
                        break;
                    case "--no-count":
                        options.count = false;
                        break;
                    default:
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException("unknown option or missing value: " + arg);
                        }
                        String value = args[++i];
                        options.set(arg, value);
                }
            }
            return options;
        }

        private void set(String name, String value) {
            switch (name) {
                case "--agent":
                    agent = Path.of(value).toAbsolutePath();
                    break;
                case "--empty-agent":
                    emptyAgentWorkloads = new ArrayList<>();
                    if (!value.equals("none")) {
                        for (String id : value.split(",")) {
                            if (!id.equals("startup")) {
                                Workload.byId(id);
                            }
                            emptyAgentWorkloads.add(id);
                        }
                    }
                    break;
                case "--agent-options":
                    agentOptions = value;
                    break;
                case "--async-profiler":
                    asyncProfiler = Path.of(value).toAbsolutePath();
                    if (!Files.isRegularFile(asyncProfiler)) {
                        throw new IllegalArgumentException("no async-profiler library at " + value);
                    }
                    break;
                case "--no-async-profiler":
                    asyncProfiler = null;
                    noAsyncProfilerReason = value;
                    break;
                case "--rounds":
                    rounds = positive(name, value);
                    break;
                case "--warmup":
                    warmupMs = millis(name, value, true);
                    break;
                case "--measure":
                    measureMs = millis(name, value, false);
                    break;
                case "--workloads":
                    workloads = new ArrayList<>();
                    for (String id : value.equals("none") ? new String[0] : value.split(",")) {
                        Workload workload = Workload.byId(id.trim());
                        if (workload == Workload.MILLION) {
                            throw new IllegalArgumentException("million is a mode: use --million N");
                        }
                        workloads.add(workload);
                    }
                    break;
                case "--million":
                    million = inRange(name, value, 100_000_000);
                    break;
                case "--million-hold":
                    millionHoldMs = millis(name, value, false);
                    break;
                case "--views-stacks":
                    viewsStacks = (int) inRange(name, value, 1_000_000);
                    break;
                case "--java":
                    java = Path.of(value);
                    break;
                case "--variant":
                    variants.add(value);
                    break;
                case "--startup-runs":
                    startupRuns = (int) inRange(name, value, 100);
                    break;
                case "--javac-rounds":
                    javacRounds = (int) inRange(name, value, 100);
                    break;
                case "--javac-sources":
                    javacSources = Path.of(value).toAbsolutePath();
                    break;
                case "--javac-classpath":
                    javacClasspath = value;
                    break;
                case "--no-javac":
                    noJavacReason = value;
                    break;
                case "--jvm-arg":
                    jvmArgs.add(value);
                    break;
                case "--work-dir":
                    workDir = Path.of(value).toAbsolutePath();
                    break;
                default:
                    throw new IllegalArgumentException("unknown option: " + name);
            }
        }

        private static long inRange(String name, String value, long max) {
            long n = Long.parseLong(value);
            if (n < 0 || n > max) {
                throw new IllegalArgumentException(name + " must be 0.." + max);
            }
            return n;
        }

        private static int positive(String name, String value) {
            int n = Integer.parseInt(value);
            if (n < 1) {
                throw new IllegalArgumentException(name + " must be at least 1");
            }
            return n;
        }

        private static long millis(String name, String value, boolean zeroAllowed) {
            double seconds = Double.parseDouble(value);
            if (seconds < 0 || (!zeroAllowed && seconds == 0) || seconds > 3600) {
                throw new IllegalArgumentException(name + " out of range: " + value);
            }
            return Math.round(seconds * 1000);
        }

        @Override
        public String toString() {
            return Arrays.asList(agent, agentOptions, asyncProfiler, rounds, warmupMs, measureMs, workloads).toString();
        }
    }
}
