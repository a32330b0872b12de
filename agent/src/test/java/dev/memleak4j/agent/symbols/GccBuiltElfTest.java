package dev.memleak4j.agent.symbols;

import static dev.memleak4j.agent.symbols.DemoBinaries.FIXED_EXECUTABLE;
import static dev.memleak4j.agent.symbols.DemoBinaries.PIE_EXECUTABLE;
import static dev.memleak4j.agent.symbols.DemoBinaries.SHARED_LIBRARY;
import static dev.memleak4j.agent.symbols.DemoBinaries.STRIPPED_LIBRARY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Symbolization by vaddr of small ELF files compiled for the test, whose layout nm tells exactly. */
class GccBuiltElfTest {

    private static Optional<String> nameAt(ElfFile elf, long vaddr) throws IOException {
        return SymbolTable.of(elf.functionSymbols()).lookup(vaddr).map(SymbolTable.Match::name);
    }

    @Test
    void sharedLibraryStaticFunctionComesFromSymtabOnly() throws Exception {
        long helper = DemoBinaries.nm(SHARED_LIBRARY, "local_helper");
        try (ElfFile elf = ElfFile.open(SHARED_LIBRARY)) {
            assertEquals(ElfFile.ET_DYN, elf.type());
            ElfSymbol symbol = elf.findFunction("local_helper").orElseThrow();
            assertEquals(helper, symbol.value());
            assertTrue(symbol.local());
            assertFalse(symbol.dynamic());
            assertTrue(elf.findFunction("exported_entry").orElseThrow().dynamic());
            assertEquals(new SymbolTable.Match("local_helper", helper, 3),
                    SymbolTable.of(elf.functionSymbols()).lookup(helper + 3).orElseThrow());
            assertEquals(0x55, elf.readAtVaddr(helper, 1)[0], "push %rbp");
        }
    }

    @Test
    void pieAndFixedExecutablesResolveTheirStaticFunction() throws Exception {
        try (ElfFile pie = ElfFile.open(PIE_EXECUTABLE); ElfFile fixed = ElfFile.open(FIXED_EXECUTABLE)) {
            assertEquals(ElfFile.ET_DYN, pie.type());
            assertEquals(ElfFile.ET_EXEC, fixed.type());
            long pieHelper = DemoBinaries.nm(PIE_EXECUTABLE, "local_helper");
            long fixedHelper = DemoBinaries.nm(FIXED_EXECUTABLE, "local_helper");
            assertTrue(fixedHelper >= 0x400000, "linked at the classic fixed base");
            assertEquals(Optional.of("local_helper"), nameAt(pie, pieHelper + 1));
            assertEquals(Optional.of("local_helper"), nameAt(fixed, fixedHelper + 1));
            assertEquals(Optional.of("main"), nameAt(fixed, DemoBinaries.nm(FIXED_EXECUTABLE, "main")));
            assertEquals(0x55, fixed.readAtVaddr(fixedHelper, 1)[0]);
        }
    }

    @Test
    void sizelessAssemblyFunctionCoversItsInstructions() throws Exception {
        long sizeless = DemoBinaries.nm(SHARED_LIBRARY, "sizeless_func");
        try (ElfFile elf = ElfFile.open(SHARED_LIBRARY)) {
            assertEquals(0, elf.findFunction("sizeless_func").orElseThrow().size());
            assertEquals(new SymbolTable.Match("sizeless_func", sizeless, 3),
                    SymbolTable.of(elf.functionSymbols()).lookup(sizeless + 3).orElseThrow());
        }
    }

    @Test
    void strippedLibraryKeepsOnlyDynamicSymbols() throws Exception {
        long helper = DemoBinaries.nm(SHARED_LIBRARY, "local_helper");
        long entry = DemoBinaries.nm(SHARED_LIBRARY, "exported_entry");
        try (ElfFile elf = ElfFile.open(STRIPPED_LIBRARY)) {
            assertEquals(Optional.empty(), elf.findFunction("local_helper"));
            assertEquals(Optional.empty(), nameAt(elf, helper + 3));
            assertEquals(Optional.of("exported_entry"), nameAt(elf, entry + 3));
            assertTrue(elf.functionSymbols().stream().allMatch(ElfSymbol::dynamic));
        }
    }
}
