package dev.memleak4j.agent.symbols;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;

/** A parsed snapshot of /proc/PID/maps with address lookup. Immutable and thread-safe. */
public final class ProcessMaps {

    /**
     * Five fields separated by spaces, then the pathname: the kernel pads before it with a run of
     * spaces, and whatever follows is the pathname verbatim, spaces included.
     */
    private static final Pattern FIELD_SEPARATOR = Pattern.compile(" +");

    private final List<Mapping> mappings;

    private ProcessMaps(List<Mapping> mappings) {
        this.mappings = mappings;
    }

    public static ProcessMaps readSelf() throws IOException {
        return read(Path.of("/proc/self/maps"));
    }

    public static ProcessMaps readPid(long pid) throws IOException {
        return read(Path.of("/proc", Long.toString(pid), "maps"));
    }

    private static ProcessMaps read(Path maps) throws IOException {
        // Lenient decoding: a pathname that is not valid UTF-8 must not make the whole snapshot fail.
        return parse(new String(Files.readAllBytes(maps), StandardCharsets.UTF_8));
    }

    /** Parses text in the /proc/PID/maps format; throws IllegalArgumentException on a malformed line. */
    public static ProcessMaps parse(String text) {
        List<Mapping> result = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (!line.isEmpty()) {
                result.add(parseLine(line));
            }
        }
        result.sort(Comparator.comparing(Mapping::start, Long::compareUnsigned));
        return new ProcessMaps(List.copyOf(result));
    }

    private static Mapping parseLine(String line) {
        String[] fields = FIELD_SEPARATOR.split(line, 6);
        int dash = fields[0].indexOf('-');
        if (fields.length < 5 || dash < 0) {
            throw new IllegalArgumentException("Malformed maps line: " + line);
        }
        try {
            return new Mapping(
                    Long.parseUnsignedLong(fields[0], 0, dash, 16),
                    Long.parseUnsignedLong(fields[0], dash + 1, fields[0].length(), 16),
                    fields[1],
                    Long.parseUnsignedLong(fields[2], 16),
                    fields[3],
                    Long.parseLong(fields[4]),
                    fields.length == 6 ? fields[5] : "");
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Malformed maps line: " + line, e);
        }
    }

    /** All mappings in ascending address order. */
    public List<Mapping> mappings() {
        return mappings;
    }

    /** The mapping containing {@code address}, or null when none does. */
    public Mapping find(long address) {
        int low = 0;
        int high = mappings.size() - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            Mapping m = mappings.get(mid);
            if (Long.compareUnsigned(address, m.start()) < 0) {
                high = mid - 1;
            } else if (Long.compareUnsigned(address, m.end()) >= 0) {
                low = mid + 1;
            } else {
                return m;
            }
        }
        return null;
    }
}
