package dev.memleak4j.agent.symbols;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Address-to-function index over one ELF file's symbols: sorted parallel arrays and binary search,
 * so that libjvm.so's ~57k functions cost a few MB once and O(log n) per lookup. Immutable and
 * thread-safe.
 *
 * <p>No object per symbol, neither kept nor while building: the names are one UTF-8 byte array. The table lives as
 * long as the agent, in the application's heap, and every full GC marks and moves what is live; measured on the
 * direct-buffer benchmark (its buffers are freed through System.gc()), a String per name held ~63k Strings and
 * byte arrays (~6 MB). Building straight from the ELF's own tables ({@link Builder}) also keeps the first report,
 * which reads libjvm's symbols, from making ~100k short-lived objects beside the application.
 *
 * <p>Which of several names for one address is shown: exported before local names; default symbol versions before
 * compat ones; fewer leading underscores, since glibc exports internal aliases such as {@code __libc_malloc} next to
 * the public {@code malloc}; then alphabetical, to be deterministic.
 */
public final class SymbolTable {
    private final long[] starts;
    /** Exclusive end of each symbol: start + size, or the section end for a symbol without a size. */
    private final long[] ends;
    /** Every kept name, UTF-8, one after the other; name i is [nameStarts[i], nameStarts[i + 1]). */
    private final byte[] names;
    private final int[] nameStarts;

    /** A symbol that contains a looked-up address. */
    public record Match(String name, long start, long offset) {
    }

    private SymbolTable(long[] starts, long[] ends, byte[] names, int[] nameStarts) {
        this.starts = starts;
        this.ends = ends;
        this.names = names;
        this.nameStarts = nameStarts;
    }

    /** Indexes {@code symbols}; aliases (several symbols at one address) collapse to the preferred name. */
    public static SymbolTable of(Collection<ElfSymbol> symbols) {
        Builder builder = new Builder();
        for (ElfSymbol s : symbols) {
            byte[] name = (s.name() + '\0').getBytes(StandardCharsets.UTF_8);
            builder.add(s.value(), s.size(), s.sectionEnd(), s.local(), s.hiddenVersion(),
                    builder.strings(name), 0);
        }
        return builder.build();
    }

    /** Number of distinct symbol addresses. */
    public int size() {
        return starts.length;
    }

    /** The symbol whose extent contains {@code vaddr} (a link-time virtual address), if any. */
    public Optional<Match> lookup(long vaddr) {
        int i = Arrays.binarySearch(starts, vaddr);
        if (i < 0) {
            i = -i - 2; // the last symbol starting below vaddr
        }
        if (i < 0 || vaddr >= ends[i]) {
            return Optional.empty();
        }
        String name = new String(names, nameStarts[i], nameStarts[i + 1] - nameStarts[i], StandardCharsets.UTF_8);
        return Optional.of(new Match(name, starts[i], vaddr - starts[i]));
    }

    /**
     * Collects symbols as ELF has them (a name is an offset into a string table, ended by NUL or by the "@VER" of a
     * versioned .symtab name) in growable primitive arrays, and indexes them in {@link #build()}. Not thread-safe.
     */
    static final class Builder {
        private static final int LOCAL = 1;
        private static final int HIDDEN_VERSION = 2;

        private final List<byte[]> stringTables = new ArrayList<>();
        private long[] values = new long[1024];
        private long[] sizes = new long[1024];
        private long[] sectionEnds = new long[1024];
        private int[] nameOffsets = new int[1024];
        /** Each name's length, found once (a name ends at its NUL or "@VER"; sorting compares names many times). */
        private int[] nameLengths = new int[1024];
        private int[] tables = new int[1024];
        private byte[] flags = new byte[1024];
        private int count;

        /** Registers a string table; returns its id for {@link #add}. */
        int strings(byte[] table) {
            stringTables.add(table);
            return stringTables.size() - 1;
        }

        /** Adds a symbol named at {@code nameOffset} of string table {@code table}; an empty name is skipped. */
        void add(long value, long size, long sectionEnd, boolean local, boolean hiddenVersion,
                 int table, int nameOffset) {
            int nameLength = ElfFile.nameLength(stringTables.get(table), nameOffset);
            if (nameLength == 0) {
                return;
            }
            if (count == values.length) {
                int grown = count * 2;
                values = Arrays.copyOf(values, grown);
                sizes = Arrays.copyOf(sizes, grown);
                sectionEnds = Arrays.copyOf(sectionEnds, grown);
                nameOffsets = Arrays.copyOf(nameOffsets, grown);
                nameLengths = Arrays.copyOf(nameLengths, grown);
                tables = Arrays.copyOf(tables, grown);
                flags = Arrays.copyOf(flags, grown);
            }
            values[count] = value;
            sizes[count] = size;
            sectionEnds[count] = sectionEnd;
            nameOffsets[count] = nameOffset;
            nameLengths[count] = nameLength;
            tables[count] = table;
            flags[count] = (byte) ((local ? LOCAL : 0) | (hiddenVersion ? HIDDEN_VERSION : 0));
            count++;
        }

