package dev.memleak4j.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Nasty option strings and wrong allocator libraries through the real -javaagent: one line, the app runs on. */
class BadInputTest {
    @Test
    void nastyOptionStringsGiveOneLineAndTheApplicationsExitCode() throws Exception {
        List<String> nasty = List.of("interval=" + "9".repeat(5000), "max-allocs=-1", "max-stacks=0",
                "top=1,top=1", "=,=,=", "interval=1\u0001\u007f", "obj", "symbols-prefix", "min-size=8589934592g",
                "count=99999999999999999999", "INTERVAL=2,interval=3", "older=-0x10", "sample-rate=0");
        for (String options : nasty) {
            AgentRun run = AgentRun.rawAgent(AgentRun.tempDir("nasty"), options, AgentRun.idleProgram("6"));
            assertEquals(6, run.exitCode, options + "\n" + run.describe());
            assertTrue(run.stdout.contains("LEAKS DONE"), run.describe());
            assertEquals(1, run.stderr.lines().count(), options + "\n" + run.describe());
            assertTrue(run.stderr.startsWith("memleak4j: bad option: "), options + "\n" + run.describe());
        }
    }

    @Test
    void anObjThatDoesNotExistOrIsNoAllocatorGivesOneLineAndTheApplicationRunsOn() throws Exception {
        Privileges.assumeBpf();
        AgentRun missing = AgentRun.rawAgent(AgentRun.tempDir("obj"), "obj=/does/not/exist", AgentRun.idleProgram("6"));
        assertEquals(6, missing.exitCode, missing.describe());
        assertTrue(missing.stdout.contains("LEAKS DONE"), missing.describe());
        assertEquals(List.of("memleak4j: not started: obj=/does/not/exist does not exist or is not a file; the "
                + "application runs on without memleak4j"), missing.stderr.lines().toList());

        String libz = "/lib/x86_64-linux-gnu/libz.so.1";
        Privileges.require(Files.exists(Paths.get(libz)), "no " + libz);
        AgentRun notAllocator = AgentRun.rawAgent(AgentRun.tempDir("obj"), "obj=" + libz, AgentRun.idleProgram("6"));
        assertEquals(6, notAllocator.exitCode, notAllocator.describe());
        assertTrue(notAllocator.stdout.contains("LEAKS DONE"), notAllocator.describe());
        assertEquals(1, notAllocator.stderr.lines().count(), notAllocator.describe());
        assertTrue(notAllocator.stderr.startsWith("memleak4j: not started: " + libz + " has no function 'malloc'"),
                notAllocator.describe());

        AgentRun notElf = AgentRun.rawAgent(AgentRun.tempDir("obj"), "obj=/etc/hostname", AgentRun.idleProgram("6"));
        assertEquals(6, notElf.exitCode, notElf.describe());
        assertEquals(1, notElf.stderr.lines().count(), notElf.describe());
        assertTrue(notElf.stderr.startsWith("memleak4j: not started: "), notElf.describe());
    }
}
