package dev.memleak4j.agent.symbols;

/**
 * One PT_LOAD program header: the part of the file that the loader maps into memory.
 *
 * @param vaddr  virtual address of the segment's first byte, as linked
 * @param offset file offset of the segment's first byte
 * @param filesz bytes backed by the file
 * @param memsz  bytes in memory; the excess over {@code filesz} is zero-filled (.bss)
 * @param flags  PF_* bits
 */
public record LoadSegment(long vaddr, long offset, long filesz, long memsz, int flags) {

    public static final int PF_X = 1;
    public static final int PF_W = 2;
    public static final int PF_R = 4;

    public boolean isExecutable() {
        return (flags & PF_X) != 0;
    }

    /** True when {@code address} lies within the file-backed part of the segment's memory image. */
    public boolean containsVaddrInFile(long address) {
        return address - vaddr >= 0 && address - vaddr < filesz;
    }

    /** True when {@code fileOffset} lies within the bytes the segment takes from the file. */
    public boolean containsFileOffset(long fileOffset) {
        return fileOffset - offset >= 0 && fileOffset - offset < filesz;
    }
}
