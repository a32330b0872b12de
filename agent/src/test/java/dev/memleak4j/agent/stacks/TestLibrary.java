package dev.memleak4j.agent.stacks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

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
}
