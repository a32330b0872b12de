package dev.memleak4j.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Line numbers of the test programs' own sources, for checking the lines the report gives their Java frames. */
final class SourceLines {
    private static final Path PROGRAMS = Paths.get("src/test/java/dev/memleak4j/it/programs");

    private SourceLines() {}

    /** The 1-based number of the one line of {@code programs/<file>} that contains {@code code}. */
    static int of(String file, String code) {
        List<String> lines;
        try {
            lines = Files.readAllLines(PROGRAMS.resolve(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int found = -1;
        int matches = 0;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(code)) {
                found = i + 1;
                matches++;
            }
        }
        assertEquals(1, matches, "lines of " + file + " containing '" + code + "'");
        return found;
    }

    /**
     * A pattern for the report's text of a Java frame of one of {@code kinds} ("jit|inlined|interpreted"), with the
     * exact line of the source ({@code Class.method:LINE [jit]}): interpreted frames get theirs from the bytecode
     * pointer the walk from the frame anchor reads.
     */
    static String frame(String className, String method, String file, String code, String kinds) {
        List<String> alternatives = new java.util.ArrayList<>();
        for (String kind : kinds.split("\\|")) {
            alternatives.add(Pattern.quote(className + "." + method + ":" + of(file, code)) + " \\[" + kind + "\\]");
        }
        return "(" + String.join("|", alternatives) + ")";
    }
}
