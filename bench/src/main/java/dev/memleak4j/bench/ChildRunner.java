package dev.memleak4j.bench;

import static dev.memleak4j.bench.Numbers.format;

import dev.memleak4j.bench.Column.Config;

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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Launches the child JVMs, each with one column's tool, and reads what they cost: a measured child ({@link ChildMain},
 * {@link #runChild}) gives its figures on stdout and the runner reads its /proc files, the BPF maps and programs it
 * holds, memleak4j's BPF counters and jcmd's histogram; a timed JVM of the start-up or javac row ({@link #timed}) is
 * run to its end. Every child writes a log of its own under the work directory, which the runner makes ready (ours
 * alone, the bench's native libraries extracted into it).
 */
final class ChildRunner {
    private static final String CHILD_HEAP = "256m";

    private final BenchOptions options;
    /** The bench jar: the children's classpath, and the do-nothing -javaagent. */
    final Path benchJar;
    /** The children's JNI library, extracted into the work directory. */
    final Path benchLibrary;
    private final Path countLibrary;
    /** The notes under the tables, shared with the rest of the bench: the runner adds what it sees go wrong. */
    private final List<String> notes;
    private final List<Double> otherCpus = new ArrayList<>();
    private long stealTicks;
    private long totalTicks;

    ChildRunner(BenchOptions options, List<String> notes) throws IOException {
        this.options = options;
        this.notes = notes;
        this.benchJar = Path.of(ChildRunner.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        checkOursAlone(Files.createDirectories(options.workDir));
        Path nativeDir = Files.createDirectories(options.workDir.resolve("native"));
        Files.createDirectories(options.workDir.resolve("logs"));
        this.benchLibrary = extract("libmemleak4jbench.so", nativeDir);
        this.countLibrary = extract("libbenchcount.so", nativeDir);
    }

    /**
     * The measured children's arguments before their tool's: a fixed heap, pre-touched, and direct memory capped, then
     * the --jvm-arg ones (scripts/bench-pair.sh starts its children alike).
     */
    List<String> baseJvmArgs() {
        List<String> args = new ArrayList<>(List.of("-Xms" + CHILD_HEAP, "-Xmx" + CHILD_HEAP, "-XX:+AlwaysPreTouch",
                "-XX:MaxDirectMemorySize=64m"));
        args.addAll(options.jvmArgs);
        return args;
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

    static String agentSuffix(String agentOptions) {
        return agentOptions.isEmpty() ? "" : "=" + agentOptions;
    }

    /**
     * One measured child: {@code workload} with the column's tool, warmed up then measured for a window, its log
     * {@code logs/WORKLOAD-COLUMN[-rROUND].log} in the work directory ({@code round} 0: no round in the name).
     */
    Run runChild(Workload workload, Column column, int round, long warmupMs, long measureMs,
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

    /** Runs one JVM to its end: {@code java [jvm-args] [the column's tool] ARGS}. */
    TimedRun timed(Column column, String name, List<String> args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(options.java.toString());
        command.addAll(options.jvmArgs);
        command.addAll(toolArgs(column));
        command.addAll(args);
        Path log = options.workDir.resolve("logs").resolve(name + ".log");
        Files.writeString(log, "# " + String.join(" ", command) + "\n");
        TimedRun timed = new TimedRun();
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
     * What other processes kept busy while the measured children ran, and the steal time: the first of the notes;
     * null when no child was measured.
     */
    String loadNote() {
        if (otherCpus.isEmpty()) {
            return null;
        }
        double average = otherCpus.stream().mapToDouble(Double::doubleValue).average().orElse(0);
        double max = otherCpus.stream().mapToDouble(Double::doubleValue).max().orElse(0);
        String load = "while the child JVMs ran, other processes kept on average " + format(average, 2)
                + " of " + Runtime.getRuntime().availableProcessors() + " CPUs busy (at most " + format(max, 2)
                + " during one child); steal time " + format(100.0 * stealTicks / Math.max(1, totalTicks), 1)
                + "%; load average at the end: " + Machine.read("/proc/loadavg");
        return average > 0.2 || max > 0.5 ? load + ". The machine was not quiet: the ratios are noisy." : load + ".";
    }

    /** The machine's busy, total and steal clock ticks from /proc/stat, or null. */
    private static long[] machineCpu() {
        List<String> stat = Machine.lines("/proc/stat");
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
        String stat = Machine.read("/proc/" + pid + "/stat");
        int close = stat.lastIndexOf(')');
        if (close < 0) {
            return -1;
        }
        String[] f = stat.substring(close + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /**
     * The objects live in a child after a full GC, from the JDK's {@code jcmd PID GC.class_histogram} ("Total N
     * BYTES", its last line); -1 when jcmd cannot tell. Every live object is marked, moved and adjusted by each full
     * GC: what a tool keeps alive between its reports is what its weight costs the gc-heavy workload.
     */
    private long liveObjects(long pid) {
        String histogram = Machine.command(options.java.resolveSibling("jcmd").toString(), String.valueOf(pid),
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

    /** Reads the child's RSS and the memory of the BPF maps and programs it holds open. */
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
        try (InputStream in = ChildRunner.class.getResourceAsStream("/native/" + name)) {
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
}
