package dev.memleak4j.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The agent runs as root, so what another local user puts in shared directories must never run or be written through:
 * a library planted where the agent used to extract its own, and links planted at or beside its output files.
 * The other user is {@code nobody}; the shared directories are made by the test (one sticky like /tmp, one not).
 */
class PlantedFilesTest {
    private static final int NOBODY = 65534;
    private static final long LEAK_BYTES = 3L * 1_999_993;
    private static final String PLANTED_SOURCE = "#include <stdio.h>\n#include <unistd.h>\n"
            + "__attribute__((constructor)) static void planted(void) {\n"
            + "    FILE *f = fopen(MARKER, \"w\");\n"
            + "    if (f) { fprintf(f, \"uid=%d\\n\", (int) getuid()); fclose(f); }\n"
            + "}\n";

    private static byte[] realLibrary;

    @BeforeAll
    static void needsRootAndBpf() throws Exception {
        Privileges.assumeBpf();
        assumeTrue((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0,
                "skipped: planting files as another user needs root");
        try (ZipFile jar = new ZipFile(AgentRun.AGENT_JAR.toFile())) {
            realLibrary = jar.getInputStream(jar.getEntry("native/linux-x86_64/libmemleak4j.so")).readAllBytes();
        }
    }

    @Test
    void aLibraryPlantedInTheOldExtractionDirectoryNeverRuns() throws Exception {
        Path dir = AgentRun.tempDir("planted-dir");
        Path tmp = sharedDirectory(dir.resolve("tmp"), 01777);
        Path marker = dir.resolve("planted-code-ran");
        Path planted = plantedDirectory(tmp.resolve("memleak4j-root"), "rwxr-xr-x", marker);
        byte[] plantedBytes = Files.readAllBytes(planted);

        assertTrackedNormally(runLeaks(dir, tmp), marker, tmp);
        assertArrayEquals(plantedBytes, Files.readAllBytes(planted), "the planted file is left as it was");
    }

    @Test
    void aLibraryPlantedBehindALinkNeverRuns() throws Exception {
        Path dir = AgentRun.tempDir("planted-link");
        Path tmp = sharedDirectory(dir.resolve("tmp"), 01777);
        Path marker = dir.resolve("planted-code-ran");
        plantedBehindLink(tmp.resolve("memleak4j-root"), dir.resolve("theirs"), marker);

        assertTrackedNormally(runLeaks(dir, tmp), marker, tmp);
    }

    /** The user's directory under tmpdir (memleak4j-0 for root), made first by another user: not used, not touched. */
    @Test
    void aUserDirectoryMadeByAnotherUserIsNotUsed() throws Exception {
        Path dir = AgentRun.tempDir("planted-user-dir");
        Path tmp = sharedDirectory(dir.resolve("tmp"), 01777);
        Path marker = dir.resolve("planted-code-ran");
        Path planted = plantedDirectory(tmp.resolve("memleak4j-0"), "rwx------", marker);

        assertTrackedNormally(runLeaks(dir, tmp), marker, tmp);
        assertOnlyPlanted(planted);
        assertEquals(NOBODY, Files.getAttribute(planted.getParent(), "unix:uid", LinkOption.NOFOLLOW_LINKS));
    }

    @Test
    void aLinkAtTheUserDirectorysNameIsNotFollowed() throws Exception {
        Path dir = AgentRun.tempDir("planted-user-link");
        Path tmp = sharedDirectory(dir.resolve("tmp"), 01777);
        Path marker = dir.resolve("planted-code-ran");
        Path planted = plantedBehindLink(tmp.resolve("memleak4j-0"), dir.resolve("theirs"), marker);

        assertTrackedNormally(runLeaks(dir, tmp), marker, tmp);
        assertOnlyPlanted(planted);
    }

    @Test
    void aTmpdirWhereOthersCouldSwapTheLibraryIsRefusedInOneLineAndTheApplicationRunsOn() throws Exception {
        Path dir = AgentRun.tempDir("planted-open-tmp");
        Path tmp = sharedDirectory(dir.resolve("tmp"), 0777);
        List<String> command = AgentRun.programCommand(AgentRun.javaBinary(), List.of("-Djava.io.tmpdir=" + tmp),
                "dev.memleak4j.it.programs.LeakProgram", "nothing", "0", "5");
        AgentRun run = AgentRun.withAgent(dir, "interval=1", command, List.of());
        assertEquals(5, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("LEAKS DONE"), run.describe());
        assertEquals(1, run.stderr.lines().count(), run.describe());
        assertTrue(run.stderr.startsWith("memleak4j: not started: ") && run.stderr.contains(tmp
                + " is writable by other users and not sticky"), run.describe());
        try (var entries = Files.list(tmp)) {
            assertEquals(0, entries.count(), "nothing was written there");
        }
    }

    @Test
    void linksPlantedAtOrBesideTheOutputsAreNotFollowedInAStickyDirectory() throws Exception {
        outputsWithPlantedLinks(01777);
    }

    @Test
    void linksPlantedAtOrBesideTheOutputsAreNotFollowedInAPlainSharedDirectory() throws Exception {
        outputsWithPlantedLinks(0777);
    }

    private static void outputsWithPlantedLinks(int mode) throws Exception {
        Path shared = sharedDirectory(AgentRun.tempDir("planted-links").resolve("shared"), mode);
        Path victim = Files.writeString(shared.resolve("victim"), "nobody's file\n");
        Files.setAttribute(victim, "unix:uid", NOBODY);
        // The names the agent used for its temporary file and its targets, and the targets themselves.
        for (String name : List.of(".snapshot.json.tmp", "snapshot.json", "report.txt")) {
            Path link = Files.createSymbolicLink(shared.resolve(name), victim);
            Files.setAttribute(link, "unix:uid", NOBODY, LinkOption.NOFOLLOW_LINKS);
        }
        Path json = shared.resolve("snapshot.json");
        AgentRun run = AgentRun.leakProgram(shared, "interval=1,count=2,sample-bytes=0,min-size=1000000,json=" + json,
                "three-leaks", "2500");
        assertEquals(0, run.exitCode, run.describe());

        assertEquals("nobody's file\n", Files.readString(victim), "the link's target is untouched");
        assertEquals(NOBODY, Files.getAttribute(victim, "unix:uid"));
        Path report = shared.resolve("report.txt");
        for (Path output : List.of(json, report)) {
            assertFalse(Files.isSymbolicLink(output), output + " is the agent's own file");
            assertEquals(0, Files.getAttribute(output, "unix:uid", LinkOption.NOFOLLOW_LINKS), output.toString());
            assertEquals("rw-r--r--", PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(output, LinkOption.NOFOLLOW_LINKS)), output.toString());
        }
        assertEquals(List.of(LEAK_BYTES + " bytes in 3 allocations"), leakLines(run.lastReport()), run.describe());
        JsonNode stacks = new ObjectMapper().readTree(Files.readString(json)).get("stacks");
        assertEquals(1, stacks.size(), stacks.toString());
        assertEquals(LEAK_BYTES, stacks.get(0).get("bytes").asLong());
        assertEquals(3, stacks.get(0).get("allocations").asLong());
        try (var entries = Files.list(shared)) {
            assertEquals(List.of(), entries.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".tmp") && !n.equals(".snapshot.json.tmp")).toList(),
                    "no temporary file left");
        }
    }

    private static AgentRun runLeaks(Path dir, Path tmpdir) throws Exception {
        List<String> command = AgentRun.programCommand(AgentRun.javaBinary(), List.of("-Djava.io.tmpdir=" + tmpdir),
                "dev.memleak4j.it.programs.LeakProgram", "three-leaks", "2500");
        return AgentRun.withAgent(dir, "interval=1,count=2,sample-bytes=0,min-size=1000000", command, List.of());
    }

    private static void assertTrackedNormally(AgentRun run, Path marker, Path tmpdir) throws IOException {
        assertFalse(Files.exists(marker), "the planted library ran: " + (Files.exists(marker)
                ? Files.readString(marker) : ""));
        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.agentLines().stream().noneMatch(l -> l.contains("not started")), run.describe());
        assertEquals(List.of(LEAK_BYTES + " bytes in 3 allocations"), leakLines(run.lastReport()), run.describe());
        try (var entries = Files.list(tmpdir)) {
            assertEquals(List.of(), entries.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("memleak4j-lib-")).toList(), "the library's directory is gone at exit");
        }
        Path own = tmpdir.resolve("memleak4j-0");
        if (Files.isDirectory(own, LinkOption.NOFOLLOW_LINKS)
                && (Integer) Files.getAttribute(own, "unix:uid", LinkOption.NOFOLLOW_LINKS) == 0) {
            try (var entries = Files.list(own)) {
                assertEquals(List.of(), entries.toList(), "the library's directory is gone at exit");
            }
        }
    }

    /** Nobody's directory {@code dir} with {@code permissions}, holding a planted library; returns the library. */
    private static Path plantedDirectory(Path dir, String permissions, Path marker) throws Exception {
        Files.createDirectory(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(permissions));
        Path planted = plantLibrary(dir, marker);
        Files.setAttribute(dir, "unix:uid", NOBODY);
        return planted;
    }

    /** Nobody's link {@code link} to nobody's shared directory {@code theirs}, holding a planted library (returned). */
    private static Path plantedBehindLink(Path link, Path theirs, Path marker) throws Exception {
        sharedDirectory(theirs, 0777);
        Path planted = plantLibrary(theirs, marker);
        Files.setAttribute(theirs, "unix:uid", NOBODY);
        Files.createSymbolicLink(link, theirs);
        Files.setAttribute(link, "unix:uid", NOBODY, LinkOption.NOFOLLOW_LINKS);
        return planted;
    }

    /** Nothing was made beside the planted library, in their directory or through a link to it. */
    private static void assertOnlyPlanted(Path planted) throws IOException {
        try (var entries = Files.list(planted.getParent())) {
            assertEquals(List.of(planted), entries.toList(), "nothing was made in their directory");
        }
    }

    private static List<String> leakLines(Report report) {
        return report.stacks.stream().map(s -> s.bytes + " bytes in " + s.count + " allocations").toList();
    }

    /** A directory like /tmp ({@code 01777}) or a plain shared one ({@code 0777}), owned by root. */
    private static Path sharedDirectory(Path path, int mode) throws IOException {
        Files.createDirectories(path);
        Files.setAttribute(path, "unix:mode", mode);
        return path;
    }

    /**
     * Writes a library whose constructor records that it ran, under the name the agent once extracted its own library
     * to (content-hashed), padded to the real library's size, and owned by nobody.
     */
    private static Path plantLibrary(Path dir, Path marker) throws Exception {
        Path source = Files.writeString(dir.getParent().resolve("planted.c"), PLANTED_SOURCE);
        String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(realLibrary));
        Path planted = dir.resolve("libmemleak4j-" + hash.substring(0, 16) + ".so");
        Process cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-DMARKER=\"" + marker + "\"", "-o",
                planted.toString(), source.toString()).inheritIO().start();
        assertTrue(cc.waitFor(60, TimeUnit.SECONDS) && cc.exitValue() == 0, "cc failed");
        long size = Files.size(planted);
        assertTrue(size <= realLibrary.length);
        try (var out = Files.newOutputStream(planted, StandardOpenOption.APPEND)) {
            out.write(new byte[(int) (realLibrary.length - size)]);
        }
        assertEquals(realLibrary.length, Files.size(planted));
        Files.setAttribute(planted, "unix:uid", NOBODY);
        return planted;
    }
}
