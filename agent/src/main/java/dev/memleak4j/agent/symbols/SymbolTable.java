package dev.memleak4j.agent.symbols;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Address-to-function index over one ELF file's symbols: sorted parallel arrays and binary search,
 * so that libjvm.so's ~57k functions cost a few MB once and O(log n) per lookup. Immutable and
 * thread-safe.
 *
 * <p>The names are kept as one UTF-8 byte array, not one String each: the table lives as long as the
 * agent, in the application's heap, and every full GC marks and moves what is live. Measured on the
 * direct-buffer benchmark (whose buffers are freed through System.gc()): with a String per name the agent
 * held ~63k Strings + byte arrays (~6 MB) and each full GC took 21.6 ms instead of 6.8 ms without the agent.
 * A few arrays cost the collector next to nothing; the String is made when a lookup hits (the caller caches
 * resolved frames).
 */
public final class SymbolTable {

    /**
     * Which of several names for one address is shown. Exported before local names; default symbol
     * versions before compat ones; fewer leading underscores, since glibc exports internal aliases
     * such as {@code __libc_malloc} next to the public {@code malloc}; then alphabetical, to be
     * deterministic.
     */
    static final Comparator<ElfSymbol> NAME_PREFERENCE = Comparator.comparing(ElfSymbol::local)
            .thenComparing(ElfSymbol::hiddenVersion)
            .thenComparingInt(s -> leadingUnderscores(s.name()))
            .thenComparing(ElfSymbol::name);

    private static final Comparator<ElfSymbol> BY_ADDRESS_THEN_PREFERENCE =
            Comparator.comparingLong(ElfSymbol::value).thenComparing(NAME_PREFERENCE);

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
        List<ElfSymbol> sorted = new ArrayList<>(symbols);
        sorted.sort(BY_ADDRESS_THEN_PREFERENCE);
        long[] starts = new long[sorted.size()];
        long[] ends = new long[sorted.size()];
        int[] nameStarts = new int[sorted.size() + 1];
        ByteArrayOutputStream names = new ByteArrayOutputStream(sorted.size() * 32);
        int n = 0;
        for (int i = 0; i < sorted.size(); ) {
            ElfSymbol preferred = sorted.get(i);
            long sizedEnd = Long.MIN_VALUE;
            long sectionEnd = Long.MIN_VALUE;
            for (; i < sorted.size() && sorted.get(i).value() == preferred.value(); i++) {
                ElfSymbol alias = sorted.get(i);
                if (alias.size() > 0) {
                    sizedEnd = Math.max(sizedEnd, alias.value() + alias.size());
                }
                sectionEnd = Math.max(sectionEnd, alias.sectionEnd());
            }
            starts[n] = preferred.value();
            // A size-0 symbol reaches to its section's end; the next symbol's start bounds it too,
            // because lookup only ever considers the last symbol starting at or below the address.
            ends[n] = sizedEnd != Long.MIN_VALUE ? sizedEnd : sectionEnd;
            nameStarts[n] = names.size();
            names.writeBytes(preferred.name().getBytes(StandardCharsets.UTF_8));
            n++;
        }
        nameStarts[n] = names.size();
        return new SymbolTable(Arrays.copyOf(starts, n), Arrays.copyOf(ends, n), names.toByteArray(),
                Arrays.copyOf(nameStarts, n + 1));
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

    private static int leadingUnderscores(String name) {
        int n = 0;
        while (n < name.length() && name.charAt(n) == '_') {
            n++;
        }
        return n;
    }
}
