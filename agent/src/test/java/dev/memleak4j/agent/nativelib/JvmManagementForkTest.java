package dev.memleak4j.agent.nativelib;

import dev.memleak4j.agent.stacks.TestLibrary;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link JvmManagement}'s figures are the platform MXBeans' (the same JVM asked both ways, this JDK and Temurin 25),
 * and reading them loads nothing of the MXBeans' machinery.
 */
class JvmManagementForkTest {
    private static final Path JDK25 = Paths.get("/usr/lib/jvm/temurin-25-jdk-amd64");

    @Test
    void thisJdk() throws Exception {
        check(Paths.get(System.getProperty("java.home")));
    }

    @Test
    void jdk25() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(JDK25.resolve("bin/java")), JDK25 + " is not installed");
        check(JDK25);
    }

    private static void check(Path javaHome) throws Exception {
        String output = run(javaHome);
        int marker = output.indexOf("\nMXBEANS\n");
        assertTrue(marker > 0, output);
        String before = output.substring(0, marker);
        for (String machinery : List.of("java.lang.management.ManagementFactory ", "sun.management.",
                "jdk.internal.platform.", "javax.management.")) {
            assertFalse(before.contains(machinery), machinery + " loaded before the MXBeans were asked:\n" + output);
        }
        Map<String, Long> figures = figures(output);
        long direct = 3L * JvmManagementProbeMain.DIRECT_CAPACITY;
        assertEquals(figures.get("mx.heap"), figures.get("heap"), output);
        assertEquals(figures.get("mx.direct"), figures.get("direct"), output);
        assertEquals(direct, figures.get("direct"), output);
        assertEquals(figures.get("mx.mapped"), figures.get("mapped"), output);
        assertEquals(JvmManagementProbeMain.MAPPED_SIZE, figures.get("mapped"), output);
        assertEquals(figures.get("mx.threads"), figures.get("threads"), output);
        assertEquals(figures.get("mx.start"), figures.get("start"), output);
        // These only grow, and the MXBeans were asked later (after loading their classes and compiling more).
        assertTrue(figures.get("nonheap") > 0 && figures.get("nonheap") <= figures.get("mx.nonheap"), output);
        assertTrue(figures.get("classes") > 400 && figures.get("classes") < figures.get("mx.classes"), output);
        assertTrue(figures.get("compile") >= 0 && figures.get("compile") <= figures.get("mx.compile"), output);
        assertTrue(figures.get("cpu") > 0, output);
    }

    private static String run(Path javaHome) throws IOException, InterruptedException {
        String output = TestLibrary.runMain(javaHome, List.of("-Xms64m", "-Xmx64m", "-Xlog:class+load=info:stdout:"),
                JvmManagementProbeMain.class.getName());
        assertFalse(output.contains("WARNING in native method") || output.contains("FATAL"), output);
        return output;
    }

    private static Map<String, Long> figures(String output) {
        Map<String, Long> figures = new HashMap<>();
        for (String line : output.split("\n")) {
            String[] parts = line.split(" ");
            if (parts.length == 2 && parts[1].matches("-?\\d+")) {
                figures.put(parts[0], Long.parseLong(parts[1]));
            }
        }
        return figures;
    }
}
