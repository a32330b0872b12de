package dev.memleak4j.agent.stacks;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link CodeMapProbeMain} in fresh JVMs: this JDK, Temurin 25, and under -Xint. */
class JvmCodeMapForkTest {
    static final Path JDK25 = Paths.get("/usr/lib/jvm/temurin-25-jdk-amd64");
    private static final String PREFIX = "dev.memleak4j.agent.stacks.CodeMapProbeMain.";

    private static Map<String, String> run(Path javaHome, String... jvmOptions) throws IOException, InterruptedException {
        return run(CodeMapProbeMain.class, javaHome, jvmOptions);
    }

    private static Map<String, String> run(Class<?> main, Path javaHome, String... jvmOptions)
            throws IOException, InterruptedException {
        String output = TestLibrary.runMain(javaHome, List.of(jvmOptions), main.getName());
        Map<String, String> facts = new HashMap<>();
        for (String line : output.split("\n")) {
            int space = line.indexOf(' ');
            if (space > 0) {
                facts.putIfAbsent(line.substring(0, space), line.substring(space + 1));
            }
        }
        facts.put("output", output);
        return facts;
    }

    private static void checkCompiled(Map<String, String> facts) {
        String output = facts.get("output");
        assertTrue(facts.get("interpreter").matches("[0-9a-f]+-[0-9a-f]+"), output);
        // A return address in outer's code with middle and leaf inlined: each frame with the line of its call.
        String[] lines = facts.get("lines").split(" ");
        assertEquals(PREFIX + "outer:" + lines[2] + " [jit]", facts.get("jit"), output);
        assertTrue(facts.get("inlined").endsWith(PREFIX + "leaf:" + lines[0] + " [inlined] | " + PREFIX + "middle:"
                + lines[1] + " [inlined] | " + PREFIX + "outer:" + lines[2] + " [jit]"), output);
        checkInterpreted(facts);
        assertEquals(PREFIX + "callee", facts.get("jmethodid"), output);
        assertTrue(!output.contains("WARNING in native method") && !output.contains("FATAL"), output);
    }

    private static void checkInterpreted(Map<String, String> facts) {
        assertTrue(facts.get("interpreted").startsWith("dev.memleak4j.agent.stacks.JvmCodeMap.walkStack0 [interpreted] | "
                + "dev.memleak4j.agent.stacks.JvmCodeMap.walkStack [interpreted] | " + PREFIX
                + "interpretedWalk [interpreted] | " + PREFIX + "main [interpreted] | call_stub [stub]"),
                facts.get("output"));
    }

    @Test
    void thisJdk() throws Exception {
        checkCompiled(run(Paths.get(System.getProperty("java.home"))));
    }

    @Test
    void jdk25() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(JDK25.resolve("bin/java")), JDK25 + " is not installed");
        checkCompiled(run(JDK25));
    }

    @Test
    void flushedCodeMovesTheGenerationOnJdk25() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(JDK25.resolve("bin/java")), JDK25 + " is not installed");
        Map<String, String> facts = run(FlushProbeMain.class, JDK25);
        assertEquals("ok", facts.get("flushed"), facts.get("output"));
    }

    @Test
    void interpretedOnlyOnJdk25AndThisJdk() throws Exception {
        checkInterpreted(run(Paths.get(System.getProperty("java.home")), "-Xint"));
        if (Files.isExecutable(JDK25.resolve("bin/java"))) {
            Map<String, String> facts = run(JDK25, "-Xint");
            checkInterpreted(facts);
            assertEquals("0", facts.get("compiled"), facts.get("output"));
        }
    }
}
