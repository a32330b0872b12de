package dev.memleak4j.it;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * flamegraph=, pprof=, jfr-file= next to the text report, read back with readers that are not memleak4j's: the
 * page in headless Chromium and its embedded data, the profile with go tool pprof, the recording with JMC's parser
 * and the JDK's jfr. Each shows the text report's stacks, frame for frame, with the same bytes and allocations
 * (sample-bytes=0: exact), the known leak among them. The same files made by the command-line tool from the run's
 * json=FILE say the same.
 */
class OutputFormatsTest {
    static final String VIA_MALLOC = "Java_dev_memleak4j_it_programs_LeakLib_viaMalloc";
    static final long LEAKED = 3 * 1_999_993L;

    private static Path dir;
    private static AgentRun run;
    private static Report report;

    @BeforeAll
    static void runWithEveryFormat() throws Exception {
        Privileges.assumeBpf();
        dir = AgentRun.tempDir("formats");
        run = AgentRun.leakProgram(dir, "interval=1,count=2,older=0,top=100,sample-bytes=0,min-size=900000"
                + ",json=" + dir.resolve("snapshot.json") + ",flamegraph=" + dir.resolve("leak.html")
                + ",pprof=" + dir.resolve("leak.pb.gz") + ",jfr-file=" + dir.resolve("leak.jfr"),
                "three-leaks", "3500");
        assertEquals(0, run.exitCode, run.describe());
        report = run.lastReport();
        assertTrue(report.stacks.size() < 100, "top=100 must hold every stack: " + report);
        assertEquals(LEAKED, Views.bytesEndingIn(Views.fromText(report, Views::pictureKey), VIA_MALLOC),
                report.toString());
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "temporary file left");
        }
    }

    @Test
    void flameGraphHoldsTheTextReportsStacks() throws Exception {
        Views.assertSamePaths(Views.fromText(report, Views::pictureKey), Views.fromFlameGraph(dir.resolve("leak.html")),
                "the flame graph");
        JsonNode data = Views.flameGraphData(dir.resolve("leak.html"));
        assertEquals(report.stacks.size(), data.get("stackCount").asInt());
        assertFalse(data.get("estimated").asBoolean());
    }

    @Test
    void flameGraphLoadsInChromiumAndSearchFindsTheLeak() throws Exception {
        String chromium = chromium();
        Path page = dir.resolve("leak.html");
        String url = page.toUri() + "#search=" + VIA_MALLOC;
        List<String> headless = List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + dir.resolve("chromium-profile"),
                "--enable-logging=stderr", "--v=0");
        List<String> dump = new ArrayList<>(headless);
        dump.add("--dump-dom");
        dump.add(url);
        Path log = dir.resolve("chromium-dom.err");
        String dom = Views.run(dump, log);
        String console = Files.readString(log);
        assertFalse(console.contains("Uncaught") || console.contains("CONSOLE"), "the page logged:\n" + console);
        assertTrue(dom.contains("data-ready=\"true\""), "the page's script did not run to its end:\n" + dom);
        assertTrue(dom.contains("<div id=\"match-total\" data-bytes=\"" + LEAKED + "\" data-allocations=\"3\">"),
                "search did not find the leak's " + LEAKED + " bytes:\n" + dom);
        assertTrue(dom.contains("data-frame=\"" + VIA_MALLOC + " [libleaktest.so]\" data-bytes=\"" + LEAKED + "\""),
                dom);

        List<String> shot = new ArrayList<>(headless);
        Path png = dir.resolve("flamegraph.png");
        shot.add("--window-size=1400,900");
        shot.add("--screenshot=" + png);
        shot.add(url);
        Path shotLog = dir.resolve("chromium-shot.err");
        Views.run(shot, shotLog);
        assertFalse(Files.readString(shotLog).contains("Uncaught"), Files.readString(shotLog));
        assertTrue(Files.size(png) > 10_000, "screenshot " + png + " is " + Files.size(png) + " bytes");
        // Kept as the test's artifact: what a user sees.
        Path artifacts = Files.createDirectories(Paths.get("target", "artifacts"));
        Files.copy(png, artifacts.resolve("flamegraph-three-leaks.png"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(page, artifacts.resolve("flamegraph-three-leaks.html"), StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void goToolPprofReadsTheTextReportsStacks() throws Exception {
        Views.assertSamePaths(Views.fromText(report, Views.TextFrame::function),
                Views.fromPprof(dir.resolve("leak.pb.gz"), dir), "go tool pprof -raw");
        String top = Views.run(List.of(Views.go(), "tool", "pprof", "-top", "-sample_index=inuse_space",
                dir.resolve("leak.pb.gz").toString()), dir.resolve("pprof-top.err"));
        assertTrue(top.contains("Type: inuse_space") && top.contains(VIA_MALLOC), top);
    }

    @Test
    void missionControlReadsTheTextReportsStacksWithFrameTypes() throws Exception {
        Views.assertSamePaths(Views.fromText(report, Views::jmcKey), Views.fromJfr(dir.resolve("leak.jfr")),
                "JMC's parser");
        String summary = LiveProgram.tool("jfr", "summary", dir.resolve("leak.jfr").toString());
        assertTrue(summary.matches("(?s).*memleak4j\\.NativeMemoryStack\\s+" + report.stacks.size() + "\\s.*"),
                summary);
        // The JDK's own parser reads the events and their stack traces too.
        String printed = LiveProgram.tool("jfr", "print", "--events", "memleak4j.NativeMemoryStack",
                dir.resolve("leak.jfr").toString());
        assertTrue(printed.contains("allocations = 3") && printed.contains("libleaktest.so." + VIA_MALLOC + "()"),
                printed);
    }

    @Test
    void commandLineMakesTheSameFromTheJsonSnapshot() throws Exception {
        Path json = dir.resolve("snapshot.json");
        Map<List<String>, List<Long>> expected = Views.fromText(report, Views::pictureKey);
        Path html = dir.resolve("cli.html");
        cli("flamegraph", json.toString(), html.toString());
        Views.assertSamePaths(expected, Views.fromFlameGraph(html), "the flame graph from " + json);
        Path pprof = dir.resolve("cli.pb.gz");
        cli("pprof", json.toString(), pprof.toString());
        Views.assertSamePaths(Views.fromText(report, Views.TextFrame::function), Views.fromPprof(pprof, dir),
                "the pprof profile from " + json);
        Path jfr = dir.resolve("cli.jfr");
        cli("jfr", json.toString(), jfr.toString());
        Views.assertSamePaths(Views.fromText(report, Views::jmcKey), Views.fromJfr(jfr), "the JFR file from " + json);
    }

    @Test
    void commandLineMeasuresWhatWritingAViewCosts() throws Exception {
        // The bench's views row runs this; the agent's classes come from the jar's class pack, so it is a command of
        // the jar, not a class on a class path.
        AttachDetachTest.Cli cost = AttachDetachTest.cli("views-cost", "64", "flamegraph", "pprof");
        assertEquals(0, cost.exitCode(), cost.describe());
        List<String> lines = cost.stdout().lines().toList();
        assertEquals(2, lines.size(), cost.describe());
        assertTrue(lines.get(0).matches("flame graph of 64 stacks x 25 frames: \\d+ KiB; first write \\d+ ms of CPU, "
                + "then \\d+ ms \\(writing thread\\) / \\d+ ms \\(process\\) each"), cost.describe());
        assertTrue(lines.get(1).startsWith("pprof of 64 stacks x 25 frames: "), cost.describe());

        AttachDetachTest.Cli wrong = AttachDetachTest.cli("views-cost", "64", "svg");
        assertEquals(2, wrong.exitCode(), wrong.describe());
        assertEquals("memleak4j: views-cost: unknown format svg, known: [flamegraph, pprof, jfr]; usage: views-cost "
                + "[STACKS [flamegraph|pprof|jfr ...]]\n", wrong.stderr());
    }

    static AttachDetachTest.Cli cli(String... args) throws Exception {
        AttachDetachTest.Cli cli = AttachDetachTest.cli(args);
        assertEquals(0, cli.exitCode(), cli.describe());
        assertTrue(cli.stdout().startsWith("memleak4j: wrote "), cli.describe());
        return cli;
    }

    static String chromium() {
        for (String candidate : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser")) {
            if (Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        fail("Chromium is needed to load the flame graph: scripts/install-toolchain.sh installs it");
        return null;
    }
}
