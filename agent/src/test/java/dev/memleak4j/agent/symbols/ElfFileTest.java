package dev.memleak4j.agent.symbols;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ElfFileTest {

    static final Path LIBC = Path.of("/lib/x86_64-linux-gnu/libc.so.6");
    static final Path JDK17_LIBJVM = Path.of("/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so");

    private static List<String> libcDynamicSymbols;

    @BeforeAll
    static void readLibcWithNm() throws Exception {
        libcDynamicSymbols = TestSupport.run("nm", "-D", "--defined-only", LIBC.toString());
    }

    @Test
    void readsLibcHeaders() throws IOException {
        try (ElfFile libc = ElfFile.open(LIBC)) {
            assertEquals(ElfFile.ET_DYN, libc.type());
            List<LoadSegment> segments = libc.loadSegments().segments();
            assertEquals(1, segments.stream().filter(LoadSegment::isExecutable).count());
            assertEquals(0, segments.get(0).offset());
            assertEquals(0, segments.get(0).vaddr());
        }
    }

    /** Several libc functions have compat versions besides the default one, which nm marks with "@@". */
    @ParameterizedTest
    @ValueSource(strings = {"realloc", "malloc", "memcpy", "pthread_cond_wait", "sched_setaffinity"})
    void findFunctionPrefersTheDefaultVersion(String name) throws IOException {
        Optional<Long> expected = libcDynamicSymbols.stream().filter(l -> l.contains(" " + name + "@@")).findFirst()
                .map(l -> Long.parseUnsignedLong(l.substring(0, l.indexOf(' ')), 16));
        assumeTrue(expected.isPresent(), name + " has no default version in this libc");
        try (ElfFile libc = ElfFile.open(LIBC)) {
            ElfSymbol found = libc.findFunction(name).orElseThrow();
            assertEquals(expected.get(), found.value(), name);
            assertTrue(found.dynamic());
            assertFalse(found.hiddenVersion());
        }
    }

    @Test
    void keepsCompatVersionsAsHiddenSymbols() throws IOException {
        long compat = TestSupport.nmAddress(libcDynamicSymbols, " memcpy@GLIBC_2.2.5").orElseThrow();
        long current = TestSupport.nmAddress(libcDynamicSymbols, " memcpy@@GLIBC_2.14").orElseThrow();
        try (ElfFile libc = ElfFile.open(LIBC)) {
            List<ElfSymbol> memcpys = libc.functionSymbols().stream().filter(s -> s.name().equals("memcpy")).toList();
            assertEquals(2, memcpys.size());
            ElfSymbol hidden = memcpys.stream().filter(ElfSymbol::hiddenVersion).findFirst().orElseThrow();
            ElfSymbol visible = memcpys.stream().filter(s -> !s.hiddenVersion()).findFirst().orElseThrow();
            assertEquals(compat, hidden.value());
            assertEquals(current, visible.value());
            assertTrue(visible.ifunc(), "memcpy@@GLIBC_2.14 is an IFUNC resolver");
            assertFalse(hidden.ifunc());
        }
    }

    @Test
    void matchesNmOnEveryDefinedLibcFunction() throws IOException {
        // nm -D types T/t/W/w/i are code; count distinct name@address pairs, ignoring versions.
        long expected = libcDynamicSymbols.stream()
                .map(l -> l.split(" "))
                .filter(f -> f.length == 3 && "TtWwi".contains(f[1]))
                .map(f -> f[0] + " " + f[2].replaceFirst("@.*", ""))
                .distinct()
                .count();
        try (ElfFile libc = ElfFile.open(LIBC)) {
            assertEquals(expected, libc.functionSymbols().size());
        }
    }

    @Test
    void readsLibjvmSymtabIncludingLocalCppFunctions() throws Exception {
        assumeTrue(Files.isReadable(JDK17_LIBJVM), "JDK 17 libjvm.so not installed");
        List<String> nm = TestSupport.run("nm", "--defined-only", JDK17_LIBJVM.toString());
        String line = nm.stream().filter(l -> l.contains(" _ZN2os6mallocE")).findFirst().orElseThrow();
        String mangled = line.substring(line.lastIndexOf(' ') + 1);
        long expected = Long.parseUnsignedLong(line.substring(0, 16), 16);
        try (ElfFile libjvm = ElfFile.open(JDK17_LIBJVM)) {
            List<ElfSymbol> functions = libjvm.functionSymbols();
            assertTrue(functions.size() > 40_000, "symbols: " + functions.size());
            ElfSymbol osMalloc = libjvm.findFunction(mangled).orElseThrow();
            assertEquals(expected, osMalloc.value());
            assertTrue(osMalloc.size() > 0);
            assertFalse(osMalloc.dynamic(), "os::malloc is only in .symtab");
            assertEquals(mangled, SymbolTable.of(functions).lookup(expected + osMalloc.size() - 1).orElseThrow().name());
        }
    }

    @Test
    void readsBytesAtAVirtualAddress() throws IOException {
        try (ElfFile libc = ElfFile.open(LIBC); RandomAccessFile raw = new RandomAccessFile(LIBC.toFile(), "r")) {
            long vaddr = libc.findFunction("malloc").orElseThrow().value();
            long fileOffset = libc.fileOffsetOfVaddr(vaddr);
            LoadSegment text = libc.loadSegments().segments().stream().filter(LoadSegment::isExecutable).findFirst().orElseThrow();
            assertEquals(vaddr - text.vaddr() + text.offset(), fileOffset);
            byte[] expected = new byte[16];
            raw.seek(fileOffset);
            raw.readFully(expected);
            assertArrayEquals(expected, libc.readAtVaddr(vaddr, 16));
        }
    }

    @Test
    void refusesAddressesWithoutFileBytes() throws IOException {
        try (ElfFile libc = ElfFile.open(LIBC)) {
            LoadSegment last = libc.loadSegments().segments().get(libc.loadSegments().segments().size() - 1);
            assertTrue(last.memsz() > last.filesz(), "libc's data segment has a .bss");
            long bss = last.vaddr() + last.filesz();
            assertEquals(-1, libc.fileOffsetOfVaddr(bss));
            assertEquals(-1, libc.fileOffsetOfVaddr(-4096));
            assertThrows(IOException.class, () -> libc.readAtVaddr(bss - 2, 4));
            assertThrows(IllegalArgumentException.class, () -> libc.readAtVaddr(last.vaddr(), 0));
        }
    }

    @Test
    void rejectsFilesThatAreNotElf64(@TempDir Path dir) throws IOException {
        Path text = Files.writeString(dir.resolve("text.so"), "#!/bin/sh\necho this is not ELF, but long enough to hold a header\n");
        assertThrows(IOException.class, () -> ElfFile.open(text));
        Path empty = Files.createFile(dir.resolve("empty.so"));
        assertThrows(IOException.class, () -> ElfFile.open(empty));
    }

    @Test
    void rejectsTruncatedElf(@TempDir Path dir) throws IOException {
        byte[] head = Arrays.copyOf(Files.readAllBytes(LIBC), 4096);
        Path truncated = Files.write(dir.resolve("truncated.so"), head);
        assertThrows(IOException.class, () -> {
            try (ElfFile elf = ElfFile.open(truncated)) {
                elf.functionSymbols();
            }
        });
    }
}
