package dev.memleak4j.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * obj= with a real second allocator: Debian's jemalloc, preloaded into the JVM, so that the JVM's and the test
 * library's malloc calls go to it. Its exported names are the plain ones (no prefix).
 */
class JemallocTest {
    static final Path JEMALLOC = Paths.get("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");
    private static final String LIB = "Java_dev_memleak4j_it_programs_LeakLib_";

    private static List<String> preloaded(String scenario, String sleepMillis) {
        List<String> command = new ArrayList<>(List.of("env", "LD_PRELOAD=" + JEMALLOC));
        command.addAll(AgentRun.programCommand(AgentRun.javaBinary(), List.of(),
                "dev.memleak4j.it.programs.LeakProgram", scenario, sleepMillis));
        return command;
    }

    /**
     * The all-functions leaks, exact, through jemalloc's probes. jemalloc has no pvalloc: glibc's own serves that
     * call, outside obj, so it is not tracked; glibc's reallocarray calls realloc, which is jemalloc's.
     */
    @Test
    void objJemallocWithUprobesTracksTheKnownLeaksExactly() throws Exception {
        AgentRun run = allFunctionsThroughJemalloc("probe-mode=uprobes");
        String start = run.agentLines().get(0);
        assertTrue(start.contains("tracking native allocations of pid ") && start.contains(" in " + JEMALLOC + " ("),
                run.describe());
    }

    /**
     * The same with the in-process hooks (the default): the slots call jemalloc, the process's allocator. The hooks see
     * every call through an import table, whoever serves it, so pvalloc (glibc's) is tracked too.
     */
    @Test
    void objJemallocWithHooksTracksTheKnownLeaksExactly() throws Exception {
        AgentRun run = allFunctionsThroughJemalloc("probe-mode=hooks");
        assertTrue(run.agentLines().get(0).contains("with in-process hooks"), run.describe());
    }

    private static AgentRun allFunctionsThroughJemalloc(String mode) throws Exception {
        Privileges.assumeBpf();
        Privileges.require(Files.exists(JEMALLOC), "no " + JEMALLOC + " (Debian's libjemalloc2)");
        // env runs java: -javaagent goes after the java binary, at index 2.
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("jemalloc"), mode
                + ",interval=1,count=2,older=0,top=100,show-allocs,sample-bytes=0,min-size=900000,obj=" + JEMALLOC,
                preloaded("all-functions", "3500"), List.of(), 3);
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        for (Map.Entry<String, long[]> e : AllocatorFunctionsTest.EXPECTED.entrySet()) {
            boolean tracked = mode.equals("probe-mode=hooks") || !e.getKey().equals("viaPvalloc");
            String frame = LIB + e.getKey() + "+0x";
            assertEquals(tracked ? e.getValue()[0] : 0, report.bytesFrom(frame), mode + ": bytes from " + e.getKey()
                    + "\n" + report);
            assertEquals(tracked ? e.getValue()[1] : 0, report.countFrom(frame), mode + ": allocations from "
                    + e.getKey() + "\n" + report);
        }
        return run;
    }

    /** Debian's jemalloc has no je_ prefix: symbols-prefix=je_ names nothing there, said in one line. */
    @Test
    void aSymbolsPrefixThatMatchesNothingGivesOneLineAndTheApplicationRunsOn() throws Exception {
        Privileges.assumeBpf();
        Privileges.require(Files.exists(JEMALLOC), "no " + JEMALLOC + " (Debian's libjemalloc2)");
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("jemalloc-prefix"),
                "interval=1,obj=" + JEMALLOC + ",symbols-prefix=je_", preloaded("three-leaks", "0"), List.of(), 3);
        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("LEAKS DONE"), run.describe());
        assertEquals(1, run.stderr.lines().count(), run.describe());
        assertTrue(run.stderr.startsWith("memleak4j: not started: " + JEMALLOC + " has no function 'je_malloc'"),
                run.describe());
    }
}
