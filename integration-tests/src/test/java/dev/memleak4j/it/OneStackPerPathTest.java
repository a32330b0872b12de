package dev.memleak4j.it;

import dev.memleak4j.it.programs.OneStackProgram;
import org.junit.jupiter.api.Test;

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
    private static AgentRun run(String mode, String options, List<String> flags) throws Exception {
        List<String> command = AgentRun.programCommand(AgentRun.javaBinary(), flags, PROGRAM, mode);
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
        AgentRun run = run("garbage", "interval=1,older=0,top=1000,sample-bytes=0,min-size=6001,max-size=6009,"
                + "jni-classes=dev.memleak4j.it.programs.NoFpLib",
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
                "return NoFpLib.leakThroughData(size, landing);", "java caller");
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
        // Compiles block the calling thread, so they come at the same calls every run: C1 within the warm-up, C2
        // within the leaks (PrintCompilation shows it; the test checks it, so that the case it tests did happen).
        AgentRun run = run("tiered", "interval=1,older=0,top=1000,sample-bytes=0,min-size=4099,max-size=4099",
                List.of("-XX:+PreserveFramePointer", "-XX:+PrintCompilation", "-XX:CompileCommand=quiet",
                        "-XX:CompileCommand=exclude," + PROGRAM + "::main",
                        "-XX:CompileCommand=BackgroundCompilation," + PROGRAM + "::tieredCallSite,false",
                        "-XX:CompileCommand=BackgroundCompilation,dev.memleak4j.it.programs.LeakLib::viaMalloc,false"));
        assertTrue(run.stdout.contains("LEAKS DONE " + OneStackProgram.TIERED_LEAKS), run.describe());
        List<Integer> warmUpLevels = compileLevels(run.stdout, "", "\nLEAKING\n");
        List<Integer> leakLevels = compileLevels(run.stdout, "\nLEAKING\n", "\nLEAKS DONE ");
        assertTrue(warmUpLevels.stream().anyMatch(level -> level >= 1 && level <= 3) && !warmUpLevels.contains(4),
                "C1 compiled tieredCallSite before the leaks: " + warmUpLevels + "\n" + run.describe());
        assertTrue(leakLevels.contains(4), "C2 compiled it while it leaked: " + leakLevels + "\n" + run.describe());

        Report report = reportOf(run);
        List<Report.Stack> stacks = report.stacks.stream()
                .filter(s -> s.topFrame().startsWith("Java_dev_memleak4j_it_programs_LeakLib_viaMalloc+0x"))
                .collect(Collectors.toList());
        assertEquals(1, stacks.size(), "one stack for C1's and C2's leaks:\n" + report);
        Report.Stack stack = stacks.get(0);
        assertEquals(OneStackProgram.TIERED_LEAKS * OneStackProgram.TIERED_SIZE, stack.bytes, stack.toString());
        assertEquals(OneStackProgram.TIERED_LEAKS, stack.count, stack.toString());
        assertTrue(stack.indexOf(SourceLines.frame(PROGRAM, "tieredCallSite", "OneStackProgram.java",
                "return LeakLib.viaMalloc(size);", "jit")) > 0, stack.toString());
    }

    /** The levels PrintCompilation gave tieredCallSite's compilations between two markers of the output. */
    private static List<Integer> compileLevels(String stdout, String from, String to) {
        int start = stdout.indexOf(from);
        int end = stdout.indexOf(to, Math.max(start, 0));
        assertTrue(start >= 0 && end > start, stdout);
        Matcher matcher = Pattern.compile("(?m)^.*\\s([0-4])\\s+" + Pattern.quote(PROGRAM + "::tieredCallSite")
                + " \\(\\d+ bytes\\)$").matcher(stdout.substring(start, end));
        List<Integer> levels = new ArrayList<>();
        while (matcher.find()) {
            levels.add(Integer.parseInt(matcher.group(1)));
        }
        return levels;
    }
}
