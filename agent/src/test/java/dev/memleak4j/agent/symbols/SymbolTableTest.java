package dev.memleak4j.agent.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The reference statement of the naming rules ({@link SymbolTable}), rule by rule, on made-up symbols. */
class SymbolTableTest {

    private static final long TEXT_END = 0x2000;

    private static ElfSymbol global(String name, long value, long size) {
        return new ElfSymbol(name, value, size, false, true, false, false, TEXT_END);
    }

    private static ElfSymbol local(String name, long value, long size) {
        return new ElfSymbol(name, value, size, true, false, false, false, TEXT_END);
    }

    private static Optional<String> nameAt(SymbolTable table, long vaddr) {
        return table.lookup(vaddr).map(SymbolTable.Match::name);
    }

    @Test
    void findsTheSymbolContainingAnAddress() {
        SymbolTable table = SymbolTable.of(List.of(global("b", 0x1100, 0x10), global("a", 0x1000, 0x20)));
        assertEquals(new SymbolTable.Match("a", 0x1000, 0), table.lookup(0x1000).orElseThrow());
        assertEquals(new SymbolTable.Match("a", 0x1000, 0x1f), table.lookup(0x101f).orElseThrow());
        assertEquals(new SymbolTable.Match("b", 0x1100, 0xf), table.lookup(0x110f).orElseThrow());
        assertEquals(Optional.empty(), table.lookup(0xfff), "before the first symbol");
        assertEquals(Optional.empty(), table.lookup(0x1020), "in the padding after a sized symbol");
        assertEquals(Optional.empty(), table.lookup(0x1110), "after the last symbol");
    }

    @Test
    void sizelessSymbolsReachToTheNextSymbolOrTheSectionEnd() {
        SymbolTable table = SymbolTable.of(List.of(
                local("asm_entry", 0x1000, 0), global("next", 0x1800, 0x10), local("asm_tail", 0x1900, 0)));
        assertEquals(new SymbolTable.Match("asm_entry", 0x1000, 0x7ff), table.lookup(0x17ff).orElseThrow());
        assertEquals(Optional.of("next"), nameAt(table, 0x1800));
        assertEquals(new SymbolTable.Match("asm_tail", 0x1900, 0x6ff), table.lookup(TEXT_END - 1).orElseThrow());
        assertEquals(Optional.empty(), table.lookup(TEXT_END), "past the section end");
    }

    @Test
    void aliasesCollapseToThePreferredName() {
        SymbolTable table = SymbolTable.of(List.of(
                global("__libc_malloc", 0x1000, 0x40),
                global("malloc", 0x1000, 0x40),
                local("malloc_local_alias", 0x1000, 0x40),
                global("__x", 0x1100, 0x10),
                global("_y", 0x1100, 0x10),
                global("zeta", 0x1200, 0x10),
                global("alpha", 0x1200, 0x10),
                new ElfSymbol("old", 0x1300, 0x10, false, true, true, false, TEXT_END),
                new ElfSymbol("older_but_default", 0x1300, 0x10, false, true, false, false, TEXT_END),
                local("static_fn", 0x1400, 0x10),
                global("_exported", 0x1400, 0x10)));
        assertEquals(5, table.size());
        assertEquals(Optional.of("malloc"), nameAt(table, 0x1010));
        assertEquals(Optional.of("_y"), nameAt(table, 0x1100));
        assertEquals(Optional.of("alpha"), nameAt(table, 0x1200));
        assertEquals(Optional.of("older_but_default"), nameAt(table, 0x1300));
        assertEquals(Optional.of("_exported"), nameAt(table, 0x1400));
    }

    @Test
    void anAliasWithASizeGivesTheExtent() {
        SymbolTable table = SymbolTable.of(List.of(global("f", 0x1000, 0), local("f_impl", 0x1000, 0x20)));
        assertEquals(new SymbolTable.Match("f", 0x1000, 0x1f), table.lookup(0x101f).orElseThrow());
        assertEquals(Optional.empty(), table.lookup(0x1020));
    }

    @Test
    void emptyTableFindsNothing() {
        assertEquals(Optional.empty(), SymbolTable.of(List.of()).lookup(0x1000));
    }

    @Test
    void libcMallocIsNamedMallocNotItsInternalAlias() throws IOException {
        try (ElfFile libc = ElfFile.open(ElfFileTest.LIBC)) {
            long malloc = libc.findFunction("malloc").orElseThrow().value();
            assertTrue(libc.functionSymbols().stream().anyMatch(s -> s.name().equals("__libc_malloc") && s.value() == malloc),
                    "this libc exports __libc_malloc as an alias of malloc");
            assertEquals(new SymbolTable.Match("malloc", malloc, 5),
                    SymbolTable.of(libc.functionSymbols()).lookup(malloc + 5).orElseThrow());
        }
    }
}
