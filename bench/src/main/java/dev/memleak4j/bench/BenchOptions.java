package dev.memleak4j.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The bench's command-line options, and its usage text. */
final class BenchOptions {
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

    /** Workload ids (and "startup") that get the do-nothing -javaagent column. */
    List<String> emptyAgentWorkloads = new ArrayList<>(List.of("direct-buffer", "gc-heavy", "startup"));

    /** Whether the javac row runs: rounds asked for, and nothing that rules it out, in whatever order given. */
    boolean runsJavac() {
        return javacRounds > 0 && noJavacReason == null;
    }

    /** What --help prints, and what follows the message when the options are wrong. */
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

    static BenchOptions parse(String[] args) {
        BenchOptions options = new BenchOptions();
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
