package dev.memleak4j.demo;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The JNI half of the demo (src/main/c/demo.c). */
final class NativeMath {
    static {
        load();
    }

    private NativeMath() {}

    /** fib(n); leaks an 8192-byte memo table, calloc(1024, 8), on every call. */
    static native long fibonacci(int n);

    /** Allocates and frees {@code rounds} times; leaves nothing outstanding. */
    static native void churn(int rounds);

    /** Extracts libdemo.so from the jar under its own name, so reports show it as [libdemo.so]. */
    private static void load() {
        try (InputStream in = NativeMath.class.getResourceAsStream("/native/libdemo.so")) {
            if (in == null) {
                throw new IllegalStateException("libdemo.so is not in the demo jar: build with mvn package");
            }
            Path dir = Files.createTempDirectory("memleak4j-demo");
            Path library = dir.resolve("libdemo.so");
            Files.copy(in, library, StandardCopyOption.REPLACE_EXISTING);
            library.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            System.load(library.toString());
        } catch (IOException e) {
            throw new IllegalStateException("cannot extract libdemo.so: " + e.getMessage(), e);
        }
    }
}
