package dev.memleak4j.it;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The verdict on the process's memory names each kind of growth (VerdictProgram, one JVM per kind, run side by side):
 * a native leak of tracked allocations, glibc arenas keeping freed memory (fragmentation across threads' arenas),
 * growth outside malloc (touched anonymous mmaps), and nothing growing. Each is judged at the last periodic report,
 * over a 20-s window that by then lies past the JVM's start-up.
 */
class MemoryVerdictTest {
    private static final Map<String, String> EXPECTED = Map.of("leak", "native-leak", "fragment", "arena-retention",
            "mmap", "outside-malloc", "idle", "nothing-growing");
    /**
     * The Java heap's pages touched at start: eden pages touched for the first time (by the agent's reports as much
     * as by the program) would otherwise be RSS growth outside malloc in an idle program.
     */
    private static final List<String> HEAP_TOUCHED_AT_START = List.of("-Xms64m", "-Xmx64m", "-XX:+AlwaysPreTouch");
    private static Map<String, AgentRun> runs;

    @BeforeAll
    static void runEachKindSideBySide() throws Exception {
        Privileges.assumeBpf();
        Map<String, Callable<AgentRun>> kinds = new TreeMap<>();
        for (String mode : EXPECTED.keySet()) {
            kinds.put(mode, () -> AgentRun.withAgent(AgentRun.tempDir("verdict-" + mode), "leak-window=20",
                    AgentRun.programCommand(AgentRun.javaBinary(), HEAP_TOUCHED_AT_START,
                            "dev.memleak4j.it.programs.VerdictProgram", mode, "26"), List.of()));
        }
        runs = AgentRun.sideBySide(kinds);
    }

    @Test
    void aNativeLeakIsNamedWithItsSuspect() {
        Report last = lastPeriodic("leak");
        assertTrue(last.memoryLine.contains("suspect #1 grows"), last.memoryLine);
        assertTrue(last.suspects.get(0).frames().get(0).startsWith("Java_dev_memleak4j_it_programs_LeakLib_leakTouched"),
                last.suspects.toString());
    }

    @Test
    void freedMemoryKeptByGlibcsArenasIsNamedWithWhatToTry() {
        Report last = lastPeriodic("fragment");
        assertTrue(last.memoryLine.contains("MALLOC_ARENA_MAX"), last.memoryLine);
    }

    @Test
    void growthOutsideMallocIsNamed() {
        Report last = lastPeriodic("mmap");
        assertTrue(last.memoryLine.contains("mmap or other memory outside malloc"), last.memoryLine);
    }

    @Test
    void nothingGrowingIsSaid() {
        Report last = lastPeriodic("idle");
        assertEquals(List.of(), last.suspects, last.memoryLine);
    }

    /** The last report before the exit report, whose verdict must be the expected one. */
    private static Report lastPeriodic(String mode) {
        AgentRun run = runs.get(mode);
        assertEquals(0, run.exitCode, run.describe());
        List<Report> periodic = run.parsedReports().stream().filter(r -> !r.atExit).toList();
        assertTrue(periodic.size() >= 5, mode + ": " + periodic.size() + " reports\n" + run.describe());
        Report last = periodic.get(periodic.size() - 1);
        assertNotNull(last.memoryVerdict, run.describe());
        assertEquals(EXPECTED.get(mode), last.memoryVerdict, mode + ": " + last.memoryLine);
        return last;
    }
}
