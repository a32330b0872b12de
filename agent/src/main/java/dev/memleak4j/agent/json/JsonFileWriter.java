package dev.memleak4j.agent.json;

import dev.memleak4j.agent.outputs.ReportView;

import dev.memleak4j.agent.files.SafeFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code json=FILE}: the latest report, replaced every interval through {@link SafeFiles#replace}, so a reader sees the
 * previous document or the next one, never half of one, and a link planted beside or at the target is never followed.
 */
public final class JsonFileWriter {
    private final Path file;
    private boolean failed;

    public JsonFileWriter(Path file) {
        this.file = file.toAbsolutePath();
    }

    /** On the reporter thread. A failure prints one line (once until a write succeeds again). */
    public void write(ReportView view) {
        try {
            Path parent = file.getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            SafeFiles.replace(file, JsonSnapshot.toJson(view).getBytes(StandardCharsets.UTF_8));
            failed = false;
        } catch (IOException | RuntimeException e) {
            if (!failed) {
                System.err.println("memleak4j: cannot write " + file + ": " + e.getMessage()
                        + "; the next interval tries again");
            }
            failed = true;
        }
    }
}