        SymbolTable build() {
            int[] order = byAddress();
            long[] starts = new long[count];
            long[] ends = new long[count];
            int[] nameStarts = new int[count + 1];
            byte[] names = new byte[Math.max(16, count * 24)];
            int n = 0;
            int namesLength = 0;
            for (int i = 0; i < count; ) {
                int groupEnd = i;
                while (groupEnd < count && values[order[groupEnd]] == values[order[i]]) {
                    groupEnd++;
                }
                int preferred = -1;
                long sizedEnd = Long.MIN_VALUE;
                long sectionEnd = Long.MIN_VALUE;
                for (int k = i; k < groupEnd; k++) {
                    int s = order[k];
                    if (sizes[s] > 0) {
                        sizedEnd = Math.max(sizedEnd, values[s] + sizes[s]);
                    }
                    sectionEnd = Math.max(sectionEnd, sectionEnds[s]);
                    if (!twinOfEarlier(s, order, i, groupEnd) && (preferred < 0 || prefer(s, preferred) < 0)) {
                        preferred = s;
                    }
                }
                starts[n] = values[order[i]];
                // A size-0 symbol reaches to its section's end; the next symbol's start bounds it too,
                // because lookup only ever considers the last symbol starting at or below the address.
                ends[n] = sizedEnd != Long.MIN_VALUE ? sizedEnd : sectionEnd;
                int length = nameLength(preferred);
                if (namesLength + length > names.length) {
                    names = Arrays.copyOf(names, Math.max(names.length * 2, namesLength + length));
                }
                System.arraycopy(stringTables.get(tables[preferred]), nameOffsets[preferred], names, namesLength, length);
                nameStarts[n] = namesLength;
                namesLength += length;
                n++;
                i = groupEnd;
            }
            nameStarts[n] = namesLength;
            return new SymbolTable(Arrays.copyOf(starts, n), Arrays.copyOf(ends, n), Arrays.copyOf(names, namesLength),
                    Arrays.copyOf(nameStarts, n + 1));
        }

        /** Symbol indexes by address; a primitive sort of (address, index) pairs packed in one long when they fit. */
        private int[] byAddress() {
            int[] order = new int[count];
            boolean packable = count < (1 << 24);
            for (int i = 0; i < count && packable; i++) {
                packable = values[i] >= 0 && values[i] < (1L << 39);
            }
            if (packable) {
                long[] keys = new long[count];
                for (int i = 0; i < count; i++) {
                    keys[i] = values[i] << 24 | i;
                }
                Arrays.sort(keys);
                for (int i = 0; i < count; i++) {
                    order[i] = (int) (keys[i] & ((1 << 24) - 1));
                }
                return order;
            }
            Integer[] boxed = new Integer[count];
            for (int i = 0; i < count; i++) {
                boxed[i] = i;
            }
            Arrays.sort(boxed, (a, b) -> Long.compareUnsigned(values[a], values[b]));
            for (int i = 0; i < count; i++) {
                order[i] = boxed[i];
            }
            return order;
        }

        /**
         * A symbol whose name an earlier one at the same address already has: the first is kept, as ELF readers do
         * (.dynsym comes first, so a .symtab twin never replaces the entry that carries the version).
         */
        private boolean twinOfEarlier(int s, int[] order, int groupStart, int groupEnd) {
            if (groupEnd - groupStart == 1) {
                return false; // the only symbol at its address (most are)
            }
            for (int k = groupStart; k < groupEnd; k++) {
                int other = order[k];
                if (other < s && compareNames(s, other) == 0) {
                    return true;
                }
            }
            return false;
        }

        /** Negative when symbol a's name is shown rather than b's (see the class comment). */
        private int prefer(int a, int b) {
            int byLocal = Boolean.compare((flags[a] & LOCAL) != 0, (flags[b] & LOCAL) != 0);
            if (byLocal != 0) {
                return byLocal;
            }
            int byVersion = Boolean.compare((flags[a] & HIDDEN_VERSION) != 0, (flags[b] & HIDDEN_VERSION) != 0);
            if (byVersion != 0) {
                return byVersion;
            }
            int byUnderscores = Integer.compare(leadingUnderscores(a), leadingUnderscores(b));
            return byUnderscores != 0 ? byUnderscores : compareNames(a, b);
        }

        private int nameLength(int s) {
            return nameLengths[s];
        }

        private int leadingUnderscores(int s) {
            byte[] strings = stringTables.get(tables[s]);
            int n = 0;
            while (nameOffsets[s] + n < strings.length && strings[nameOffsets[s] + n] == '_') {
                n++;
            }
            return n;
        }

        /** Byte order of the UTF-8 names (the same as String order for any name a linker makes). */
        private int compareNames(int a, int b) {
            byte[] sa = stringTables.get(tables[a]);
            byte[] sb = stringTables.get(tables[b]);
            return Arrays.compareUnsigned(sa, nameOffsets[a], nameOffsets[a] + nameLength(a),
                    sb, nameOffsets[b], nameOffsets[b] + nameLength(b));
        }
    }
}
