package dev.memleak4j.agent.symbols;

/**
 * A defined function symbol of an ELF file.
 *
 * @param name          symbol name without any {@code @version} suffix
 * @param value         link-time virtual address
 * @param size          size in bytes; 0 when the producer did not record one (hand-written assembly)
 * @param local         STB_LOCAL binding (only visible inside the file, e.g. a C {@code static} function)
 * @param dynamic       taken from {@code .dynsym} rather than {@code .symtab}
 * @param hiddenVersion a {@code .dynsym} entry whose version is not the default one (a compat
 *                      {@code name@VERSION} rather than {@code name@@VERSION}): new links never bind to it
 * @param ifunc         STT_GNU_IFUNC: the value is the resolver that picks the implementation at load time
 * @param sectionEnd    end address of the section holding the symbol, which bounds a size-0 symbol
 */
public record ElfSymbol(String name, long value, long size, boolean local, boolean dynamic,
                        boolean hiddenVersion, boolean ifunc, long sectionEnd) {
}
