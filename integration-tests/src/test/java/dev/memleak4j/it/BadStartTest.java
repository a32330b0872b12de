package dev.memleak4j.it;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whatever is wrong, the agent says it in one line and the application runs on with its own exit code. */
class BadStartTest {
    @Test
    void withoutPrivilegesTheAgentPrintsOneLineAndTheApplicationKeepsItsExitCode() throws Exception {
        Path capsh = Paths.get("/usr/sbin/capsh");
        Privileges.require(Files.isExecutable(capsh), "capsh (libcap2-bin) is not installed");
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("nocaps"), "interval=1", AgentRun.idleProgram("7"),
                List.of(capsh.toString(), "--drop=cap_bpf,cap_perfmon,cap_sys_admin", "--", "-c"));
        assertEquals(7, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("LEAKS DONE"), run.describe());
        assertEquals(1, run.agentLines().size(), run.describe());
        assertTrue(run.agentLines().get(0).contains("lacks CAP_BPF and CAP_PERFMON"), run.describe());
        assertEquals(run.agentLines().size(), run.stderr.lines().count(), "nothing else on stderr\n" + run.describe());
    }

    @Test
    void aBadOptionPrintsOneLineAndTheApplicationKeepsItsExitCode() throws Exception {
        for (String options : List.of("intervl=5", "interval=abc", "top=-3", "interval=5,interval=6",
                "sample-rate=99999999999999999999", "show-allocs=maybe")) {
            AgentRun run = AgentRun.withAgent(AgentRun.tempDir("badopt"), options, AgentRun.idleProgram("3"),
                    List.of());
            assertEquals(3, run.exitCode, options + "\n" + run.describe());
            assertTrue(run.stdout.contains("LEAKS DONE"), run.describe());
            assertEquals(1, run.stderr.lines().count(), options + "\n" + run.describe());
            assertTrue(run.stderr.startsWith("memleak4j: bad option: "), run.describe());
        }
    }

    /** The agent's classes come from one entry of its jar (its class pack): damaged, the agent cannot start. */
    @Test
    void aDamagedAgentJarPrintsOneLineAndTheApplicationKeepsItsExitCode() throws Exception {
        Path dir = AgentRun.tempDir("damaged");
        Path damaged = dir.resolve("memleak4j-agent.jar");
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(AgentRun.AGENT_JAR));
             ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(damaged))) {
            boolean packSeen = false;
            for (ZipEntry entry; (entry = in.getNextEntry()) != null; ) {
                out.putNextEntry(new ZipEntry(entry.getName()));
                if (entry.getName().equals("META-INF/memleak4j/agent-classes.pack")) {
                    packSeen = true;
                    out.write("not a class pack".getBytes(StandardCharsets.US_ASCII));
                } else {
                    in.transferTo(out);
                }
                out.closeEntry();
            }
            assertTrue(packSeen, "the agent jar holds its classes in a class pack");
        }
        AgentRun run = AgentRun.rawAgent(dir, damaged, "interval=1", AgentRun.idleProgram("5"));
        assertEquals(5, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("LEAKS DONE"), run.describe());
        assertEquals(1, run.stderr.lines().count(), run.describe());
        assertTrue(run.stderr.startsWith(
                "memleak4j: not started: the agent's classes could not be read from its jar ("), run.describe());
        assertTrue(run.stderr.contains("the application runs on without memleak4j"), run.describe());
    }

    @Test
    void helpListsEveryOptionAndDoesNotStart() throws Exception {
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("help"), "help", AgentRun.idleProgram("0"), List.of());
        assertEquals(0, run.exitCode, run.describe());
        for (String option : List.of("interval", "count", "top", "show-allocs", "older", "min-size", "max-size",
                "sample-rate", "combined-only", "obj", "symbols-prefix", "output")) {
            assertTrue(run.stderr.contains("  " + option), option + " missing from help\n" + run.stderr);
        }
        assertTrue(run.reports.isEmpty());
    }
}
