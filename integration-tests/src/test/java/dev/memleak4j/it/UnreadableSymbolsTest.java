package dev.memleak4j.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A library whose symbols cannot be read is not lost silently: its frames keep module and offset, and the report's
 * losses line (and the JSON's {@code losses}) say how many frames in how many libraries went unnamed, and why.
 */
class UnreadableSymbolsTest {
    @Test
    void framesOfALibraryWithCorruptSectionHeadersAreCountedWithTheReason() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("unreadable");
        // The dynamic loader reads program headers only: with e_shoff (at 0x28) past the end of the file the
        // library loads and runs, but its symbol table cannot be found.
        Path library = dir.resolve("libleaktest-corrupt.so");
        Files.copy(AgentRun.TEST_LIBRARY, library);
        try (FileChannel file = FileChannel.open(library, StandardOpenOption.WRITE)) {
            file.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40), 0x28);
        }
        Path json = dir.resolve("snapshot.json");
        List<String> command = new ArrayList<>(AgentRun.programCommand(AgentRun.javaBinary(), List.of(),
                "dev.memleak4j.it.programs.LeakProgram", "three-leaks", "2500"));
        command.replaceAll(word -> word.startsWith("-Dleaktest.library=") ? "-Dleaktest.library=" + library : word);
        AgentRun run = AgentRun.withAgent(dir, "interval=1,count=2,top=100,min-size=900000,json=" + json, command,
                List.of());
        assertEquals(0, run.exitCode, run.describe());

        Report report = run.lastReport();
        String module = "[unknown] [libleaktest-corrupt.so+0x";
        assertEquals(3 * 1_999_993L, report.bytesFrom(module), report.toString());
        assertEquals(3, report.countFrom(module), report.toString());

        // Each distinct address in the library is symbolized once (frames are cached): the count is theirs.
        Set<String> addresses = new TreeSet<>();
        String lastReport = run.reports.substring(run.reports.lastIndexOf("Top 100 stacks"));
        Matcher frame = Pattern.compile("\\t\\t0x([0-9a-f]{16})\\t" + Pattern.quote(module)).matcher(lastReport);
        while (frame.find()) {
            addresses.add(frame.group(1));
        }
        assertTrue(addresses.size() > 0, run.reports);
        String losses = report.otherLines.stream().filter(l -> l.startsWith("\t[memleak4j] ")).findFirst()
                .orElseThrow(() -> new AssertionError("no losses line\n" + run.reports));
        Matcher said = Pattern.compile("(\\d+) frames in (\\d+) libraries not named: (" + Pattern.quote(library.toString())
                + ": [^;]+);").matcher(losses);
        assertTrue(said.find(), losses);
        assertEquals(addresses.size(), Integer.parseInt(said.group(1)), losses + "\n" + addresses);
        assertEquals(1, Integer.parseInt(said.group(2)), losses);
        assertTrue(said.group(3).contains("corrupt"), losses);

        JsonNode lost = new ObjectMapper().readTree(Files.readString(json)).get("losses");
        assertEquals(addresses.size(), lost.get("framesNotNamed").asLong(), lost.toString());
        assertEquals(1, lost.get("librariesNotRead").asInt(), lost.toString());
        assertEquals(said.group(3), lost.get("firstLibraryError").asText(), lost.toString());
        // No JNI marks were lost in this run: the text line says none, and so does the JSON.
        assertTrue(!losses.contains("JNI calls"), losses);
        assertEquals(0, lost.get("jniBindingsDropped").asLong(), lost.toString());
        assertEquals(0, lost.get("jniCaptureFailures").asLong(), lost.toString());
    }
}
