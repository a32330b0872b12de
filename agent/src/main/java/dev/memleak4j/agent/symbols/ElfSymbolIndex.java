package dev.memleak4j.agent.symbols;

import dev.memleak4j.agent.nativelib.NativeLibraryLoader;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Address-to-function index over one ELF file's function symbols, built and held in native memory
 * ({@code native/src/elf_symbols.c}, which documents which of several names for one address is shown).
 *
 * <p>Why native: the first report names libjvm.so's frames, and building its index (tens of thousands of functions)
 * in Java ran as cold code beside the application, with the interpreter, class loading and JIT compiles it brought;
 * the C build costs a fraction of that (docs/benchmarks.md, "Figures behind design choices"). The index also stays
 * out of the Java heap, which the application's full collections would otherwise move.
 *
 * <p>An index is never freed: {@link NativeSymbolizer} keeps one per file for the life of the process (a file's
 * symbols do not change), so no lookup can race with a free. Immutable; lookups on several threads at once.
 */
final class ElfSymbolIndex {
    /** Longs per function of {@link #functions0}, and the flags in the last one (elf_symbols.h ELF_FUNCTION_*). */
    private static final int FUNCTION_WORDS = 4;
    private static final int LOCAL = 1;
    private static final int HIDDEN_VERSION = 2;
    private static final int DYNAMIC = 4;
    private static final int IFUNC = 8;

    private final long handle;

    /** A symbol that contains a looked-up address. */
    record Match(String name, long start, long offset) {
    }

    private ElfSymbolIndex(long handle) {
        this.handle = handle;
    }

    /**
     * Reads the symbols of the ELF file at {@code path}; throws when it is unreadable or not 64-bit ELF, and
     * {@link LinkageError} or {@link IllegalStateException} when the native library does not load.
     */
    static ElfSymbolIndex load(String path) throws IOException {
        NativeLibraryLoader.load();
        return new ElfSymbolIndex(load0(path.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * The function symbols of the ELF file at {@code path} in reading order ({@code .dynsym} first), each
     * (name, address) once, as {@code native/src/elf_symbols.h} defines them; throws like {@link #load}.
     */
    static List<ElfSymbol> functions(Path path) throws IOException {
        NativeLibraryLoader.load();
        Object[] listing = functions0(path.toString().getBytes(StandardCharsets.UTF_8));
        long[] words = (long[]) listing[0];
        byte[] names = (byte[]) listing[1];
        List<ElfSymbol> functions = new ArrayList<>(words.length / FUNCTION_WORDS);
        int nameStart = 0;
        for (int i = 0; i < words.length; i += FUNCTION_WORDS) {
            int flags = (int) words[i + 3];
            int nameLength = (int) (words[i + 3] >>> 32);
            String name = new String(names, nameStart, nameLength, StandardCharsets.UTF_8);
            nameStart += nameLength;
            functions.add(new ElfSymbol(name, words[i], words[i + 1], (flags & LOCAL) != 0, (flags & DYNAMIC) != 0,
                    (flags & HIDDEN_VERSION) != 0, (flags & IFUNC) != 0, words[i + 2]));
        }
        return functions;
    }

    /** Number of distinct symbol addresses. */
    int size() {
        return size0(handle);
    }

    /** The symbol whose extent contains {@code vaddr} (a link-time virtual address), if any. */
    Optional<Match> lookup(long vaddr) {
        long[] start = new long[1];
        byte[] name = lookup0(handle, vaddr, start);
        if (name == null) {
            return Optional.empty();
        }
        return Optional.of(new Match(new String(name, StandardCharsets.UTF_8), start[0], vaddr - start[0]));
    }

    private static native long load0(byte[] path) throws IOException;

    private static native byte[] lookup0(long handle, long vaddr, long[] start);

    private static native int size0(long handle);

    /** {long[] words, byte[] names}: see native/src/elf_symbols_jni.c. */
    private static native Object[] functions0(byte[] path) throws IOException;
}
