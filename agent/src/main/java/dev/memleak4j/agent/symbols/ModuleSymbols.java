package dev.memleak4j.agent.symbols;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What symbolization needs from one mapped ELF file: how runtime addresses become link-time
 * addresses (read here, from its headers), and its function symbols (a native {@link ElfSymbolIndex}). Read once,
 * kept after the file is closed; immutable.
 */
final class ModuleSymbols {

    /** For files that cannot be used: unreadable, vanished, replaced, or not ELF. */
    static final ModuleSymbols UNAVAILABLE = new ModuleSymbols(false, null, null);

    /** ET_EXEC: loaded at its link-time addresses, so runtime address and vaddr coincide. */
    private final boolean fixedAddress;
    private final LoadSegments segments;
    private final ElfSymbolIndex table;

    private ModuleSymbols(boolean fixedAddress, LoadSegments segments, ElfSymbolIndex table) {
        this.fixedAddress = fixedAddress;
        this.segments = segments;
        this.table = table;
    }

    /**
     * Reads the file at {@code path}. Never throws: a broken or hostile file must only cost its
     * symbols, never the caller's stack trace.
     */
    static ModuleSymbols load(String path) {
        try {
            Path file = Path.of(path);
            // Only regular files: opening a mapped device node could have side effects.
            if (!Files.isRegularFile(file)) {
                return UNAVAILABLE;
            }
            try (ElfFile elf = ElfFile.open(file)) {
                return new ModuleSymbols(elf.type() == ElfFile.ET_EXEC, elf.loadSegments(),
                        ElfSymbolIndex.load(path));
            }
        } catch (IOException | RuntimeException | LinkageError e) {
            // RuntimeException too: a corrupt file can surface as an index or arithmetic error; LinkageError when
            // the native library is missing (then no file has symbols, and frames keep their module and offset).
            return UNAVAILABLE;
        }
    }

    /** The function containing runtime {@code address}, which lies in {@code mapping} of this file. */
    Optional<ElfSymbolIndex.Match> lookup(Mapping mapping, long address) {
        if (table == null) {
            return Optional.empty();
        }
        OptionalLong vaddr = fixedAddress
                ? OptionalLong.of(address)
                : segments.vaddrOfFileOffset(mapping.fileOffsetOf(address));
        return vaddr.isPresent() ? table.lookup(vaddr.getAsLong()) : Optional.empty();
    }
}
