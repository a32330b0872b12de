package dev.memleak4j.it;

import dev.memleak4j.it.programs.LateLibraryProgram;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A JNI library loaded 12 s after tracking began, while the reports had been naming stacks all along: its leak is
 * named by its C function in both probe modes.
 */
class LateLibraryTest {
    private static final String LEAK_FRAME = "Java_dev_memleak4j_it_programs_LeakLib_viaMalloc+0x";
    private static final List<String> MODES = List.of("hooks", "uprobes");
    private static Map<String, AgentRun> runs;

    /**
     * One JVM per probe mode, side by side: each sleeps most of its run (12 s before the library is loaded, with a
     * report a second), so neither takes CPU the other needs.
     */
    @BeforeAll
    static void runEachModeSideBySide() throws Exception {
        Privileges.assumeBpf();
        // 12 s, not less: in the first seconds the JIT's new code makes the symbolizer read the maps again anyway (an
        // address outside every mapping it knew), which would name the late library's frames even without the re-read
        // on the dynamic linker's changes this test is for (at 3 s such a symbolizer passed in both modes).
        List<String> command = AgentRun.programCommand(AgentRun.javaBinary(), List.of(),
                LateLibraryProgram.class.getName(), "12");
        Map<String, Callable<AgentRun>> modes = new TreeMap<>();
        for (String mode : MODES) {
            modes.put(mode, () -> AgentRun.withAgent(AgentRun.tempDir("late-" + mode),
                    "interval=1,older=0,top=50,min-size=1000000,probe-mode=" + mode, command, List.of()));
        }
        runs = AgentRun.sideBySide(modes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"hooks", "uprobes"})
    void aLeakInALibraryLoadedLateIsNamedByItsFunction(String mode) throws Exception {
        AgentRun run = runs.get(mode);
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        assertEquals(LateLibraryProgram.LATE_SIZE, report.bytesFrom(LEAK_FRAME), report.toString());
        assertEquals(1, report.countFrom(LEAK_FRAME), report.toString());
    }
}
