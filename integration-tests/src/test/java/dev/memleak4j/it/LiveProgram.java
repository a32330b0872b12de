package dev.memleak4j.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A JVM that runs while the test acts on it from outside (jcmd, JMX): started with the agent, read line by line from
 * its stdout, told what to do on its stdin.
 */
final class LiveProgram implements AutoCloseable {
    final Process process;
    final Path stderr;
    private final Writer stdin;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> seen = new ArrayList<>();

    private LiveProgram(Process process, Path stderr) {
        this.process = process;
        this.stderr = stderr;
        this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "stdout of " + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code command} (java binary first) with {@code -javaagent:...=options} inserted after the binary. */
    static LiveProgram start(Path workDir, String agentOptions, List<String> command) throws IOException {
        List<String> full = new ArrayList<>(command);
        full.add(1, "-javaagent:" + AgentRun.AGENT_JAR + "=" + agentOptions);
        Path err = workDir.resolve("stderr-" + System.nanoTime() + ".txt");
        return new LiveProgram(new ProcessBuilder(full).redirectError(err.toFile()).start(), err);
    }

    /** LeakProgram SCENARIO -1 under the agent, with extra JVM options before the class path. */
    static LiveProgram leakProgram(Path workDir, String agentOptions, List<String> jvmOptions, String scenario)
            throws IOException {
        return leakProgram(workDir, AgentRun.javaBinary(), agentOptions, jvmOptions, scenario);
    }

    /** As {@link #leakProgram(Path, String, List, String)}, on the JVM of {@code java} (e.g. JDK 25's). */
    static LiveProgram leakProgram(Path workDir, String java, String agentOptions, List<String> jvmOptions,
                                   String scenario) throws IOException {
        return start(workDir, agentOptions, AgentRun.programCommand(java, jvmOptions,
                "dev.memleak4j.it.programs.LeakProgram", scenario, "-1"));
    }

    /** As {@link #start}, the whole command run by {@code wrapper} (e.g. {@code capsh ... -- -c}) as one string. */
    static LiveProgram startWrapped(Path workDir, String agentOptions, List<String> command, List<String> wrapper)
            throws IOException {
        List<String> full = new ArrayList<>(command);
        full.add(1, "-javaagent:" + AgentRun.AGENT_JAR + "=" + agentOptions);
        List<String> wrapped = new ArrayList<>(wrapper);
        // exec: the wrapper's shell becomes the JVM, whose pid this is then.
        wrapped.add("exec " + full.stream().map(AgentRun::shellQuote).collect(java.util.stream.Collectors.joining(" ")));
        Path err = workDir.resolve("stderr-" + System.nanoTime() + ".txt");
        return new LiveProgram(new ProcessBuilder(wrapped).redirectError(err.toFile()).start(), err);
    }

    long pid() {
        return process.pid();
    }

    /** Waits for a stdout line starting with {@code prefix} and returns it. */
    String await(String prefix, long seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            String line = lines.poll(100, TimeUnit.MILLISECONDS);
            if (line != null) {
                seen.add(line);
                if (line.startsWith(prefix)) {
                    return line;
                }
            } else if (!process.isAlive() && lines.isEmpty()) {
                break;
            }
        }
        fail("no line '" + prefix + "...' from pid " + pid() + " in " + seconds + " s; stdout: " + seen + "\nstderr:\n"
                + stderrText());
        return null;
    }

    void send(String command) throws IOException {
        stdin.write(command + "\n");
        stdin.flush();
    }

    String stderrText() {
        try {
            return Files.readString(stderr);
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }

    /** Tells the program to exit and waits for it. */
    int exit() throws Exception {
        if (process.isAlive()) {
            try {
                send("exit");
            } catch (IOException e) {
                // already gone
            }
        }
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("pid " + pid() + " did not exit; stderr:\n" + stderrText());
        }
        return process.exitValue();
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            exit();
        }
    }

    /** Runs a JDK tool (jcmd) and returns its output; fails the test when it fails. */
    static String tool(String name, String... arguments) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", name).toString());
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            fail(command + " failed:\n" + output);
        }
        return output;
    }
}
