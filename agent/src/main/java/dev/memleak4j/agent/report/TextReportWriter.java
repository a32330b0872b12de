package dev.memleak4j.agent.report;

import dev.memleak4j.agent.files.SafeFiles;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Prints each snapshot as a memleak-style report, to stderr or to {@code output=FILE}, a new file that replaces what
 * was there (see {@link SafeFiles#replaceWithStream}).
 */
public final class TextReportWriter implements Consumer<Snapshot>, AutoCloseable {
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

    @Override
    public void accept(Snapshot snapshot) {
        String text = TextReport.format(snapshot);
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
