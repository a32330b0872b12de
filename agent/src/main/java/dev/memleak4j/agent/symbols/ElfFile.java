package dev.memleak4j.agent.symbols;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reader for 64-bit little-endian ELF files (x86-64 shared objects and executables).
 *
 * <p>Only the headers are read here, on demand and with positional reads, so that a large libjvm.so never has to
 * sit in the heap; the function symbols come from the native reader ({@link #functionSymbols}). The file is not
 * memory-mapped on purpose: this process symbolizes its own /proc/self/maps, and a lingering mapping of a library
 * would show up there. Not thread-safe; {@link #close()} when done.
 */
public final class ElfFile implements Closeable {

    public static final int ET_EXEC = 2;
    public static final int ET_DYN = 3;

    private static final int EHDR_SIZE = 64;
    private static final int PHDR_SIZE = 56;
    private static final int SHDR_SIZE = 64;

    private static final int ELFCLASS64 = 2;
    private static final int ELFDATA2LSB = 1;
    private static final int PT_LOAD = 1;
    /** e_phnum value meaning "the real count is in section 0's sh_info" (more than 65534 headers). */
    private static final int PN_XNUM = 0xffff;

    private final Path path;
    private final FileChannel channel;
    private final long fileSize;
    private final int type;
    private final LoadSegments loadSegments;
    private final List<Section> sections;
    private List<ElfSymbol> functionSymbols;

    private record Section(int type, long addr, long offset, long size, int link) {
    }

    private ElfFile(Path path, FileChannel channel) throws IOException {
        this.path = path;
        this.channel = channel;
        this.fileSize = channel.size();
        ByteBuffer ehdr = read(0, EHDR_SIZE);
        if (ehdr.getInt(0) != 0x464c457f) {
            throw new IOException(path + ": not an ELF file");
        }
        if (ehdr.get(4) != ELFCLASS64 || ehdr.get(5) != ELFDATA2LSB) {
            throw new IOException(path + ": not a 64-bit little-endian ELF file");
        }
        this.type = Short.toUnsignedInt(ehdr.getShort(16));
        this.sections = readSections(ehdr);
        this.loadSegments = new LoadSegments(readLoadSegments(ehdr));
    }

    /** Opens {@code path} and reads its ELF, program and section headers. */
    public static ElfFile open(Path path) throws IOException {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return new ElfFile(path, channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** e_type: {@link #ET_EXEC} for fixed-address executables, {@link #ET_DYN} for shared objects and PIE. */
    public int type() {
        return type;
    }

    public LoadSegments loadSegments() {
        return loadSegments;
    }

    /** File offset of the byte linked at {@code vaddr}, or -1 when no PT_LOAD takes it from the file. */
    public long fileOffsetOfVaddr(long vaddr) {
        return loadSegments.fileOffsetOfVaddr(vaddr).orElse(-1);
    }

    /** The {@code len} file bytes linked at {@code vaddr}, e.g. a function's first instructions. */
    public byte[] readAtVaddr(long vaddr, int len) throws IOException {
        if (len < 1) {
            throw new IllegalArgumentException("len must be positive: " + len);
        }
        long first = fileOffsetOfVaddr(vaddr);
        long last = fileOffsetOfVaddr(vaddr + len - 1);
        if (first < 0 || last != first + len - 1) {
            throw new IOException(path + ": 0x" + Long.toHexString(vaddr) + "+" + len + " is not backed by one segment's file bytes");
        }
        return read(first, len).array();
    }

    /**
     * Defined FUNC and IFUNC symbols of {@code .dynsym} and {@code .symtab}, each (name, address) once; read on first
     * call, by the native reader, which holds the rules for what a function symbol is and what its version says
     * ({@code native/src/elf_symbols.h}), so symbolization and probe placement see the same symbols.
     */
    public List<ElfSymbol> functionSymbols() throws IOException {
        if (functionSymbols == null) {
            functionSymbols = List.copyOf(ElfSymbolIndex.functions(path));
        }
        return functionSymbols;
    }

    /**
     * The definition of {@code name} that a dynamic link would bind to: the default version in
     * {@code .dynsym} first, then a global {@code .symtab} or compat-version entry, then a local one.
     */
    public Optional<ElfSymbol> findFunction(String name) throws IOException {
        // A loop, not a stream and a Comparator: their classes and lambdas would stay in the application's JVM.
        ElfSymbol best = null;
        for (ElfSymbol symbol : functionSymbols()) {
            if (symbol.name().equals(name) && (best == null || linkRank(symbol) < linkRank(best))) {
                best = symbol; // the first of equally ranked ones, as Stream.min keeps
            }
        }
        return Optional.ofNullable(best);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    private static int linkRank(ElfSymbol s) {
        if (s.dynamic() && !s.hiddenVersion()) {
            return 0;
        }
        return s.local() ? 2 : 1;
    }

    private List<Section> readSections(ByteBuffer ehdr) throws IOException {
        long shoff = ehdr.getLong(40);
        if (shoff == 0) {
            return List.of();
        }
        int shnum = Short.toUnsignedInt(ehdr.getShort(60));
        if (shnum == 0) {
            // More than 65279 sections: the real count lives in section 0's sh_size.
            shnum = Math.toIntExact(read(shoff, SHDR_SIZE).getLong(32));
        }
        ByteBuffer shdrs = read(shoff, (long) shnum * SHDR_SIZE);
        List<Section> result = new ArrayList<>(shnum);
        for (int i = 0; i < shnum; i++) {
            int base = i * SHDR_SIZE;
            result.add(new Section(shdrs.getInt(base + 4), shdrs.getLong(base + 16), shdrs.getLong(base + 24),
                    shdrs.getLong(base + 32), shdrs.getInt(base + 40)));
        }
        return result;
    }

    private List<LoadSegment> readLoadSegments(ByteBuffer ehdr) throws IOException {
        long phoff = ehdr.getLong(32);
        int phnum = Short.toUnsignedInt(ehdr.getShort(56));
        if (phnum == PN_XNUM && !sections.isEmpty()) {
            phnum = Math.toIntExact(read(ehdr.getLong(40), SHDR_SIZE).getInt(44) & 0xffffffffL);
        }
        ByteBuffer phdrs = read(phoff, (long) phnum * PHDR_SIZE);
        List<LoadSegment> result = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int base = i * PHDR_SIZE;
            if (phdrs.getInt(base) == PT_LOAD) {
                result.add(new LoadSegment(phdrs.getLong(base + 16), phdrs.getLong(base + 8),
                        phdrs.getLong(base + 32), phdrs.getLong(base + 40), phdrs.getInt(base + 4)));
            }
        }
        return result;
    }

    private ByteBuffer read(long offset, long length) throws IOException {
        if (offset < 0 || length < 0 || length > Integer.MAX_VALUE || offset > fileSize - length) {
            throw new IOException(path + ": truncated or corrupt ELF (wants " + length + " bytes at " + offset + ")");
        }
        ByteBuffer buffer = ByteBuffer.allocate((int) length).order(ByteOrder.LITTLE_ENDIAN);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, offset + buffer.position()) < 0) {
                throw new EOFException(path + ": file shrank while reading");
            }
        }
        return buffer.flip();
    }
}
