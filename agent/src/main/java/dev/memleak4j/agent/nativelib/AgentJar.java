package dev.memleak4j.agent.nativelib;

import dev.memleak4j.boot.AgentLauncher;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads entries of the agent's own jar (its native library, class files to define elsewhere) through a ZipFile of
 * the jar, closed after, which shares the class loader's open handle on the file. The class loader's
 * getResourceAsStream would first search the JDK's modules (opening the runtime image's reader, kept for good) and
 * then open a jar: URL, whose handler's classes load and whose cache keeps a second handle on the jar for the JVM's
 * life. The class loader is asked for what the jar does not hold as an entry of its own: the agent's classes, which
 * its loader defines from the jar's class pack (dev.memleak4j.boot.AgentClassLoader), and everything where the
 * agent's classes are not in a jar (the unit tests' class directory) or the jar cannot be read again (replaced since
 * the JVM opened it).
 */
public final class AgentJar {
    private AgentJar() {}

    /** The bytes of {@code entry} (a path inside the jar, without a leading '/'), or null when the jar has none. */
    public static byte[] read(String entry) throws IOException {
        Path jar = AgentLauncher.codeSource();
        if (jar != null && Files.isRegularFile(jar)) {
            try (ZipFile zip = new ZipFile(jar.toFile())) {
                ZipEntry found = zip.getEntry(entry);
                if (found != null) {
                    try (InputStream in = zip.getInputStream(found)) {
                        return in.readAllBytes();
                    }
                }
            } catch (IOException e) {
                // Replaced or unreadable since the JVM opened it: the class loader still holds the jar it opened.
            }
        }
        try (InputStream in = AgentJar.class.getClassLoader().getResourceAsStream(entry)) {
            return in == null ? null : in.readAllBytes();
        }
    }
}
