package dev.memleak4j.agent.files;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SafeFilesTest {
    @TempDir
    Path dir;

    @Test
    void replaceWritesTheContentAsANew0644File() throws IOException {
        Path target = dir.resolve("report.json");
        SafeFiles.replace(target, "{\"a\":1}".getBytes(StandardCharsets.UTF_8));
        assertEquals("{\"a\":1}", Files.readString(target));
        assertEquals("rw-r--r--", permissions(target));
        assertEquals(List.of("report.json"), names(dir), "no temporary file is left beside it");
    }

    @Test
    void replaceKeepsTheTargetsPermissionsButNeverGroupOrWorldWrite() throws IOException {
        Path restricted = dir.resolve("restricted.json");
        Files.writeString(restricted, "old");
        Files.setPosixFilePermissions(restricted, PosixFilePermissions.fromString("rw-r-----"));
        SafeFiles.replace(restricted, "new".getBytes(StandardCharsets.UTF_8));
        assertEquals("new", Files.readString(restricted));
        assertEquals("rw-r-----", permissions(restricted));

        Path open = dir.resolve("open.json");
        Files.writeString(open, "old");
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-rw-rw-"));
        SafeFiles.replace(open, "new".getBytes(StandardCharsets.UTF_8));
        assertEquals("rw-r--r--", permissions(open));
    }

    @Test
    void aLinkAtTheTargetIsReplacedAndWhatItPointsToIsUntouched() throws IOException {
        Path victim = dir.resolve("victim");
        Files.writeString(victim, "precious");
        Path target = dir.resolve("out.json");
        Files.createSymbolicLink(target, victim);
        SafeFiles.replace(target, "report".getBytes(StandardCharsets.UTF_8));
        assertEquals("precious", Files.readString(victim));
        assertFalse(Files.isSymbolicLink(target));
        assertEquals("report", Files.readString(target));

        Path streamTarget = dir.resolve("out.txt");
        Files.createSymbolicLink(streamTarget, victim);
        try (OutputStream out = SafeFiles.replaceWithStream(streamTarget)) {
            out.write("line\n".getBytes(StandardCharsets.UTF_8));
        }
        assertEquals("precious", Files.readString(victim));
        assertEquals("line\n", Files.readString(streamTarget));
    }

    @Test
    void theStreamKeepsWritingToTheFileItCreated() throws IOException {
        Path target = dir.resolve("report.txt");
        Files.writeString(target, "an earlier run's report, to be replaced\n");
        try (OutputStream out = SafeFiles.replaceWithStream(target)) {
            out.write("first\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            assertEquals("first\n", Files.readString(target));
            out.write("second\n".getBytes(StandardCharsets.UTF_8));
        }
        assertEquals("first\nsecond\n", Files.readString(target));
        assertEquals(List.of("report.txt"), names(dir));
    }

    @Test
    void aPrivateDirectoryIsNewOwnedByUsAndMode0700() throws IOException {
        Path first = SafeFiles.createPrivateDirectory(dir, "memleak4j-test-");
        Path second = SafeFiles.createPrivateDirectory(dir, "memleak4j-test-");
        assertFalse(first.equals(second), "each call makes a new directory");
        for (Path made : List.of(first, second)) {
            assertEquals("rwx------", permissions(made));
            assertEquals(SafeFiles.currentUid(), Files.getAttribute(made, "unix:uid", LinkOption.NOFOLLOW_LINKS));
            assertTrue(made.getFileName().toString().startsWith("memleak4j-test-" + ProcessHandle.current().pid() + "-"));
        }
        Files.writeString(first.resolve("file"), "x");
        SafeFiles.deletePrivateDirectory(first);
        assertFalse(Files.exists(first));
    }

    @Test
    void aParentOthersCanWriteIsRefusedUnlessSticky() throws IOException {
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        IOException refused = assertThrows(IOException.class,
                () -> SafeFiles.createPrivateDirectory(shared, "memleak4j-test-"));
        assertTrue(refused.getMessage().contains("writable by other users and not sticky"), refused.getMessage());
        assertEquals(List.of(), names(shared), "nothing was made there");

        Files.setAttribute(shared, "unix:mode", 01777);
        Path made = SafeFiles.createPrivateDirectory(shared, "memleak4j-test-");
        assertEquals(shared.toRealPath(), made.getParent());
    }

    @Test
    void aParentOfAnotherUserIsRefused() throws Exception {
        assumeTrue(SafeFiles.currentUid() == 0, "skipped: giving a directory to another user needs root");
        Path theirs = Files.createDirectory(dir.resolve("theirs"));
        Files.setAttribute(theirs, "unix:uid", 65534);
        IOException refused = assertThrows(IOException.class,
                () -> SafeFiles.createPrivateDirectory(theirs, "memleak4j-test-"));
        assertTrue(refused.getMessage().contains("belongs to uid 65534"), refused.getMessage());
        Path link = Files.createSymbolicLink(dir.resolve("link-to-theirs"), theirs);
        assertThrows(IOException.class, () -> SafeFiles.createPrivateDirectory(link, "memleak4j-test-"),
                "a link is followed to the directory it names, and that one is checked");
    }

    @Test
    void theUserDirectoryIsMadeOnceOwnedByUsAndMode0700() throws IOException {
        Path made = SafeFiles.userDirectory(dir, "memleak4j-test");
        assertEquals(dir.toRealPath().resolve("memleak4j-test"), made);
        assertEquals("rwx------", permissions(made));
        assertEquals(SafeFiles.currentUid(), Files.getAttribute(made, "unix:uid", LinkOption.NOFOLLOW_LINKS));
        Files.writeString(made.resolve("kept"), "x");
        assertEquals(made, SafeFiles.userDirectory(dir, "memleak4j-test"), "a second start uses the same one");
        assertTrue(Files.exists(made.resolve("kept")));
    }

    @Test
    void aUserDirectoryThatIsNotPrivateOrIsALinkIsRefused() throws IOException {
        Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
        IOException refused = assertThrows(IOException.class, () -> SafeFiles.userDirectory(dir, "open"));
        assertTrue(refused.getMessage().contains("is not a private directory of uid"), refused.getMessage());

        Path target = Files.createDirectory(dir.resolve("target"));
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwx------"));
        Files.createSymbolicLink(dir.resolve("link"), target);
        assertThrows(IOException.class, () -> SafeFiles.userDirectory(dir, "link"), "a link is not followed");

        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThrows(IOException.class, () -> SafeFiles.userDirectory(shared, "memleak4j-test"));
        assertEquals(List.of(), names(shared), "nothing was made under a parent others could rename it in");
    }

    @Test
    void aUserDirectoryOfAnotherUserIsRefused() throws Exception {
        assumeTrue(SafeFiles.currentUid() == 0, "skipped: giving a directory to another user needs root");
        Path theirs = Files.createDirectory(dir.resolve("memleak4j-test"));
        Files.setPosixFilePermissions(theirs, PosixFilePermissions.fromString("rwx------"));
        Files.setAttribute(theirs, "unix:uid", 65534);
        IOException refused = assertThrows(IOException.class, () -> SafeFiles.userDirectory(dir, "memleak4j-test"));
        assertTrue(refused.getMessage().contains("owner uid 65534"), refused.getMessage());
    }

    private static String permissions(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }
}
