package dev.memleak4j.agent.stacks;

import dev.memleak4j.agent.symbols.Mapping;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class WalkedStackTrimmerTest {
    private static final long LIBZ = 0x7f0000001000L;
    private static final long LIBJVM = 0x7f0000100000L;
    private static final long DATA = 0x7f0000200000L;
    private static final long TAGGED_METHOD = (1L << 62) | 0x7f00deadbeefL;

    private final List<Mapping> mappings = new ArrayList<>(List.of(
            new Mapping(LIBZ, LIBZ + 0x1000, "r-xp", 0, "08:01", 1, "/usr/lib/libz.so.1"),
            new Mapping(LIBJVM, LIBJVM + 0x10000, "r-xp", 0, "08:01", 2, "/usr/lib/libjvm.so"),
            new Mapping(DATA, DATA + 0x10000, "rw-p", 0, "08:01", 2, "/usr/lib/libjvm.so")));
    private int reads;
    private final WalkedStackTrimmer trimmer = new WalkedStackTrimmer(() -> {
        reads++;
        return mappings;
    });

    @Test
    void stacksOfReturnAddressesStayWhole() {
        long[] walked = {LIBZ + 0x10, TAGGED_METHOD, LIBJVM + 0x20};
        assertArrayEquals(walked, trimmer.trim(walked));
    }

    @Test
    void aValueInNoExecutableMappingEndsTheStack() {
        long[] walked = {LIBZ + 0x10, LIBZ + 0x20, 0x100003f4cL, LIBJVM + 0x20};
        assertArrayEquals(new long[] {LIBZ + 0x10, LIBZ + 0x20}, trimmer.trim(walked));
        assertArrayEquals(new long[] {LIBZ + 0x10}, trimmer.trim(new long[] {LIBZ + 0x10, DATA + 8}),
                "data is not code");
    }

    @Test
    void theAllocatorsCallerIsNeverCutAway() {
        long[] walked = {0x1234L, LIBZ + 0x10};
        assertArrayEquals(walked, trimmer.trim(walked));
    }

    @Test
    void stacksThatDifferOnlyInTheirGarbageShareOneId() {
        Map<Long, long[]> kernel = Map.of(
                11L, new long[] {LIBZ + 0x10, LIBZ + 0x20, 0x100003f4cL},
                13L, new long[] {LIBZ + 0x10, LIBZ + 0x20, 0x200007f00L, 0x55L},
                15L, new long[] {LIBZ + 0x10, LIBJVM + 0x30});
        long first = trimmer.canonicalId(11L, kernel::get);
        long second = trimmer.canonicalId(13L, kernel::get);
        assertEquals(first, second);
        assertArrayEquals(new long[] {LIBZ + 0x10, LIBZ + 0x20}, trimmer.framesOf(first));
        assertEquals(15L, trimmer.canonicalId(15L, kernel::get), "nothing cut: the kernel's id");
        assertNotEquals(first, 15L);
    }

    @Test
    void codeMappedSinceTheLastReadIsNotTakenForGarbage() {
        long newLibrary = 0x7f0000400000L;
        trimmer.newReport();
        assertArrayEquals(new long[] {LIBZ + 0x10}, trimmer.trim(new long[] {LIBZ + 0x10, newLibrary + 4}));
        int readsBefore = reads;
        trimmer.trim(new long[] {LIBZ + 0x10, newLibrary + 8});
        assertEquals(readsBefore, reads, "the maps are read at most once per report");
        mappings.add(new Mapping(newLibrary, newLibrary + 0x1000, "r-xp", 0, "08:01", 3, "/usr/lib/libnew.so"));
        trimmer.newReport();
        long[] walked = {LIBZ + 0x10, newLibrary + 4};
        assertArrayEquals(walked, trimmer.trim(walked));
    }
}
