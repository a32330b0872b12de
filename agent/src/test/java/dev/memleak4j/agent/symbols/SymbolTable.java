package dev.memleak4j.agent.symbols;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * The naming rules of the native symbol index ({@code native/src/elf_symbols.c}) written plainly in Java over
 * decoded symbols: the oracle {@link ElfSymbolIndexTest} checks the native index against, address by address, on
 * real libraries, and that {@link SymbolTableTest} pins down rule by rule. Slow and simple on purpose.
 *
 * <p>Which of several names for one address is shown: exported before local names; default symbol versions before
 * compat ones; fewer leading underscores, since glibc exports internal aliases such as {@code __libc_malloc} next to
 * the public {@code malloc}; then byte order. A name an earlier symbol at the address already has is skipped (the
 * .dynsym entry, read first, keeps its version information). A symbol without a size reaches to its section's end.
 */
final class SymbolTable {
    private final long[] starts;
    private final long[] ends;
    private final String[] names;

    /** A symbol that contains a looked-up address. */
    record Match(String name, long start, long offset) {
    }

    private SymbolTable(long[] starts, long[] ends, String[] names) {
        this.starts = starts;
        this.ends = ends;
        this.names = names;
    }

    /** Indexes {@code symbols} (in reading order: .dynsym first); aliases collapse to the preferred name. */
    static SymbolTable of(List<ElfSymbol> symbols) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < symbols.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingLong(i -> symbols.get(i).value())); // stable: reading order within an address
        List<Long> starts = new ArrayList<>();
        List<Long> ends = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < order.size(); ) {
            long value = symbols.get(order.get(i)).value();
            List<Integer> group = new ArrayList<>();
            while (i < order.size() && symbols.get(order.get(i)).value() == value) {
                group.add(order.get(i++));
            }
            ElfSymbol preferred = null;
            long sizedEnd = Long.MIN_VALUE;
            long sectionEnd = Long.MIN_VALUE;
            for (int index : group) {
                ElfSymbol s = symbols.get(index);
                if (s.size() > 0) {
                    sizedEnd = Math.max(sizedEnd, s.value() + s.size());
                }
                sectionEnd = Math.max(sectionEnd, s.sectionEnd());
                boolean twin = group.stream().anyMatch(other -> other < index && symbols.get(other).name().equals(s.name()));
                if (!twin && (preferred == null || prefer(s, preferred) < 0)) {
                    preferred = s;
                }
            }
            starts.add(value);
            ends.add(sizedEnd != Long.MIN_VALUE ? sizedEnd : sectionEnd);
            names.add(preferred.name());
        }
        return new SymbolTable(starts.stream().mapToLong(Long::longValue).toArray(),
                ends.stream().mapToLong(Long::longValue).toArray(), names.toArray(new String[0]));
    }

    int size() {
        return starts.length;
    }

    Optional<Match> lookup(long vaddr) {
        int i = Arrays.binarySearch(starts, vaddr);
        if (i < 0) {
            i = -i - 2; // the last symbol starting below vaddr
        }
        if (i < 0 || vaddr >= ends[i]) {
            return Optional.empty();
        }
        return Optional.of(new Match(names[i], starts[i], vaddr - starts[i]));
    }

    /** Negative when a's name is shown rather than b's. */
    private static int prefer(ElfSymbol a, ElfSymbol b) {
        int byLocal = Boolean.compare(a.local(), b.local());
        if (byLocal != 0) {
            return byLocal;
        }
        int byVersion = Boolean.compare(a.hiddenVersion(), b.hiddenVersion());
        if (byVersion != 0) {
            return byVersion;
        }
        int byUnderscores = Integer.compare(leadingUnderscores(a.name()), leadingUnderscores(b.name()));
        return byUnderscores != 0 ? byUnderscores : Arrays.compareUnsigned(a.name().getBytes(StandardCharsets.UTF_8),
                b.name().getBytes(StandardCharsets.UTF_8));
    }

    private static int leadingUnderscores(String name) {
        int n = 0;
        while (n < name.length() && name.charAt(n) == '_') {
            n++;
        }
        return n;
    }
}
