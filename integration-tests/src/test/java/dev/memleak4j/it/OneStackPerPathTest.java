package dev.memleak4j.it;

import dev.memleak4j.it.programs.OneStackProgram;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One leaking call path is one stack in the report, however the walk saw it: through a JNI library without frame
 * pointers whose {@code rbp} points at data holding code addresses (a different garbage frame at each allocation),
 * and from a method that C1 then C2 compile while it leaks (the same frames at other return addresses).
 */
class OneStackPerPathTest {
    private static final String PROGRAM = "dev.memleak4j.it.programs.OneStackProgram";

    /** Runs {@code OneStackProgram mode} and returns its stdout and the report it printed after its leaks. */
    private static AgentRun run(String java, String mode, String options, List<String> flags) throws Exception {
        List<String> command = AgentRun.programCommand(java, flags, PROGRAM, mode);
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("onestack-" + mode), options, command, List.of());
        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("\nREPORT\n"), run.describe());
        return run;
    }

    private static Report reportOf(AgentRun run) {
        List<Report> reports = Report.parseAll(run.stdout.substring(run.stdout.indexOf("\nREPORT\n")));
        assertEquals(1, reports.size(), run.describe());
        return reports.get(0);
    }

    @Test
    void garbageAfterCodeWithoutFramePointersIsCutAway() throws Exception {
        Privileges.assumeBpf();
        // Default options (no JNI marks): the Java frames come from the walk from the thread's frame anchor.
        AgentRun run = run(AgentRun.javaBinary(), "garbage", "interval=1,older=0,top=1000,sample-bytes=0,min-size=6001,max-size=6009",
                List.of("-XX:+PreserveFramePointer", "-Dnofp.library=" + JniMarksTest.NOFP_LIBRARY));
        assertTrue(run.stdout.contains("LEAKS DONE " + OneStackProgram.GARBAGE_LEAKS), run.describe());
        Report report = reportOf(run);
        List<Report.Stack> stacks = report.stacks.stream()
                .filter(s -> s.topFrame().startsWith("nofp_allocate_with_context+"))
                .collect(Collectors.toList());
        long bytes = 0;
        for (int i = 0; i < OneStackProgram.GARBAGE_LEAKS; i++) {
            bytes += OneStackProgram.garbageSize(i);
        }
        assertTrue(!stacks.isEmpty() && stacks.size() <= 2, "at most 2 stacks for one call path:\n" + report);
        assertEquals(bytes, stacks.stream().mapToLong(s -> s.bytes).sum(), "every byte, once:\n" + report);
        assertEquals(OneStackProgram.GARBAGE_LEAKS, stacks.stream().mapToLong(s -> s.count).sum(), report.toString());
        String callSite = SourceLines.frame(PROGRAM, "garbageCallSite", "OneStackProgram.java",
                "return NoFpLib.leakThroughData(size, landing);", "interpreted|jit|inlined");
        for (Report.Stack stack : stacks) {
            // The landings have no symbol of their own: they would print as frame_dummy+0x2N [libnofp.so].
            assertTrue(stack.frames.stream().skip(1).noneMatch(f -> f.endsWith("[libnofp.so]")),
                    "the garbage frame is cut away: " + stack);
            assertTrue(stack.indexOf(callSite) > 0, "the Java line is named: " + stack);
        }
    }

    @Test
    void aMethodThatC1ThenC2CompileWhileItLeaksIsOneStack() throws Exception {
        Privileges.assumeBpf();
        assertTieredLeakIsOneStack(AgentRun.javaBinary());
    }

    @Test
    void aMethodThatC1ThenC2CompileWhileItLeaksIsOneStackOnJdk25() throws Exception {
        Privileges.assumeBpf();
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        assertTieredLeakIsOneStack(AgentRun.JDK25.toString());
    }

    private static void assertTieredLeakIsOneStack(String java) throws Exception {
        // Compiles block the calling thread, so that they come at about the same calls every run: C1 within the
        // warm-up, C2 within the leaks (PrintCompilation shows it; the test checks it, so that the case it tests did
        // happen). A long compile queue at start-up raises the thresholds: C1 may come with the first leaks.
        // The JVM's lines go to stderr, with the program's markers: stdout keeps the report whole.
        AgentRun run = run(java, "tiered", "interval=1,older=0,top=1000,sample-bytes=0,min-size=4099,max-size=4099",
                List.of("-XX:+PreserveFramePointer", "-XX:+PrintCompilation", "-XX:+DisplayVMOutputToStderr",
                        "-XX:CompileCommand=quiet",
                        "-XX:CompileCommand=exclude," + PROGRAM + "::main",
                        "-XX:CompileCommand=BackgroundCompilation," + PROGRAM + "::tieredCallSite,false",
                        "-XX:CompileCommand=BackgroundCompilation,dev.memleak4j.it.programs.LeakLib::viaMalloc,false"));
        assertTrue(run.stdout.contains("LEAKS DONE " + OneStackProgram.TIERED_LEAKS), run.describe());
        // Markers found anywhere on a line: a compiler thread may have written part of its line before them.
        List<Integer> warmUpLevels = compileLevels(run.stderr, "", "LEAKING\n");
        List<Integer> leakLevels = compileLevels(run.stderr, "LEAKING\n", "LEAKED\n");
        boolean c1BeforeLeaks = warmUpLevels.stream().anyMatch(level -> level >= 1 && level <= 3);
        int c2 = leakLevels.indexOf(4);
        assertTrue(!warmUpLevels.contains(4) && c2 >= 0, "C2 compiled tieredCallSite while it leaked: "
                + warmUpLevels + " then " + leakLevels + "\n" + run.describe());
        assertTrue(c1BeforeLeaks || leakLevels.subList(0, c2).stream().anyMatch(level -> level >= 1 && level <= 3),
                "C1 compiled it before C2: " + warmUpLevels + " then " + leakLevels + "\n" + run.describe());

        Report report = reportOf(run);
        List<Report.Stack> stacks = report.stacks.stream()
                .filter(s -> s.topFrame().startsWith("Java_dev_memleak4j_it_programs_LeakLib_viaMalloc+0x"))
                .collect(Collectors.toList());
        assertEquals(OneStackProgram.TIERED_LEAKS * OneStackProgram.TIERED_SIZE, stacks.stream()
                .mapToLong(s -> s.bytes).sum(), "every byte, once:\n" + report);
        assertEquals(OneStackProgram.TIERED_LEAKS, stacks.stream().mapToLong(s -> s.count).sum(), report.toString());
        assertEquals(stacks.size(), stacks.stream().map(s -> s.frames).distinct().count(),
                "no two stacks of the same frames:\n" + report);
        String compiled = SourceLines.frame(PROGRAM, "tieredCallSite", "OneStackProgram.java",
                "return LeakLib.viaMalloc(size);", "jit");
        assertEquals(1, stacks.stream().filter(s -> s.indexOf(compiled) > 0).count(),
                "one stack for C1's and C2's leaks:\n" + report);
        if (c1BeforeLeaks) {
            // Else the first leaks came from the interpreter, its own stack (the JIT's queue was long at start-up).
            assertEquals(1, stacks.size(), "one stack for C1's and C2's leaks:\n" + report);
        }
    }

    /** The levels PrintCompilation gave tieredCallSite's compilations between two markers of the output. */
    private static List<Integer> compileLevels(String output, String from, String to) {
        int start = output.indexOf(from);
        int end = output.indexOf(to, Math.max(start, 0));
        assertTrue(start >= 0 && end > start, "no " + from + " then " + to + " in:\n" + output);
        Matcher matcher = Pattern.compile("(?m)^.*\\s([0-4])\\s+" + Pattern.quote(PROGRAM + "::tieredCallSite")
                + " \\(\\d+ bytes\\)$").matcher(output.substring(start, end));
        List<Integer> levels = new ArrayList<>();
        while (matcher.find()) {
            levels.add(Integer.parseInt(matcher.group(1)));
        }
        return levels;
    }
}
