package dev.memleak4j.agent.stacks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Points the tests at the freshly built native/target/libmemleak4j.so (unless memleak4j.library is set). */
public final class TestLibrary {
    private TestLibrary() {}

    public static Path path() {
        String explicit = System.getProperty("memleak4j.library");
        if (explicit != null) {
            return Paths.get(explicit);
        }
        for (Path candidate : new Path[] {Paths.get("../native/target/libmemleak4j.so"),
                Paths.get("native/target/libmemleak4j.so")}) {
            if (Files.exists(candidate)) {
                return candidate.toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException("libmemleak4j.so not built: run mvn -q install -DskipTests first");
    }

    public static void use() {
        if (System.getProperty("memleak4j.library") == null) {
            System.setProperty("memleak4j.library", path().toString());
        }
    }

    /**
     * Runs {@code mainClass} of the test classes in a fresh JVM of {@code javaHome} under -Xcheck:jni, with this
     * library and {@code jvmOptions}; its output (stdout and stderr), once it has exited with 0 within 120 s.
     */
    public static String runMain(Path javaHome, List<String> jvmOptions, String mainClass)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(javaHome.resolve("bin/java").toString());
        command.add("-Xcheck:jni");
        command.add("-Dmemleak4j.library=" + path());
        command.addAll(jvmOptions);
        command.add("--enable-native-access=ALL-UNNAMED");  // JDK 22+ warns without it; JDK 17 accepts it
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output;
        try (var in = process.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(process.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), output);
        return output;
    }
}
