package dev.memleak4j.agent.nativelib;

import dev.memleak4j.agent.files.SafeFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class NativeLibraryLoaderTest {
    @TempDir
    Path parent;

    @Test
    void onlyOurOwnPrivateDirectoriesOfEndedProcessesAreDeleted() throws Exception {
        Process ended = new ProcessBuilder("true").start();
        ended.waitFor();
        long deadPid = ended.pid();
        long livePid = ProcessHandle.current().pid();

        Path leftover = privateDirectory(NativeLibraryLoader.DIRECTORY_PREFIX + deadPid + "-1");
        Files.writeString(leftover.resolve("libmemleak4j.so"), "x");
        Path running = privateDirectory(NativeLibraryLoader.DIRECTORY_PREFIX + livePid + "-2");
        Path notPrivate = Files.createDirectory(parent.resolve(NativeLibraryLoader.DIRECTORY_PREFIX + deadPid + "-3"));
        Files.setPosixFilePermissions(notPrivate, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path target = privateDirectory("elsewhere");
        Files.writeString(target.resolve("keep"), "x");
        Path link = Files.createSymbolicLink(parent.resolve(NativeLibraryLoader.DIRECTORY_PREFIX + deadPid + "-4"),
                target);
        Path notANumber = privateDirectory(NativeLibraryLoader.DIRECTORY_PREFIX + "x-5");

        NativeLibraryLoader.deleteDirectoriesOfEndedProcesses(parent);

        assertFalse(Files.exists(leftover, LinkOption.NOFOLLOW_LINKS), "the ended JVM's directory is deleted");
        assertTrue(Files.isDirectory(running), "a running JVM's directory stays");
        assertTrue(Files.isDirectory(notPrivate), "a directory that is not private was not made by the agent");
        assertTrue(Files.isSymbolicLink(link) && Files.exists(target.resolve("keep")), "links are not followed");
        assertTrue(Files.isDirectory(notANumber));
    }

    @Test
    void aDirectoryOfAnotherUserIsLeftAlone() throws Exception {
        assumeTrue(SafeFiles.currentUid() == 0, "skipped: giving a directory to another user needs root");
        Process ended = new ProcessBuilder("true").start();
        ended.waitFor();
        Path theirs = privateDirectory(NativeLibraryLoader.DIRECTORY_PREFIX + ended.pid() + "-1");
        Files.setAttribute(theirs, "unix:uid", 65534);
        NativeLibraryLoader.deleteDirectoriesOfEndedProcesses(parent);
        assertTrue(Files.isDirectory(theirs));
    }

    @Test
    void theLibrarysDirectoriesGoInTheUsersOwnDirectoryUnlessItIsNotPrivate() throws Exception {
        Path own = parent.toRealPath().resolve(NativeLibraryLoader.USER_DIRECTORY_PREFIX + SafeFiles.currentUid());
        assertEquals(own, NativeLibraryLoader.libraryParent(parent));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(own,
                LinkOption.NOFOLLOW_LINKS)));

        Files.setPosixFilePermissions(own, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertEquals(parent, NativeLibraryLoader.libraryParent(parent), "not private: the parent itself is used");
        Files.delete(own);
        Path target = privateDirectory("elsewhere");
        Files.createSymbolicLink(own, target);
        assertEquals(parent, NativeLibraryLoader.libraryParent(parent), "a link there is not followed");
    }

    private Path privateDirectory(String name) throws Exception {
        Path dir = Files.createDirectory(parent.resolve(name));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        return dir;
    }
}
