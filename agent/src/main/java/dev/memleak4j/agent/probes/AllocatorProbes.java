package dev.memleak4j.agent.probes;

import dev.memleak4j.agent.bpf.BpfException;
import dev.memleak4j.agent.bpf.BpfTracker;
import dev.memleak4j.agent.symbols.ElfFile;
import dev.memleak4j.agent.symbols.ElfSymbol;
import dev.memleak4j.agent.symbols.Mapping;
import dev.memleak4j.agent.symbols.ProcessMaps;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Finds the allocator functions in the library the process really maps, decides where each probe sits, and
 * attaches them.
 *
 * <p>Placement: an allocating function gets a return probe, which the kernel must place on the function's first
 * instruction (that is where it swaps the return address). Its entry probe goes on the same instruction, so one
 * trap serves both. {@code free} has no return probe, so its entry probe goes where {@link PrologueDecoder} finds
 * an instruction the kernel emulates (glibc 2.36: the {@code je} at free+3), which saves a single-step trap per call.
 */
public final class AllocatorProbes {
    /** Where one function was probed, for the start-up log and tests. */
    public record Placement(AllocatorFunction function, String symbol, long fileOffset, int entryDelta,
                            boolean returnProbe, String note) {}

    private AllocatorProbes() {}

    /** The libc this JVM has mapped, from /proc/self/maps. */
    public static Path findLibc() throws IOException {
        for (Mapping mapping : ProcessMaps.readSelf().mappings()) {
            if (!mapping.isFile()) {
                continue;
            }
            String name = mapping.moduleName();
            if (name.equals("libc.so.6") || isVersionedLibc(name)) {
                return Paths.get(mapping.filePath());
            }
        }
        throw new BpfException("no libc found in /proc/self/maps: memleak4j probes glibc's allocator; "
                + "for another allocator give obj=PATH");
    }

    /**
     * {@code libc-2.31.so} and the like (older glibc installs). Not a regular expression: this runs for every mapping
     * of the process at start, and compiling one each time cost more than the rest of the search.
     */
    static boolean isVersionedLibc(String name) {
        if (!name.startsWith("libc-") || !name.endsWith(".so") || name.length() == "libc-.so".length()) {
            return false;
        }
        for (int i = "libc-".length(); i < name.length() - ".so".length(); i++) {
            char c = name.charAt(i);
            if (c != '.' && (c < '0' || c > '9')) {
                return false;
            }
        }
        return true;
    }

    /**
     * Attaches every function of {@code library} that exists. Throws when a required function (malloc, free) is
     * missing or cannot be probed; the others are skipped with a note.
     */
    public static List<Placement> attach(BpfTracker tracker, Path library, String prefix, Consumer<String> log)
            throws IOException {
        requireFile(library);
        List<Placement> placements = new ArrayList<>();
        Map<Long, AllocatorFunction> byAddress = new HashMap<>();
        try (ElfFile elf = ElfFile.open(library)) {
            for (AllocatorFunction function : AllocatorFunction.values()) {
                String symbol = prefix + function.symbol();
                Optional<ElfSymbol> found = find(elf, library, function, symbol, log);
                if (found.isEmpty()) {
                    continue;
                }
                long vaddr = found.get().value();
                AllocatorFunction alias = byAddress.putIfAbsent(vaddr, function);
                if (alias != null) {
                    // Two names, one function (glibc 2.36: aligned_alloc is memalign). Probing both would count
                    // every call twice.
                    log.accept(symbol + " is " + prefix + alias.symbol() + " in " + library.getFileName()
                            + "; probed once");
                    continue;
                }
                long fileOffset = elf.fileOffsetOfVaddr(vaddr);
                if (fileOffset < 0) {
                    throw new BpfException(symbol + " in " + library + " is not in a loadable segment");
                }
                Placement placement = place(elf, function, symbol, vaddr, fileOffset);
                try {
                    if (placement.returnProbe() && tracker.sessions()) {
                        // One program sees entry and return, and skips the return of calls it does not track.
                        tracker.attachSession(library.toString(), fileOffset, function.ordinal());
                    } else {
                        // Return probe first: an entry without its return would leave a stale per-thread slot, a
                        // return without its entry is merely counted.
                        if (placement.returnProbe()) {
                            tracker.attach(library.toString(), fileOffset, function.ordinal(), true);
                        }
                        tracker.attach(library.toString(), fileOffset + placement.entryDelta(), function.ordinal(), false);
                    }
                } catch (BpfException e) {
                    if (function.required()) {
                        throw e;
                    }
                    log.accept(symbol + " not probed: " + e.getMessage());
                    continue;
                }
                placements.add(placement);
            }
        }
        return placements;
    }

    /**
     * Checks that {@code library} is an allocator with {@code prefix}-ed symbols (malloc and free at least), as
     * {@link #attach} would, without attaching anything: for probe-mode=hooks, which calls the allocator's functions
     * instead of probing them. Throws with the same message {@link #attach} gives.
     */
    public static void checkAllocator(Path library, String prefix) throws IOException {
        requireFile(library);
        try (ElfFile elf = ElfFile.open(library)) {
            for (AllocatorFunction function : AllocatorFunction.values()) {
                if (function.required()) {
                    find(elf, library, function, prefix + function.symbol(), note -> { });
                }
            }
        }
    }

    private static void requireFile(Path library) {
        if (!Files.isRegularFile(library)) {
            throw new BpfException("obj=" + library + " does not exist or is not a file");
        }
    }

    /** The function's symbol, or empty (said in the log) when an optional one is missing; throws for a required one. */
    private static Optional<ElfSymbol> find(ElfFile elf, Path library, AllocatorFunction function, String symbol,
                                            Consumer<String> log) throws IOException {
        Optional<ElfSymbol> found = elf.findFunction(symbol);
        if (found.isPresent() && !found.get().ifunc()) {
            return found;
        }
        String why = found.isEmpty() ? "has no function '" + symbol + "'"
                : "defines '" + symbol + "' as an IFUNC resolver, which cannot be probed";
        if (function.required()) {
            throw new BpfException(library + " " + why + ": is it an allocator? (see obj and symbols-prefix)");
        }
        log.accept(library.getFileName() + " " + why + "; not probed");
        return Optional.empty();
    }

    private static Placement place(ElfFile elf, AllocatorFunction function, String symbol, long vaddr,
                                   long fileOffset) throws IOException {
        if (function.allocates()) {
            return new Placement(function, symbol, fileOffset, 0, true, null);
        }
        ProbePlacement chosen = PrologueDecoder.choose(readCode(elf, vaddr), function.argumentRegisters());
        return new Placement(function, symbol, fileOffset, chosen.offset(), false, chosen.reason());
    }

    /** The function's first bytes, fewer near the end of its segment. */
    private static byte[] readCode(ElfFile elf, long vaddr) throws IOException {
        for (int length = PrologueDecoder.BYTES_NEEDED; length > 0; length /= 2) {
            try {
                return elf.readAtVaddr(vaddr, length);
            } catch (IOException e) {
                // shorter
            }
        }
        return new byte[0];
    }
}
