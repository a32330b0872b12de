package dev.memleak4j.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What of the agent's own code stays compiled in the application's code cache, which every full GC walks: the code
 * that names new stacks (symbols, Java frames, the trimmer, the stack's identity) runs in a burst at the first report
 * and is never compiled (the agent's compiler directive); the reports' own code is. With every allocation tracked,
 * the first report names the JVM's own stacks, a few thousand frames: without the directive, C1 compiled dozens
 * of those naming methods within these seconds.
 */
class OwnCodeCacheTest {
    private static final String OPTIONS = "interval=1,sample-bytes=0";
    private static final List<String> NAMING_NEW_STACKS = List.of("symbols.", "stacks.StackResolver",
            "stacks.JavaFrameResolver", "stacks.WalkedStackTrimmer", "stacks.StackIdentity");

    @Test
    void theCodeThatNamesNewStacksIsNotCompiledAndTheReportsCodeIs() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("own-code-cache");
        try (LiveProgram program = LiveProgram.leakProgram(dir, OPTIONS, List.of(), "three-leaks")) {
            program.await("LEAKS DONE", 30);
            Thread.sleep(4000); // reports, the first of them naming every stack
            String codeCache = LiveProgram.tool("jcmd", String.valueOf(program.pid()), "Compiler.codelist");
            assertTrue(codeCache.contains(" dev.memleak4j.agent.report."),
                    "none of the reports' code compiled: this listing shows nothing of the agent's\n" + codeCache);
            List<String> naming = codeCache.lines().filter(OwnCodeCacheTest::namesNewStacks)
                    .collect(Collectors.toList());
            assertTrue(naming.isEmpty(), "compiled: " + naming);
            assertEquals(0, program.exit(), program.stderrText());
        }
    }

    private static boolean namesNewStacks(String codeCacheLine) {
        for (String code : NAMING_NEW_STACKS) {
            if (codeCacheLine.contains(" dev.memleak4j.agent." + code)) {
                return true;
            }
        }
        return false;
    }
}
