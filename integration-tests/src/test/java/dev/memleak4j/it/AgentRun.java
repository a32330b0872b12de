package dev.memleak4j.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.fail;

/** Runs a real JVM with the real agent jar and collects what it printed. */
final class AgentRun {
    static final Path AGENT_JAR = Paths.get(System.getProperty("memleak4j.agent.jar"));
    static final Path TEST_LIBRARY = Paths.get(System.getProperty("leaktest.library"));
    static final Path TEST_CLASSES = Paths.get(System.getProperty("test.classes"));
    /** The second JDK the agent is tested on (the first is the one running the tests, 17). */
    static final Path JDK25 = Paths.get("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");

    final int exitCode;
    final String stdout;
    final String stderr;
    /** The text of {@code output=FILE}, when the run had one. */
    final String reports;

    private AgentRun(int exitCode, String stdout, String stderr, String reports) {
        this.exitCode = exitCode;
        this.stdout = stdout;
        this.stderr = stderr;
        this.reports = reports;
    }

    /** Runs {@code LeakProgram} under the agent; {@code options} without {@code output=}, which is added. */
    static AgentRun leakProgram(Path workDir, String options, String... programArgs) throws Exception {
        return withAgent(workDir, options,
                programCommand(javaBinary(), List.of(), "dev.memleak4j.it.programs.LeakProgram", programArgs), List.of());
    }

    /**
     * The command line of one of the test programs: {@code java}, the JVM flags, the test JNI library and the test
     * classes, the main class and its arguments (the agent is inserted by {@link #withAgent}).
     */
    static List<String> programCommand(String java, List<String> jvmFlags, String mainClass, String... args) {
        List<String> command = new ArrayList<>();
        command.add(java);
        command.addAll(jvmFlags);
        command.add("-Dleaktest.library=" + TEST_LIBRARY);
        command.add("-cp");
        command.add(TEST_CLASSES.toString());
        command.add(mainClass);
        command.addAll(List.of(args));
        return command;
    }

    /** A test program that allocates nothing of its own and exits with {@code exitCode}: for start-up failures. */
    static List<String> idleProgram(String exitCode) {
        return programCommand(javaBinary(), List.of(), "dev.memleak4j.it.programs.LeakProgram", "nothing", "0",
                exitCode);
    }

    /**
     * Runs {@code javaCommand} (java binary first) with {@code -javaagent} inserted after it, optionally inside
     * {@code wrapper} (e.g. capsh). The report goes to a file in {@code workDir}.
     */
    static AgentRun withAgent(Path workDir, String options, List<String> javaCommand, List<String> wrapper)
            throws Exception {
        return withAgent(workDir, options, javaCommand, wrapper, 1);
    }

    /**
     * As {@link #withAgent(Path, String, List, List)}, with {@code -javaagent} inserted at {@code agentIndex} of
     * {@code javaCommand}: JVMTI agents start in command-line order, so one given before it starts first.
     */
    static AgentRun withAgent(Path workDir, String options, List<String> javaCommand, List<String> wrapper,
                              int agentIndex) throws Exception {
        Path reportFile = workDir.resolve("report.txt");
        String agentOptions = options == null ? null
                : (options.isEmpty() ? "" : options + ",") + "output=" + reportFile;
        List<String> command = new ArrayList<>(javaCommand);
        command.add(agentIndex, "-javaagent:" + AGENT_JAR + (agentOptions == null ? "" : "=" + agentOptions));
        if (!wrapper.isEmpty()) {
            String joined = command.stream().map(AgentRun::shellQuote).collect(Collectors.joining(" "));
            command = new ArrayList<>(wrapper);
            command.add(joined);
        }
        return run(workDir, command, reportFile);
    }

