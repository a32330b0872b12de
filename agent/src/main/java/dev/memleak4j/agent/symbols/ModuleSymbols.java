package dev.memleak4j.agent.symbols;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What symbolization needs from one mapped ELF file: how runtime addresses become link-time
 * addresses (read here, from its headers), and its function symbols (a native {@link ElfSymbolIndex}). Read once,
 * kept after the file is closed; immutable.
 */
final class ModuleSymbols {

    /** For mappings whose file is not knowable (deleted, or no file): nothing was tried, nothing was lost. */
    static final ModuleSymbols UNAVAILABLE = new ModuleSymbols(false, null, null, null);

    /** ET_EXEC: loaded at its link-time addresses, so runtime address and vaddr coincide. */
    private final boolean fixedAddress;
    private final LoadSegments segments;
    private final ElfSymbolIndex table;
    /** Why the file could not be read (vanished, not a regular file, not ELF, corrupt); null when it was. */
    private final String error;

    private ModuleSymbols(boolean fixedAddress, LoadSegments segments, ElfSymbolIndex table, String error) {
        this.fixedAddress = fixedAddress;
        this.segments = segments;
        this.table = table;
        this.error = error;
    }

    private static ModuleSymbols unreadable(String error) {
        return new ModuleSymbols(false, null, null, error);
    }

    /**
     * Reads the file at {@code path}. Never throws: a broken or hostile file must only cost its
     * symbols, never the caller's stack trace; what went wrong is kept in {@link #error()}.
     */
    static ModuleSymbols load(String path) {
        try {
            Path file = Path.of(path);
            if (!Files.exists(file)) {
                return unreadable(path + ": no such file");
            }
            // Only regular files: opening a mapped device node could have side effects, and a device (/dev/zero)
            // has no symbols to lose.
            if (!Files.isRegularFile(file)) {
                return UNAVAILABLE;
            }
            try (ElfFile elf = ElfFile.open(file)) {
                return new ModuleSymbols(elf.type() == ElfFile.ET_EXEC, elf.loadSegments(),
                        ElfSymbolIndex.load(path), null);
            }
        } catch (IOException | RuntimeException | LinkageError e) {
            // RuntimeException too: a corrupt file can surface as an index or arithmetic error; LinkageError when
            // the native library is missing (then no file has symbols, and frames keep their module and offset).
            return unreadable(describe(path, e));
        }
    }

    private static String describe(String path, Throwable e) {
        if (e instanceof NoSuchFileException) {
            return path + ": no such file";
        }
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return path + ": " + e.getClass().getSimpleName();
        }
        return message.contains(path) ? message : path + ": " + message;
    }

    /** Why the file's symbols could not be read; null when they were, or when nothing was tried. */
    String error() {
        return error;
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
