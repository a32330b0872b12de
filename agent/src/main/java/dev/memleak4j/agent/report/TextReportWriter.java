package dev.memleak4j.agent.report;

import dev.memleak4j.agent.files.SafeFiles;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Prints each snapshot as a memleak-style report, to stderr or to {@code output=FILE}, a new file that replaces what
 * was there (see {@link SafeFiles#replaceWithStream}).
 */
public final class TextReportWriter implements AutoCloseable {
    private final PrintStream out;

    /** @param output the file to write to, or null for stderr */
    public TextReportWriter(Path output) throws IOException {
        if (output == null) {
            out = System.err;
        } else {
            Path parent = output.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            out = new PrintStream(SafeFiles.replaceWithStream(output), true, StandardCharsets.UTF_8);
        }
    }

    /** @param losses what the agent itself lost by the time of the snapshot */
    public void write(Snapshot snapshot, AgentLosses losses) {
        String text = TextReport.format(snapshot, losses);
        synchronized (out) {
            out.print(text);
            out.flush();
        }
    }

    @Override
    public void close() {
        if (out != System.err) {
            out.close();
        }
    }
}
