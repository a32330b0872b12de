package dev.memleak4j.it;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code java -jar memleak4j-agent.jar attach|detach|list} against a JVM started without the agent: attach, report,
 * detach (nothing of ours left in the kernel), attach again.
 */
class AttachDetachTest {
    /** JNI marks (off by default): the weaving and its undoing at the detach are what these tests check. */
    private static final String WOVEN = "java.util.zip.Inflater:java.util.zip.Deflater";

    private static final String MALLOC = "Java_dev_memleak4j_it_programs_LeakLib_viaMalloc+0x";
    private static final long BEFORE_ATTACH = 1_299_827;
    private static final long FIRST_SESSION = 1_288_811;
    private static final long SECOND_SESSION = 1_277_803;

    private Process target;

    @AfterEach
    void stopTarget() {
        if (target != null) {
            target.destroyForcibly();
        }
    }

    /** What the command-line tool printed. */
    record Cli(int exitCode, String stdout, String stderr) {
        String describe() {
            return "exit " + exitCode + "\nstdout: " + stdout + "\nstderr: " + stderr;
        }
    }

    static Cli cli(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(AgentRun.javaBinary(), "-jar", AgentRun.AGENT_JAR.toString()));
        command.addAll(List.of(args));
        Path dir = AgentRun.tempDir("cli");
        Process process = new ProcessBuilder(command).redirectOutput(dir.resolve("out").toFile())
                .redirectError(dir.resolve("err").toFile()).start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("the tool did not finish in 60 s: " + command);
        }
        return new Cli(process.exitValue(), Files.readString(dir.resolve("out")), Files.readString(dir.resolve("err")));
    }

    /** A JVM without the agent that takes commands on stdin (CommandProgram). */
    private final class Target {
        final Path dir;
        final PrintWriter in;
        final BufferedReader out;

        Target(Path dir) throws IOException {
            this(dir, AgentRun.javaBinary());
        }

        /** On the JVM of {@code java} (e.g. JDK 25's). */
        Target(Path dir, String java) throws IOException {
            this.dir = dir;
            target = new ProcessBuilder(java, "-Dleaktest.library=" + AgentRun.TEST_LIBRARY, "-cp",
                    AgentRun.TEST_CLASSES.toString(), "dev.memleak4j.it.programs.CommandProgram")
                    .redirectError(dir.resolve("stderr.txt").toFile()).start();
            in = new PrintWriter(target.getOutputStream(), true, StandardCharsets.UTF_8);
            out = new BufferedReader(new InputStreamReader(target.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("READY", out.readLine());
        }

        long pid() {
            return target.pid();
        }

        void command(String line) throws IOException {
            in.println(line);
            assertEquals("DONE " + line, out.readLine(), "the target did " + line);
        }

        /** Whether the application's class loader can load memleak4j's classes (CommandProgram agent-classes). */
        String agentClasses() throws IOException {
            in.println("agent-classes");
            String answer = out.readLine();
            assertEquals("DONE agent-classes", out.readLine());
            return answer;
        }

        /** Whether the JDK's Deflater and Inflater call into memleak4j's advice now (CommandProgram jni-woven). */
        boolean jniWoven() throws IOException {
            in.println("jni-woven");
            String woven = out.readLine();
            assertEquals("DONE jni-woven", out.readLine());
            assertTrue(woven.equals("WOVEN 0") || woven.equals("WOVEN 1"), woven);
            return woven.equals("WOVEN 1");
        }

        String stderr() throws IOException {
            return Files.readString(dir.resolve("stderr.txt"));
        }

        /**
         * Tells the target to exit with {@code code} and checks it did, with nothing but the agent's lines and the
         * JDK's warnings on its stderr (dynamic agents; on JDK 25 also System.load, in blocks ending in a blank line).
         */
        void exitWith(int code) throws Exception {
            in.println("exit " + code);
            assertTrue(target.waitFor(30, TimeUnit.SECONDS));
            assertEquals(code, target.exitValue(), stderr());
            assertTrue(stderr().lines().allMatch(l -> l.isEmpty() || l.startsWith("memleak4j: ")
                    || l.startsWith("WARNING: ")), "nothing but the agent's lines and the JDK's warnings on the "
                    + "target's stderr\n" + stderr());
        }
    }

    /** Fds of the target that hold a BPF map or link (from /proc/PID/fdinfo). */
    private static long bpfFds(long pid) throws IOException {
        long count = 0;
        try (Stream<Path> fds = Files.list(Paths.get("/proc", String.valueOf(pid), "fdinfo"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    String info = Files.readString(fd);
                    if (info.contains("map_id:") || info.contains("link_id:")) {
                        count++;
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        return count;
    }

    /** bpftool's maps and links that name the target as a holder; -1 when bpftool cannot tell. */
    private static long bpftoolObjectsOf(long pid) throws Exception {
        Path bpftool = Stream.of("/usr/sbin/bpftool", "/usr/bin/bpftool", "/sbin/bpftool").map(Paths::get)
                .filter(Files::isExecutable).findFirst().orElse(null);
        if (bpftool == null) {
            return -1;
        }
        long count = 0;
        for (String kind : List.of("map", "link")) {
            Process process = new ProcessBuilder(bpftool.toString(), "-j", kind, "list").redirectErrorStream(true)
                    .start();
            String json = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            process.waitFor(30, TimeUnit.SECONDS);
            // One object per top-level entry; holders are listed as {"pid":N,"comm":"..."}.
            count += json.split("\"pid\":" + pid + ",", -1).length - 1;
        }
        return count;
    }

    /** Waits for a report, begun after now and complete, whose malloc stacks hold {@code bytes}. */
    private static Report awaitReport(Path file, long bytes) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        int seen = Files.exists(file) ? Report.parseAll(Files.readString(file)).size() : 0;
        Report last = null;
        while (System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(100);
            List<Report> reports = Files.exists(file) ? Report.parseAll(Files.readString(file)) : List.of();
            // Report seen+1 may have been collected before now; report seen+2 is complete when seen+3 began.
            if (reports.size() >= seen + 3) {
                last = reports.get(seen + 1);
                if (last.bytesFrom(MALLOC) == bytes) {
                    return last;
                }
                seen = reports.size() - 1;
            }
        }
        fail("no report showed " + bytes + " bytes from malloc; last: " + last);
        return null;
    }

    @Test
    void attachReportsOnlyWhatFollowsDetachLeavesNothingAndASecondAttachWorks() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("attach");
        Target app = new Target(dir);
        long pid = app.pid();
        app.command("leak 3 " + BEFORE_ATTACH);
        assertEquals(0, bpfFds(pid));

        Path first = dir.resolve("first.txt");
        Cli attach = cli("attach", String.valueOf(pid), "interval=1,older=0,top=50,min-size=1200000,output=" + first);
        assertEquals(0, attach.exitCode(), attach.describe());
        assertTrue(attach.stdout().startsWith("memleak4j: attached to PID " + pid + " ("), attach.describe());
        assertTrue(attach.stdout().contains("tracking since "), attach.describe());
        assertTrue(bpfFds(pid) > 0, "while attached the target holds BPF maps and links");
        long bpftoolWhileAttached = bpftoolObjectsOf(pid);
        // The agent jar is on the application's class path now; its classes are a loader's of their own.
        assertEquals("AGENT_CLASSES hidden", app.agentClasses());

        Cli again = cli("attach", String.valueOf(pid), "interval=1");
        assertEquals(1, again.exitCode(), again.describe());
        assertTrue(again.stderr().startsWith("memleak4j is already running in PID " + pid + " ("), again.describe());
        Cli list = cli("list");
        assertEquals(0, list.exitCode(), list.describe());
        assertTrue(list.stdout().lines().anyMatch(l -> l.startsWith(pid + "\t")), list.describe());

        // Leaked after the attach: reported exactly; the three from before are not, and freeing them is harmless.
        app.command("leak 2 " + FIRST_SESSION);
        Report report = awaitReport(first, 2 * FIRST_SESSION);
        assertEquals(2, report.countFrom(MALLOC), report.toString());
        app.command("free " + BEFORE_ATTACH);
        awaitReport(first, 2 * FIRST_SESSION);

        Cli detach = cli("detach", String.valueOf(pid));
        assertEquals(0, detach.exitCode(), detach.describe());
        assertEquals("memleak4j: detached from PID " + pid + ": every probe removed, BPF maps freed\n",
                detach.stdout());
        assertEquals(0, bpfFds(pid), "no BPF map or link is left in the target");
        if (bpftoolWhileAttached > 0) {
            assertEquals(0, bpftoolObjectsOf(pid), "bpftool lists no map or link of the target");
        }
        assertTrue(app.stderr().contains("memleak4j: detached: every probe removed"), app.stderr());
        Cli detachAgain = cli("detach", String.valueOf(pid));
        assertEquals(1, detachAgain.exitCode(), detachAgain.describe());
        assertEquals("memleak4j is not running in PID " + pid + "; nothing to detach\n", detachAgain.stderr());

        // A second attach starts afresh: the first session's blocks are unknown to it.
        Path second = dir.resolve("second.txt");
        Cli reattach = cli("attach", String.valueOf(pid), "interval=1,older=0,top=50,min-size=1200000,output=" + second);
        assertEquals(0, reattach.exitCode(), reattach.describe());
        assertEquals("AGENT_CLASSES hidden", app.agentClasses());
        app.command("leak 1 " + SECOND_SESSION);
        report = awaitReport(second, SECOND_SESSION);
        assertEquals(1, report.countFrom(MALLOC), report.toString());
        assertEquals(0, cli("detach", String.valueOf(pid)).exitCode());
        assertEquals(0, bpfFds(pid));

        app.exitWith(4);
    }

    /**
     * "every probe removed, BPF maps freed", checked where a user would: the target's fds and memory map hold no BPF
     * object after each of five detaches (the jni_marks array is mapped into the JVM, and a mapping keeps its map
     * alive after its fd is closed), and Deflater and Inflater run their original code again.
     */
    @Test
    void fiveAttachDetachCyclesLeaveNoBpfObjectMappingOrWovenAdvice() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("cycles");
        Target app = new Target(dir);
        long pid = app.pid();
        BpfObjects before = BpfObjects.of(pid);
        assertEquals(new BpfObjects(0, 0), before, "a JVM without the agent holds no BPF object");
        assertFalse(app.jniWoven());
        for (int cycle = 1; cycle <= 5; cycle++) {
            Cli attach = cli("attach", String.valueOf(pid), "interval=1,jni-classes=" + WOVEN + ",output="
                    + dir.resolve("report" + cycle));
            assertEquals(0, attach.exitCode(), attach.describe());
            BpfObjects attached = BpfObjects.of(pid);
            assertTrue(attached.fds() > 0 && attached.mappings() > 0, "cycle " + cycle + " attached: " + attached);
            assertTrue(app.jniWoven(), "cycle " + cycle + ": the JNI marks are woven into Deflater while attached");
            Cli detach = cli("detach", String.valueOf(pid));
            assertEquals(0, detach.exitCode(), detach.describe());
            assertEquals(before, BpfObjects.of(pid), "cycle " + cycle + " detached (" + attached + " attached)");
            assertFalse(app.jniWoven(), "cycle " + cycle + ": Deflater and Inflater run their own code again");
        }
        app.exitWith(0);
    }

    /** The tool (on JDK 17) attached to a JDK 25 JVM: the leak made after the attach exact, nothing left after. */
    @Test
    void attachAndDetachOnJdk25() throws Exception {
        Privileges.assumeBpf();
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        Path dir = AgentRun.tempDir("attach-25");
        Target app = new Target(dir, AgentRun.JDK25.toString());
        long pid = app.pid();
        app.command("leak 3 " + BEFORE_ATTACH);
        Path report = dir.resolve("report.txt");
        Cli attach = cli("attach", String.valueOf(pid), "interval=1,older=0,top=50,min-size=1200000,jni-classes="
                + WOVEN + ",output=" + report);
        assertEquals(0, attach.exitCode(), attach.describe());
        assertTrue(attach.stdout().startsWith("memleak4j: attached to PID " + pid + " ("), attach.describe());
        app.command("leak 2 " + FIRST_SESSION);
        assertEquals(2, awaitReport(report, 2 * FIRST_SESSION).countFrom(MALLOC));
        assertTrue(app.jniWoven(), "the JNI marks are woven into Deflater while attached");
        Cli detach = cli("detach", String.valueOf(pid));
        assertEquals(0, detach.exitCode(), detach.describe());
        assertEquals(new BpfObjects(0, 0), BpfObjects.of(pid), "no BPF fd or mapping left after the detach");
        assertFalse(app.jniWoven(), "Deflater and Inflater run their own code again");
        app.exitWith(0);
    }

    @Test
    void theToolSaysInOneLineWhatIsWrongWithItsTarget() throws Exception {
        Cli none = cli("attach", "999999999");
        assertEquals(1, none.exitCode(), none.describe());
        assertEquals("memleak4j: no process with PID 999999999\n", none.stderr());

        Process sleep = new ProcessBuilder("sleep", "60").start();
        try {
            Cli notJvm = cli("attach", String.valueOf(sleep.pid()));
            assertEquals(1, notJvm.exitCode(), notJvm.describe());
            assertEquals("memleak4j: PID " + sleep.pid() + " (sleep) is not a JVM: no libjvm.so in its memory map\n",
                    notJvm.stderr());
            assertTrue(sleep.isAlive(), "the tool never signals a process that is not a JVM");
        } finally {
            sleep.destroyForcibly();
        }

        Target app = new Target(AgentRun.tempDir("notrunning"));
        Cli detach = cli("detach", String.valueOf(app.pid()));
        assertEquals(1, detach.exitCode(), detach.describe());
        assertEquals("memleak4j is not running in PID " + app.pid() + "; nothing to detach\n", detach.stderr());
        Cli list = cli("list");
        assertTrue(list.stdout().lines().noneMatch(l -> l.startsWith(app.pid() + "\t")), list.describe());

        Cli badOption = cli("attach", String.valueOf(app.pid()), "interval=0");
        assertEquals(2, badOption.exitCode(), badOption.describe());
        assertEquals(1, badOption.stderr().lines().count(), badOption.describe());
        assertTrue(badOption.stderr().startsWith("memleak4j: bad option: interval=0 is out of range"),
                badOption.describe());

        Cli usage = cli("frobnicate");
        assertEquals(2, usage.exitCode(), usage.describe());
        Cli help = cli("help");
        assertEquals(0, help.exitCode(), help.describe());
        assertTrue(help.stdout().contains("attach PID [OPTIONS]") && help.stdout().contains("max-allocs=N"),
                help.describe());
    }
}
