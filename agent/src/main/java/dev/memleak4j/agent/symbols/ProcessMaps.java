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

/**
 * A parsed snapshot of /proc/PID/maps with address lookup. Immutable and thread-safe.
 *
 * <p>Kept as one array per field, with one String per distinct perms, device, path and module name, not as a
 * {@link Mapping} per line: the symbolizer keeps its snapshot from report to report, and a JVM has hundreds of
 * mappings, each of which every full GC of the application would mark and move. Mappings are made when asked for.
 */
public final class ProcessMaps {

    private final long[] starts;
    private final long[] ends;
    private final long[] offsets;
    private final long[] inodes;
    private final String[] perms;
    private final String[] devs;
    private final String[] pathnames;
    /**
     * {@link Mapping#moduleName()} of each mapping of a file, made when first asked for (frames name a handful of
     * the files a JVM maps), one String for all mappings of a file (the frames of a library share it). A race may
     * make two copies, which is harmless: a String is safely published.
     */
    private final String[] moduleNames;

    private ProcessMaps(List<Mapping> mappings) {
        int n = mappings.size();
        starts = new long[n];
        ends = new long[n];
        offsets = new long[n];
        inodes = new long[n];
        perms = new String[n];
        devs = new String[n];
        pathnames = new String[n];
        moduleNames = new String[n];
        for (int i = 0; i < n; i++) {
            Mapping mapping = mappings.get(i);
            starts[i] = mapping.start();
            ends[i] = mapping.end();
            offsets[i] = mapping.offset();
            inodes[i] = mapping.inode();
            perms[i] = mapping.perms();
            devs[i] = mapping.dev();
            pathnames[i] = mapping.pathname();
        }
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
        return new ProcessMaps(result);
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
                throw malformed(line);
            }
            bounds[2 * field] = begin;
            bounds[2 * field + 1] = at;
        }
        int dash = line.indexOf('-', bounds[0]);
        if (dash < 0 || dash >= bounds[1]) {
            throw malformed(line);
        }
        return new Mapping(
                number(line, bounds[0], dash, 16),
                number(line, dash + 1, bounds[1], 16),
                shared(shared, line.substring(bounds[2], bounds[3])),
                number(line, bounds[4], bounds[5], 16),
                shared(shared, line.substring(bounds[6], bounds[7])),
                number(line, bounds[8], bounds[9], 10),
                shared(shared, line.substring(skipSpaces(line, at))));
    }

    /**
     * The unsigned number in line[begin, end) in radix 16 (at most 16 digits) or 10 (at most 19). Parsed here rather
     * than by Long's parsers: called thousands of times at start, those would be compiled into the application's
     * code cache for good, where every full GC walks them, while this class stays interpreted (OwnCodeCompilation).
     */
    private static long number(String line, int begin, int end, int radix) {
        if (begin >= end || end - begin > (radix == 16 ? 16 : 19)) {
            throw malformed(line);
        }
        long value = 0;
        for (int i = begin; i < end; i++) {
            char c = line.charAt(i);
            int digit = c >= '0' && c <= '9' ? c - '0'
                    : radix == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : radix == 16 && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (digit < 0) {
                throw malformed(line);
            }
            value = value * radix + digit;
        }
        return value;
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

    private static IllegalArgumentException malformed(String line) {
        return new IllegalArgumentException("Malformed maps line: " + line);
    }

    /** All mappings in ascending address order (made anew at each call). */
    public List<Mapping> mappings() {
        List<Mapping> mappings = new ArrayList<>(starts.length);
        for (int i = 0; i < starts.length; i++) {
            mappings.add(mapping(i));
        }
        return List.copyOf(mappings);
    }

    /** The mapping containing {@code address}, or null when none does. */
    public Mapping find(long address) {
        int i = indexOf(address);
        return i < 0 ? null : mapping(i);
    }

    /** The index of the mapping containing {@code address} (in address order), or -1 when none does. */
    public int indexOf(long address) {
        int low = 0;
        int high = starts.length - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (Long.compareUnsigned(address, starts[mid]) < 0) {
                high = mid - 1;
            } else if (Long.compareUnsigned(address, ends[mid]) >= 0) {
                low = mid + 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    /** The mapping at {@code index} (in address order). */
    public Mapping mapping(int index) {
        return new Mapping(starts[index], ends[index], perms[index], offsets[index], devs[index], inodes[index],
                pathnames[index]);
    }

    /**
     * {@link Mapping#moduleName()} of the mapping at {@code index}: the same String for every mapping of a file, and
     * in every call, so the frames that name it share one.
     */
    public String moduleName(int index) {
        String path = pathnames[index];
        if (!path.startsWith("/")) {
            return path.isEmpty() ? null : path; // a pseudo name is the module's name
        }
        String name = moduleNames[index];
        if (name == null) {
            for (int i = 0; i < pathnames.length && name == null; i++) {
                if (pathnames[i] == path) { // one String per distinct path (parse)
                    name = moduleNames[i];
                }
            }
            if (name == null) {
                name = mapping(index).moduleName();
            }
            moduleNames[index] = name;
        }
        return name;
    }
}
