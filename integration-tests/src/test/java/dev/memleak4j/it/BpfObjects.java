package dev.memleak4j.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.stream.Stream;

/**
 * What a process holds of BPF, as anyone can read it from /proc: open fds of BPF maps, programs, links, BTF and perf
 * events (a uprobe attached through a perf event), and the BPF maps mapped into its memory (a mapping keeps its map
 * alive after the fd is closed, so counting fds alone misses it).
 */
record BpfObjects(long fds, long mappings) {
    static BpfObjects of(long pid) throws IOException {
        long fds = 0;
        try (Stream<Path> list = Files.list(Paths.get("/proc", String.valueOf(pid), "fd"))) {
            for (Path fd : (Iterable<Path>) list::iterator) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("anon_inode:bpf") || target.startsWith("anon_inode:btf")
                            || target.equals("anon_inode:[perf_event]")) {
                        fds++;
                    }
                } catch (NoSuchFileException e) {
                    // closed meanwhile
                }
            }
        }
        long mappings;
        try (Stream<String> lines = Files.lines(Paths.get("/proc", String.valueOf(pid), "maps"))) {
            mappings = lines.filter(line -> line.contains("anon_inode:bpf")).count();
        }
        return new BpfObjects(fds, mappings);
    }

    @Override
    public String toString() {
        return fds + " BPF fds, " + mappings + " BPF mappings";
    }
}
