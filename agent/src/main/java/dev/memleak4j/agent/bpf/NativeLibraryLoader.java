package dev.memleak4j.agent.bpf;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Loads libmemleak4j.so once per JVM. Tries, in order: the path in system property {@code memleak4j.library}, the
 * copy inside the agent jar (extracted under a content-hashed name so that two agent versions never share a file),
 * then {@code System.loadLibrary("memleak4j")}. A failure lists every place tried.
 */
public final class NativeLibraryLoader {
    static final String RESOURCE = "/native/linux-x86_64/libmemleak4j.so";
    private static boolean loaded;

    private NativeLibraryLoader() {}

    public static synchronized void load() {
        if (loaded) {
            return;
        }
        List<String> tried = new ArrayList<>();
        String explicit = System.getProperty("memleak4j.library");
        if (explicit != null && tryLoad(Paths.get(explicit), tried)) {
            return;
        }
        try {
            Path extracted = extractFromJar();
            if (extracted != null && tryLoad(extracted, tried)) {
                return;
            }
            if (extracted == null) {
                tried.add("jar resource " + RESOURCE + ": not in the agent jar");
            }
        } catch (IOException e) {
            tried.add("extracting " + RESOURCE + ": " + e.getMessage());
        }
        try {
            System.loadLibrary("memleak4j");
            loaded = true;
            return;
        } catch (UnsatisfiedLinkError e) {
            tried.add("java.library.path: " + e.getMessage());
        }
        throw new BpfException("cannot load libmemleak4j.so for " + System.getProperty("os.name") + "/"
                + System.getProperty("os.arch") + "; tried: " + String.join("; ", tried));
    }

    private static boolean tryLoad(Path path, List<String> tried) {
        try {
            System.load(path.toAbsolutePath().toString());
            loaded = true;
            return true;
        } catch (UnsatisfiedLinkError e) {
            tried.add(path + ": " + e.getMessage());
            return false;
        }
    }

    private static Path extractFromJar() throws IOException {
        byte[] content;
        try (InputStream in = NativeLibraryLoader.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                return null;
            }
            content = in.readAllBytes();
        }
        Path dir = Paths.get(System.getProperty("java.io.tmpdir"), "memleak4j-" + System.getProperty("user.name"));
        Files.createDirectories(dir);
        Path target = dir.resolve("libmemleak4j-" + sha256(content).substring(0, 16) + ".so");
        if (!Files.exists(target) || Files.size(target) != content.length) {
            // Write beside, then rename: another JVM may be loading the same file right now.
            Path temp = Files.createTempFile(dir, "libmemleak4j", ".tmp");
            Files.write(temp, content);
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        return target;
    }

    private static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
