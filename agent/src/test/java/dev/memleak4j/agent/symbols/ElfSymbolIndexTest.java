package dev.memleak4j.agent.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The native symbol index (native/src/elf_symbols.c) against the Java statement of its rules, {@link SymbolTable}. */
class ElfSymbolIndexTest {

    static Stream<Path> files() {
        return Stream.of(ElfFileTest.LIBC, ElfFileTest.JDK17_LIBJVM,
                        Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/lib/server/libjvm.so"),
                        DemoBinaries.SHARED_LIBRARY, DemoBinaries.PIE_EXECUTABLE, DemoBinaries.FIXED_EXECUTABLE,
                        DemoBinaries.ALIASES_LIBRARY)
                .filter(Files::isRegularFile);
    }

    /**
     * Every symbol's start, last byte and the byte after it are named as the reference names them: libc with its
     * aliases and compat versions, libjvm with ~57k C++ names, gcc-built files with a size-less assembly function.
     */
    @ParameterizedTest
    @MethodSource("files")
    void namesEveryAddressAsTheReferenceDoes(Path file) throws IOException {
        try (ElfFile elf = ElfFile.open(file)) {
            List<ElfSymbol> symbols = elf.functionSymbols();
            SymbolTable reference = SymbolTable.of(symbols);
            ElfSymbolIndex index = ElfSymbolIndex.load(file.toString());
            assertEquals(reference.size(), index.size());
            for (ElfSymbol s : symbols) {
                for (long vaddr : new long[] {s.value(), s.value() + Math.max(0, s.size() - 1), s.value() + s.size(),
                        s.value() - 1}) {
                    assertEquals(reference.lookup(vaddr).map(m -> new ElfSymbolIndex.Match(m.name(), m.start(), m.offset())),
                            index.lookup(vaddr), s + " at 0x" + Long.toHexString(vaddr));
                }
            }
        }
    }

    /** One group of aliases per rule; each name below loses to the expected one by that rule alone. */
    @Test
    void aliasesAreNamedByTheDocumentedRules() throws Exception {
        Path file = DemoBinaries.ALIASES_LIBRARY;
        ElfSymbolIndex index = ElfSymbolIndex.load(file.toString());
        assertEquals("thing", nameAt(index, file, "thing_local"), "exported before local, fewer underscores");
        assertEquals("_y", nameAt(index, file, "__x"), "fewer leading underscores");
        assertEquals("alpha", nameAt(index, file, "zeta"), "byte order");
        assertEquals("_exported", nameAt(index, file, "static_fn"), "exported before local, before underscores");
        // old@VER_1 is a compat version in .dynsym; its .symtab twin "old@VER_1" carries no version information and
        // would win on byte order if it were not skipped as a twin.
        assertEquals("older_but_default", nameAt(index, file, "old_impl"), "default version before compat");
        long f = DemoBinaries.nm(file, "f_impl");
        assertEquals(Optional.of(new ElfSymbolIndex.Match("f", f, 0x1f)), index.lookup(f + 0x1f),
                "the size-less exported name, with the extent of its sized local alias");
        assertEquals("older_but_default", index.lookup(f + 0x20).orElseThrow().name());
    }

    private static String nameAt(ElfSymbolIndex index, Path file, String symbol) throws Exception {
        return index.lookup(DemoBinaries.nm(file, symbol)).orElseThrow().name();
    }

    @Test
    void libcMallocIsNamedMallocAndASizelessFunctionReachesTheNextSymbol() throws Exception {
        try (ElfFile libc = ElfFile.open(ElfFileTest.LIBC)) {
            long malloc = libc.findFunction("malloc").orElseThrow().value();
            assertEquals(Optional.of(new ElfSymbolIndex.Match("malloc", malloc, 5)),
                    ElfSymbolIndex.load(ElfFileTest.LIBC.toString()).lookup(malloc + 5));
        }
        ElfSymbolIndex demo = ElfSymbolIndex.load(DemoBinaries.SHARED_LIBRARY.toString());
        long sizeless = DemoBinaries.nm(DemoBinaries.SHARED_LIBRARY, "sizeless_func");
        assertEquals(Optional.of(new ElfSymbolIndex.Match("sizeless_func", sizeless, 3)), demo.lookup(sizeless + 3));
    }

    @Test
    void aStrippedLibraryStillHasItsExportedFunctions() throws Exception {
        ElfSymbolIndex stripped = ElfSymbolIndex.load(DemoBinaries.STRIPPED_LIBRARY.toString());
        long exported = DemoBinaries.nm(DemoBinaries.SHARED_LIBRARY, "exported_entry");
        assertEquals("exported_entry", stripped.lookup(exported + 1).orElseThrow().name());
        assertEquals(Optional.empty(), stripped.lookup(DemoBinaries.nm(DemoBinaries.SHARED_LIBRARY, "local_helper")),
                "local symbols went with .symtab");
    }

    @Test
    void unusableFilesAreRefusedWithTheirPath(@TempDir Path dir) throws IOException {
        Path text = Files.writeString(dir.resolve("libtext.so"), "plain text, not an ELF file".repeat(100));
        Path empty = Files.createFile(dir.resolve("libempty.so"));
        for (Path path : List.of(text, empty, dir, dir.resolve("missing.so"), Path.of("/dev/null"))) {
            IOException e = assertThrows(IOException.class, () -> ElfSymbolIndex.load(path.toString()), path.toString());
            assertTrue(e.getMessage().startsWith(path + ": "), e.getMessage());
        }
    }

    /**
     * A mapped file may be anything: truncated and bit-flipped copies of a library load or are refused, and never
     * take the JVM down (a crash here ends the whole test run).
     */
    @Test
    void corruptFilesAreReadSafely(@TempDir Path dir) throws IOException {
        byte[] original = Files.readAllBytes(DemoBinaries.SHARED_LIBRARY);
        Random random = new Random(7);
        int loaded = 0;
        int refused = 0;
        for (int i = 0; i < 2_000; i++) {
            byte[] copy = original.clone();
            if (i % 4 == 0) {
                copy = java.util.Arrays.copyOf(copy, random.nextInt(copy.length));
            } else {
                for (int flips = 1 + random.nextInt(8); flips > 0; flips--) {
                    // Mostly where the headers and symbol tables are: the file's start and its end.
                    int at = random.nextBoolean() ? random.nextInt(Math.min(copy.length, 1024))
                            : copy.length - 1 - random.nextInt(Math.min(copy.length, 4096));
                    copy[at] = (byte) random.nextInt(256);
                }
            }
            Path file = Files.write(dir.resolve("libcorrupt" + (i % 8) + ".so"), copy);
            try {
                ElfSymbolIndex index = ElfSymbolIndex.load(file.toString());
                for (int k = 0; k < 64; k++) {
                    index.lookup(random.nextInt(0x4000));
                }
                loaded++;
            } catch (IOException e) {
                refused++;
            }
        }
        System.out.printf("corrupt copies: %d loaded, %d refused%n", loaded, refused);
        assertTrue(loaded > 0 && refused > 0, loaded + " loaded, " + refused + " refused");
    }
}
