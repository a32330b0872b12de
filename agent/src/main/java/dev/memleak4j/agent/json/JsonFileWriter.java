package dev.memleak4j.agent.json;

import dev.memleak4j.agent.MemleakAgent;
import dev.memleak4j.agent.surfaces.ReportView;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * {@code json=FILE}: the latest report, replaced every interval. Written to a temporary file beside it and renamed
 * over it, so a reader sees the previous document or the next one, never half of one.
 */
public final class JsonFileWriter {
    private final Path file;
    private final Path temporary;
    private boolean failed;

    public JsonFileWriter(Path file) {
        this.file = file.toAbsolutePath();
        this.temporary = this.file.resolveSibling("." + this.file.getFileName() + ".tmp");
    }

    /** On the reporter thread. A failure prints one line (once until a write succeeds again). */
    public void write(ReportView view, MemleakAgent agent) {
        try {
            Path parent = file.getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(temporary, JsonSnapshot.toJson(view, agent), StandardCharsets.UTF_8);
            try {
                Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
            }
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
