package dev.memleak4j.agent.files;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;

/**
 * The only way the agent creates files. It runs as root (or with CAP_BPF + CAP_PERFMON), usually in a process whose
 * {@code java.io.tmpdir} and output directories other users can write to, so every file it creates must be one that
 * no other user placed, redirected or can change afterwards:
 * <ul>
 *   <li>files are first created <em>exclusively</em> ({@code O_CREAT|O_EXCL}, which never follows a symbolic link)
 *       under an unpredictable name beside their target, then renamed over it; a rename replaces a link planted at
 *       the target's name instead of writing through it;</li>
 *   <li>a replaced file keeps the target's permissions without group or world write; a new one gets 0644;</li>
 *   <li>files that something else later opens by name (the native library, the compiler directives) live in a
 *       {@linkplain #createPrivateDirectory private directory}: made by us with mode 0700, checked for owner and
 *       mode without following links, under a path that no other user can rename.</li>
 * </ul>
 */
public final class SafeFiles {
    /**
     * Unpredictable names come from the kernel's random source directly: what {@code SecureRandom} reads on Linux,
     * without the security providers it initializes and keeps in the application's JVM for good (docs/benchmarks.md,
     * "The agent's weight").
     */
    private static final Path RANDOM_SOURCE = Paths.get("/dev/urandom");
    private static final Set<PosixFilePermission> NEW_FILE = PosixFilePermissions.fromString("rw-r--r--");
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_DIRECTORY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    private static final int S_ISVTX = 01000;
    private static final int GROUP_OR_WORLD_WRITE = 0022;

    private SafeFiles() {}

