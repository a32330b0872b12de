package dev.memleak4j.agent.nativelib;

import dev.memleak4j.agent.files.SafeFiles;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Loads libmemleak4j.so once per JVM. Tries, in order: the path in system property {@code memleak4j.library} (the
 * command line's own choice), the copy inside the agent jar, then {@code System.loadLibrary("memleak4j")}. A failure
 * lists every place tried.
 *
 * <p>The agent runs as root, and whatever this class loads runs as root in the application. So the jar's copy is never
 * looked up at a known path, where another user could have put a library of their own first: it is written into a new
 * {@linkplain SafeFiles#createPrivateDirectory private directory} (mode 0700, made and checked by this process, under
 * a path no other user can rename), read back and compared byte for byte with the jar's copy, and only then loaded. An anonymous
 * file ({@code memfd_create}) would need native code before the native library is loaded, and
 * {@code System.load} resolves {@code /proc/self/fd/N} to the memfd's name, which cannot be opened.
 *
 * <p>The file stays while the JVM runs (the kernel attaches uprobes to the library by its path, and the symbolizer
 * reads it) and is deleted at exit; a directory left by a JVM that was killed is deleted by the next start of the
 * same user once that JVM's pid is gone. The directories are made in {@code java.io.tmpdir/memleak4j-UID}, the
 * user's own (mode 0700), which that start lists instead of all of the temporary directory.
 */
public final class NativeLibraryLoader {
    static final String RESOURCE = "/native/linux-x86_64/libmemleak4j.so";
    static final String DIRECTORY_PREFIX = "memleak4j-lib-";
    /** This user's directory under java.io.tmpdir, for the library's directories: the uid follows. */
    static final String USER_DIRECTORY_PREFIX = "memleak4j-";
    private static final String FILE_NAME = "libmemleak4j.so";
    private static Path loadedFrom;
    private static boolean loaded;

    private NativeLibraryLoader() {}

    /** Loads libmemleak4j.so once; throws IllegalStateException saying what was tried when it cannot. */
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
                deleteAtExit(extracted.getParent());
                return;
            }
            if (extracted == null) {
                tried.add("jar resource " + RESOURCE + ": not in the agent jar");
            } else {
                SafeFiles.deletePrivateDirectory(extracted.getParent());
            }
        } catch (IOException | RuntimeException e) {
            tried.add("extracting " + RESOURCE + ": " + e.getMessage());
        }
        try {
            System.loadLibrary("memleak4j");
            loaded = true;
            return;
        } catch (UnsatisfiedLinkError e) {
            tried.add("java.library.path: " + e.getMessage());
        }
        throw new IllegalStateException("cannot load libmemleak4j.so for " + System.getProperty("os.name") + "/"
                + System.getProperty("os.arch") + "; tried: " + String.join("; ", tried));
    }

    /**
     * The path of one of the running JDK's own native libraries ({@code java.home/lib/FILE}), which
     * native/src/jdk_library.c opens for the diagnostic command and the JVM figures.
     */
    static String jdkLibrary(String file) {
        return Paths.get(System.getProperty("java.home"), "lib", file).toString();
    }

    /** The file the library was loaded from, or null when it came from {@code java.library.path} or is not loaded. */
    public static synchronized Path loadedFrom() {
        return loadedFrom;
    }

    private static boolean tryLoad(Path path, List<String> tried) {
        try {
            System.load(path.toAbsolutePath().toString());
            loaded = true;
            loadedFrom = path.toAbsolutePath();
            return true;
        } catch (UnsatisfiedLinkError e) {
            tried.add(path + ": " + e.getMessage());
            return false;
        }
    }

    /** Writes the jar's library into a new private directory and returns its path, or null if the jar has none. */
    static Path extractFromJar() throws IOException {
        byte[] content = AgentJar.read(RESOURCE.substring(1));
        if (content == null) {
            return null;
        }
        Path parent = libraryParent(SafeFiles.temporaryDirectory());
        deleteDirectoriesOfEndedProcesses(parent);
        Path dir = SafeFiles.createPrivateDirectory(parent, DIRECTORY_PREFIX);
        try {
            Path library = dir.resolve(FILE_NAME);
            try (OutputStream out = Files.newOutputStream(library, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                out.write(content);
            }
            Files.setPosixFilePermissions(library, PosixFilePermissions.fromString("r-x------"));
            if (!Arrays.equals(Files.readAllBytes(library), content)) {
                throw new IOException(library + " does not hold the bytes just written to it");
            }
            return library;
        } catch (IOException | RuntimeException e) {
            SafeFiles.deletePrivateDirectory(dir);
            throw e;
        }
    }

    /**
     * Where the library's directory is made: this user's own directory in {@code tmp} ({@link SafeFiles#userDirectory}),
     * so that looking for the directories of ended JVMs lists only that one, not every entry of a shared /tmp (which
     * took thousands of reads and JIT compilations at each start); {@code tmp} itself when that directory cannot be
     * had (another user made it, or put a link there), the directories then side by side with everybody's files.
     */
    static Path libraryParent(Path tmp) {
        try {
            return SafeFiles.userDirectory(tmp, USER_DIRECTORY_PREFIX + SafeFiles.currentUid());
        } catch (IOException | RuntimeException e) {
            return tmp;
        }
    }

    /**
     * Deletes our user's library directories whose JVM has ended (killed before its exit hook ran), so they do not pile
     * up. Only directories that are still ours and private are touched, never through a link.
     */
    static void deleteDirectoriesOfEndedProcesses(Path parent) {
        // The prefix compared here, not as a glob: a glob compiles to a regular expression, which would bring
        // java.util.regex into the application's JVM for good.
        try (var entries = Files.newDirectoryStream(parent)) {
            for (Path dir : entries) {
                String name = dir.getFileName().toString();
                if (!name.startsWith(DIRECTORY_PREFIX)) {
                    continue;
                }
                try {
                    String rest = name.substring(DIRECTORY_PREFIX.length());
                    long pid = Long.parseLong(rest.substring(0, rest.indexOf('-')));
                    if (SafeFiles.isPrivate(dir) && !SafeFiles.processExists(pid)) {
                        SafeFiles.deletePrivateDirectory(dir);
                    }
                } catch (IOException | RuntimeException e) {
                    // Not one of ours, or gone meanwhile.
                }
            }
        } catch (IOException | RuntimeException e) {
            // Leftovers cost disk space only; loading goes on.
        }
    }

    private static void deleteAtExit(Path dir) {
        try {
            Runtime.getRuntime().addShutdownHook(new Cleanup(dir));
        } catch (IllegalStateException e) {
            // The JVM is already exiting.
        }
    }

    /** The exit hook that deletes the library's directory (a class, not a lambda: no hidden class kept for it). */
    private static final class Cleanup extends Thread {
        private final Path dir;

        Cleanup(Path dir) {
            super("memleak4j-library-cleanup");
            this.dir = dir;
        }

        @Override
        public void run() {
            try {
                SafeFiles.deletePrivateDirectory(dir);
            } catch (IOException e) {
                // The next start deletes it.
            }
        }
    }
}