    /** Runs the command to its end (at most 120 s) and collects stdout, stderr and the report file, if any. */
    private static AgentRun run(Path workDir, List<String> command, Path reportFile) throws Exception {
        Path out = workDir.resolve("stdout.txt");
        Path err = workDir.resolve("stderr.txt");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            // What a hang needs to be understood, taken before the JVM is killed: its threads, and the end of the
            // report file, where the agent's own lines go when output= is given.
            String threads = threadDump(process.pid(), workDir);
            String report = reportFile != null && Files.exists(reportFile)
                    ? tail(Files.readString(reportFile, StandardCharsets.UTF_8), 6000) : "(none)";
            process.destroyForcibly();
            fail("the JVM did not finish in 120 s: " + command + "\nstderr:\n" + Files.readString(err)
                    + "\nreport file, last lines:\n" + report + "\nthreads (jstack -l):\n" + threads);
        }
        String reports = reportFile != null && Files.exists(reportFile)
                ? Files.readString(reportFile, StandardCharsets.UTF_8) : "";
        return new AgentRun(process.exitValue(), Files.readString(out), Files.readString(err), reports);
    }

    /** jstack's view of a JVM that hangs (at most 30 s), or why there is none. */
    private static String threadDump(long pid, Path workDir) {
        Path dump = workDir.resolve("jstack.txt");
        try {
            Process jstack = new ProcessBuilder(Paths.get(System.getProperty("java.home"), "bin", "jstack").toString(),
                    "-l", Long.toString(pid)).redirectErrorStream(true).redirectOutput(dump.toFile()).start();
            if (!jstack.waitFor(30, TimeUnit.SECONDS)) {
                jstack.destroyForcibly();
                return "(jstack did not answer in 30 s)";
            }
            return Files.readString(dump);
        } catch (IOException e) {
            return "(jstack failed: " + e + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(interrupted)";
        }
    }

    private static String tail(String text, int chars) {
        return text.length() <= chars ? text : "..." + text.substring(text.length() - chars);
    }

    /**
     * Runs each of {@code runs} on its own thread, all at once, and returns their results by key: for JVMs that sleep
     * or wait most of their run, so that they do not take CPU from each other.
     */
    static <K extends Comparable<K>> Map<K, AgentRun> sideBySide(Map<K, Callable<AgentRun>> runs) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(runs.size());
        try {
            Map<K, Future<AgentRun>> started = new TreeMap<>();
            for (Map.Entry<K, Callable<AgentRun>> run : runs.entrySet()) {
                started.put(run.getKey(), pool.submit(run.getValue()));
            }
            Map<K, AgentRun> done = new TreeMap<>();
            for (Map.Entry<K, Future<AgentRun>> entry : started.entrySet()) {
                done.put(entry.getKey(), entry.getValue().get());
            }
            return done;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Runs {@code javaCommand} with {@code -javaagent:JAR=options} exactly as given (no output= added). */
    static AgentRun rawAgent(Path workDir, String options, List<String> javaCommand) throws Exception {
        return rawAgent(workDir, AGENT_JAR, options, javaCommand);
    }

    /** As {@link #rawAgent(Path, String, List)} with another agent jar than the build's. */
    static AgentRun rawAgent(Path workDir, Path agentJar, String options, List<String> javaCommand)
            throws Exception {
        List<String> command = new ArrayList<>(javaCommand);
        command.add(1, "-javaagent:" + agentJar + "=" + options);
        return run(workDir, command, null);
    }

    static String javaBinary() {
        return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The lines the agent printed about itself on stderr. */
    List<String> agentLines() {
        return stderr.lines().filter(line -> line.startsWith("memleak4j:")).collect(Collectors.toList());
    }

    List<Report> parsedReports() {
        return Report.parseAll(reports);
    }

    Report lastReport() {
        List<Report> all = parsedReports();
        if (all.isEmpty()) {
            fail("no report was written; stderr:\n" + stderr);
        }
        return all.get(all.size() - 1);
    }

    String describe() {
        return "exit " + exitCode + "\n--- stderr:\n" + stderr + "\n--- stdout:\n" + stdout + "\n--- reports:\n"
                + reports;
    }

    static String shellQuote(String word) {
        return "'" + word.replace("'", "'\\''") + "'";
    }

    /**
     * A new directory for one run's files, deleted when the test JVM exits: a full run makes hundreds, and an agent's
     * start lists the temporary directory (NativeLibraryLoader). {@code -Dmemleak4j.it.keep=true} keeps them;
     * a failing test's message already holds the run's output.
     */
    static Path tempDir(String name) throws IOException {
        Path dir = Files.createTempDirectory("memleak4j-it-" + name);
        TempDirs.deleteAtExit(dir);
        return dir;
    }

    /** The test JVM's run directories, deleted by one shutdown hook. */
    private static final class TempDirs {
        private static final List<Path> MADE = new ArrayList<>();

        static {
            if (!Boolean.getBoolean("memleak4j.it.keep")) {
                Runtime.getRuntime().addShutdownHook(new Thread(TempDirs::deleteAll, "memleak4j-it-temp-cleanup"));
            }
        }

        static synchronized void deleteAtExit(Path dir) {
            MADE.add(dir);
        }

        private static synchronized void deleteAll() {
            for (Path dir : MADE) {
                try (var files = Files.walk(dir)) {
                    files.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
                } catch (IOException | RuntimeException e) {
                    // best effort: a directory left behind costs only disk space
                }
            }
        }
    }
}
