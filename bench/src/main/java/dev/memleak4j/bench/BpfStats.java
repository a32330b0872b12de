package dev.memleak4j.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * memleak4j's kernel-side counters in a child JVM, read from outside: the agent's per-CPU {@code stats} map (indexes
 * as in bpf/memleak.h's {@code enum stat}), found among the child's bpf-map fds and dumped with bpftool. The bench
 * reads them as the measurement window opens and closes to count the traps the agent's probes took per second.
 */
final class BpfStats {
    /** bpf/memleak.h: STAT_ALLOC_CALLS, STAT_ALLOC_SAMPLED, STAT_FREE_CALLS, STAT_FREE_TRACKED, STAT_IGNORED_CALLS. */
    static final int ALLOC_CALLS = 0;
    static final int ALLOC_SAMPLED = 1;
    static final int FREE_CALLS = 9;
    static final int FREE_TRACKED = 10;
    static final int IGNORED_CALLS = 13;

    private static final Pattern ENTRY = Pattern.compile(
            "\"formatted\":\\{\"key\":(\\d+),\"values\":\\[([^\\]]*)\\]");
    private static final Pattern VALUE = Pattern.compile("\"value\":(\\d+)");

    private final long pid;
    private long mapId = -1;
    /** Why the counters could not be read, or null. */
    String problem;

    BpfStats(long pid) {
        this.pid = pid;
    }

    /** The counters now, summed over CPUs, by index; null (and {@link #problem} set) when they cannot be read. */
    long[] read() {
        try {
            if (mapId < 0) {
                mapId = findMap();
                if (mapId < 0) {
                    problem = "no BPF map named stats among the child's fds";
                    return null;
                }
            }
            Process process = new ProcessBuilder("bpftool", "-j", "map", "dump", "id", String.valueOf(mapId))
                    .redirectErrorStream(true).start();
            String json = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (process.waitFor() != 0) {
                problem = "bpftool map dump failed: " + json.trim();
                return null;
            }
            return parse(json);
        } catch (IOException e) {
            problem = "bpftool: " + e.getMessage();
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * The traps the counters stand for. Hooks: a sampled allocation traps once (at the probe site; on the agent's
     * own threads it is counted as ignored), the free of a sampled block once. Uprobes: every allocator call traps
     * at entry (free included), and a sampled allocation once more at its return.
     */
    static long traps(long[] counters, boolean everyCall) {
        if (everyCall) {
            return counters[ALLOC_CALLS] + counters[IGNORED_CALLS] + counters[FREE_CALLS] + counters[ALLOC_SAMPLED];
        }
        return counters[ALLOC_SAMPLED] + counters[IGNORED_CALLS] + counters[FREE_TRACKED];
    }

    /** {@code bpftool -j map dump} of a per-CPU array with BTF: each key's values summed over the CPUs. */
    static long[] parse(String json) {
        long[] counters = new long[32];
        Matcher entry = ENTRY.matcher(json);
        while (entry.find()) {
            int key = Integer.parseInt(entry.group(1));
            if (key >= counters.length) {
                continue;
            }
            Matcher value = VALUE.matcher(entry.group(2));
            while (value.find()) {
                counters[key] += Long.parseLong(value.group(1));
            }
        }
        return counters;
    }

    private long findMap() throws IOException, InterruptedException {
        Path proc = Path.of("/proc", String.valueOf(pid));
        try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                long id = perCpuArrayId(proc, fd);
                if (id >= 0 && named(id, "stats")) {
                    return id;
                }
            }
        }
        return -1;
    }

    private static long perCpuArrayId(Path proc, Path fd) {
        try {
            if (!Files.readSymbolicLink(fd).toString().equals("anon_inode:bpf-map")) {
                return -1;
            }
            String info = Files.readString(proc.resolve("fdinfo").resolve(fd.getFileName()));
            Matcher type = Pattern.compile("map_type:\\s+(\\d+)").matcher(info);
            Matcher id = Pattern.compile("map_id:\\s+(\\d+)").matcher(info);
            // BPF_MAP_TYPE_PERCPU_ARRAY = 6
            return type.find() && type.group(1).equals("6") && id.find() ? Long.parseLong(id.group(1)) : -1;
        } catch (IOException e) {
            return -1;
        }
    }

    private static boolean named(long id, String name) throws IOException, InterruptedException {
        Process process = new ProcessBuilder("bpftool", "-j", "map", "show", "id", String.valueOf(id))
                .redirectErrorStream(true).start();
        String json = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return process.waitFor() == 0 && json.contains("\"name\":\"" + name + "\"");
    }
}