    /** Replaces {@code target} with {@code content} in one rename: a reader sees the old file or the new one. */
    public static void replace(Path target, byte[] content) throws IOException {
        Path temporary = createExclusiveSibling(target);
        try {
            try (OutputStream out = Files.newOutputStream(temporary, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS)) {
                out.write(content);
            }
            renameOver(temporary, target);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /**
     * A new, empty file that has replaced {@code target}, open for writing: for outputs that grow while the agent
     * runs ({@code output=}). The stream writes to the file this method created, whatever is renamed in later.
     */
    public static OutputStream replaceWithStream(Path target) throws IOException {
        Path temporary = createExclusiveSibling(target);
        OutputStream out = null;
        try {
            out = Files.newOutputStream(temporary, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            renameOver(temporary, target);
            return out;
        } catch (IOException | RuntimeException e) {
            if (out != null) {
                out.close();
            }
            Files.deleteIfExists(temporary);
            throw e;
        }
    }

    /**
     * This process's id as /proc names it (the link /proc/self), which {@link #processExists} then looks up the same
     * way; {@code ProcessHandle} only when /proc cannot say: its class initialization makes the process reaper's
     * executor, whose classes would stay in the application's JVM for good (the native library, with getpid, is not
     * loaded yet when the first private directory is made).
     */
    public static long ownProcessId() {
        try {
            return Long.parseLong(Files.readSymbolicLink(Paths.get("/proc/self")).toString());
        } catch (IOException | RuntimeException e) {
            return ProcessHandle.current().pid();
        }
    }

    /** Whether a process with this id runs (or is a zombie): its /proc entry exists, as ProcessHandle.of reads it. */
    public static boolean processExists(long pid) {
        return Files.exists(Paths.get("/proc", Long.toString(pid), "stat"), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Makes a new directory {@code <tmpdir>/<prefix><pid>-<random>} with mode 0700 and checks, without following
     * links, that it is a directory owned by this process's user with exactly that mode, and that no other user can
     * rename it or any directory above it (each is owned by root or by us, and not writable by others unless sticky).
     * What is written inside can then only be changed by our own user.
     */
    public static Path createPrivateDirectory(Path parent, String prefix) throws IOException {
        Path base = parent.toRealPath();
        checkNoOtherUserCanRename(base);
        Path dir = createNewDirectory(base, prefix + ownProcessId() + "-");
        checkPrivate(dir, "the private directory just made");
        return dir;
    }

    /**
     * {@code <parent>/<name>}, a directory of this process's user alone (mode 0700), made unless it exists: one place
     * for the private directories of every JVM this user runs, so that finding those of ended JVMs lists this
     * directory, not all of the parent (a /tmp of thousands of entries). Checked like a private directory, without
     * following links, under a path no other user can rename; throws IOException when it is not one (another user
     * made it first, or put a link there).
     */
    public static Path userDirectory(Path parent, String name) throws IOException {
        Path base = parent.toRealPath();
        checkNoOtherUserCanRename(base);
        Path dir = base.resolve(name);
        try {
            Files.createDirectory(dir, PRIVATE_DIRECTORY);
        } catch (FileAlreadyExistsException e) {
            // made by an earlier start, or by somebody else: checked below either way
        }
        checkPrivate(dir, "a private directory of uid " + currentUid());
        return dir;
    }

    /** Throws unless {@code dir}, not followed if a link, is a directory of this process's user with mode 0700. */
    private static void checkPrivate(Path dir, String meant) throws IOException {
        String problem = privateProblem(dir);
        if (problem != null) {
            throw new IOException(dir + " is not " + meant + " (" + problem + ")");
        }
    }

    /** Whether {@code dir}, not followed if a link, is a directory of this process's user with mode 0700. */
    public static boolean isPrivate(Path dir) throws IOException {
        return privateProblem(dir) == null;
    }

    /** Null when {@code dir} is private (see {@link #isPrivate}), else its owner and mode. */
    private static String privateProblem(Path dir) throws IOException {
        Map<String, Object> attributes = Files.readAttributes(dir, "unix:uid,mode,isDirectory",
                LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) attributes.get("mode") & 07777;
        if ((Boolean) attributes.get("isDirectory") && (Integer) attributes.get("uid") == currentUid()
                && mode == 0700) {
            return null;
        }
        return "owner uid " + attributes.get("uid") + ", mode " + Integer.toOctalString(mode);
    }

    /** A new directory {@code <parent>/<prefix><random>}, mode 0700 (mkdir fails rather than reuse one). */
    private static Path createNewDirectory(Path parent, String prefix) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return Files.createDirectory(parent.resolve(prefix + randomHex()), PRIVATE_DIRECTORY);
            } catch (FileAlreadyExistsException e) {
                if (attempt == 10) {
                    throw e;
                }
            }
        }
    }

    /** 16 hex digits from the kernel's random source. */
    private static String randomHex() throws IOException {
        byte[] random = new byte[8];
        try (InputStream in = Files.newInputStream(RANDOM_SOURCE)) {
            if (in.readNBytes(random, 0, random.length) != random.length) {
                throw new IOException(RANDOM_SOURCE + " gave fewer than " + random.length + " bytes");
            }
        }
        return HexFormat.of().formatHex(random);
    }

    /** The default parent of private directories: {@code java.io.tmpdir}. */
    public static Path temporaryDirectory() {
        return Paths.get(System.getProperty("java.io.tmpdir"));
    }

    /** Deletes a private directory made by {@link #createPrivateDirectory} and the plain files in it. */
    public static void deletePrivateDirectory(Path dir) throws IOException {
        try (var entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                Files.deleteIfExists(entry);
            }
        } catch (NoSuchFileException e) {
            return;
        }
        Files.deleteIfExists(dir);
    }

    /** The real user id of this process. */
    public static int currentUid() throws IOException {
        return (Integer) Files.getAttribute(Paths.get("/proc/self"), "unix:uid");
    }

    private static void checkNoOtherUserCanRename(Path realDirectory) throws IOException {
        int uid = currentUid();
        for (Path dir = realDirectory; dir != null; dir = dir.getParent()) {
            Map<String, Object> attributes = Files.readAttributes(dir, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
            int owner = (Integer) attributes.get("uid");
            int mode = (Integer) attributes.get("mode");
            if (owner != 0 && owner != uid) {
                throw new IOException(dir + " belongs to uid " + owner + ", who could replace what the agent puts"
                        + " under it; point java.io.tmpdir at a directory of root or of uid " + uid);
            }
            if ((mode & GROUP_OR_WORLD_WRITE) != 0 && (mode & S_ISVTX) == 0) {
                throw new IOException(dir + " is writable by other users and not sticky (mode "
                        + Integer.toOctalString(mode & 07777) + "), so they could rename what the agent puts under"
                        + " it; point java.io.tmpdir at a directory only its owner can write, or make it sticky");
            }
        }
    }

    /** An empty file created exclusively beside {@code target} under an unpredictable name. */
    private static Path createExclusiveSibling(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path parent = absolute.getParent();
        Set<PosixFilePermission> permissions = permissionsFor(absolute);
        for (int attempt = 0; ; attempt++) {
            Path temporary = parent.resolve("." + absolute.getFileName() + "." + randomHex() + ".tmp");
            try {
                Files.newByteChannel(temporary, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                        LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(permissions)).close();
                // The creation mode passes through the umask; set what was meant.
                Files.setPosixFilePermissions(temporary, permissions);
                return temporary;
            } catch (FileAlreadyExistsException e) {
                if (attempt == 10) {
                    throw e;
                }
            }
        }
    }

    /** The target's permissions without group and world write, or 0644 for a new file or one that is a link. */
    private static Set<PosixFilePermission> permissionsFor(Path target) throws IOException {
        if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
            return NEW_FILE;
        }
        Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(target, LinkOption.NOFOLLOW_LINKS);
        permissions.remove(PosixFilePermission.GROUP_WRITE);
        permissions.remove(PosixFilePermission.OTHERS_WRITE);
        permissions.add(PosixFilePermission.OWNER_WRITE);
        permissions.add(PosixFilePermission.OWNER_READ);
        return permissions;
    }

    private static void renameOver(Path source, Path target) throws IOException {
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            // Same directory, so only a file system without rename(2) gets here.
            Files.move(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
