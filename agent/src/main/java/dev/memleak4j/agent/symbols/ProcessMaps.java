package dev.memleak4j.agent.symbols;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A parsed snapshot of /proc/PID/maps with address lookup. Immutable and thread-safe. */
public final class ProcessMaps {

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
        // One String per distinct perms, device and path: a JVM maps each library four or five times and has hundreds
        // of anonymous mappings, and the snapshot stays live (every full GC marks it).
        Map<String, String> shared = new HashMap<>();
        for (String line : text.split("\n")) {
            if (!line.isEmpty()) {
                result.add(parseLine(line, shared));
            }
        }
        // The kernel lists mappings in address order; sorted only if a text does not (a lambda's first use costs).
        for (int i = 1; i < result.size(); i++) {
            if (Long.compareUnsigned(result.get(i - 1).start(), result.get(i).start()) > 0) {
                result.sort(Comparator.comparing(Mapping::start, Long::compareUnsigned));
                break;
            }
        }
        return new ProcessMaps(List.copyOf(result));
    }

    /**
     * Five fields separated by spaces, then the pathname: the kernel pads before it with a run of spaces, and whatever
     * follows is the pathname verbatim, spaces included. Scanned by hand, not with a regular expression: a JVM has
     * hundreds of mappings, read at start and by early reports, while the JVM still interprets this code (a regex
     * split took twice the CPU on a JVM's first read, and made the JIT compile the regex engine beside the application).
     */
    private static Mapping parseLine(String line, Map<String, String> shared) {
        int[] bounds = new int[2 * 5];
        int at = 0;
        for (int field = 0; field < 5; field++) {
            at = skipSpaces(line, at);
            int begin = at;
            while (at < line.length() && line.charAt(at) != ' ') {
                at++;
            }
            if (begin == at) {
                throw malformed(line, null);
            }
            bounds[2 * field] = begin;
            bounds[2 * field + 1] = at;
        }
        int dash = line.indexOf('-', bounds[0]);
        if (dash < 0 || dash >= bounds[1]) {
            throw malformed(line, null);
        }
        try {
            return new Mapping(
                    Long.parseUnsignedLong(line, bounds[0], dash, 16),
                    Long.parseUnsignedLong(line, dash + 1, bounds[1], 16),
                    shared(shared, line.substring(bounds[2], bounds[3])),
                    Long.parseUnsignedLong(line, bounds[4], bounds[5], 16),
                    shared(shared, line.substring(bounds[6], bounds[7])),
                    Long.parseLong(line, bounds[8], bounds[9], 10),
                    shared(shared, line.substring(skipSpaces(line, at))));
        } catch (NumberFormatException e) {
            throw malformed(line, e);
        }
    }

    private static String shared(Map<String, String> shared, String text) {
        String known = shared.putIfAbsent(text, text);
        return known == null ? text : known;
    }

    private static int skipSpaces(String line, int at) {
        while (at < line.length() && line.charAt(at) == ' ') {
            at++;
        }
        return at;
    }

    private static IllegalArgumentException malformed(String line, Exception cause) {
        return new IllegalArgumentException("Malformed maps line: " + line, cause);
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
