package dev.memleak4j.agent.stacks;

import dev.memleak4j.agent.symbols.Mapping;
import dev.memleak4j.agent.symbols.ProcessMaps;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WalkedStackTrimmerTest {
    private static final long LIBZ = 0x7f0000001000L;
    private static final long LIBJVM = 0x7f0000100000L;
    private static final long DATA = 0x7f0000200000L;
    /** The JVM's code cache: anonymous and executable. */
    private static final long CODE_CACHE = 0x7f0000300000L;
    private static final long TAGGED_METHOD = (1L << 62) | 0x7f00deadbeefL;
    private static final long UNLOADED_METHOD = (1L << 62) | 0x7f00badbadL;
    private static final long JIT = CODE_CACHE + 0x400;
    private static final long STUB = CODE_CACHE + 0x40;

    private final List<Mapping> mappings = new ArrayList<>(List.of(
            new Mapping(LIBZ, LIBZ + 0x1000, "r-xp", 0, "08:01", 1, "/usr/lib/libz.so.1"),
            new Mapping(LIBJVM, LIBJVM + 0x10000, "r-xp", 0, "08:01", 2, "/usr/lib/libjvm.so"),
            new Mapping(DATA, DATA + 0x10000, "rw-p", 0, "08:01", 2, "/usr/lib/libjvm.so"),
            new Mapping(CODE_CACHE, CODE_CACHE + 0x10000, "rwxp", 0, "00:00", 0, "")));
    /** Return addresses whose bytes before are a call, and which call: the rest of the code is {@code nop}s. */
    private final Map<Long, byte[]> calls = new HashMap<>();
    private final Map<Long, JvmCode> jvm = new HashMap<>(Map.of(TAGGED_METHOD, JvmCode.JAVA, JIT, JvmCode.JAVA,
            STUB, JvmCode.STUB));
    private int reads;
    private int codeReads;
    private final WalkedStackTrimmer trimmer = new WalkedStackTrimmer(() -> {
        reads++;
        return mappings;
    }, value -> jvm.getOrDefault(value, JvmCode.NONE), this::read);

    private byte[] read(long address, int length) {
        codeReads++;
        byte[] code = new byte[length];
        Arrays.fill(code, (byte) 0x90);
        byte[] call = calls.get(address + length);
        if (call != null) {
            System.arraycopy(call, 0, code, length - call.length, call.length);
        }
        return code;
    }

    /** {@code address} as a return address: a direct call ({@code e8 rel32}) before it. */
    private long afterCall(long address) {
        calls.put(address, new byte[] {(byte) 0xe8, 0x10, 0x20, 0x30, 0x00});
        return address;
    }

    @Test
    void stacksOfReturnAddressesAndJavaFramesStayWhole() {
        calls.put(LIBJVM + 0x20, new byte[] {0x41, (byte) 0xff, (byte) 0xd3}); // call *%r11
        long[] walked = {LIBZ + 0x10, afterCall(LIBZ + 0x30), JIT, TAGGED_METHOD, STUB, LIBJVM + 0x20};
        assertArrayEquals(walked, trimmer.cut(walked));
    }

    @Test
    void aValueInNoExecutableMappingEndsTheStack() {
        long[] walked = {LIBZ + 0x10, afterCall(LIBZ + 0x20), 0x100003f4cL, afterCall(LIBJVM + 0x20)};
        assertArrayEquals(new long[] {LIBZ + 0x10, LIBZ + 0x20}, trimmer.cut(walked));
        assertArrayEquals(new long[] {LIBZ + 0x10}, trimmer.cut(new long[] {LIBZ + 0x10, DATA + 8}),
                "data is not code");
    }

    @Test
    void codeThatNoCallPrecedesIsNoReturnAddress() {
        // A word in a library's code, but no call before it: what rbp pointed at in code without frame pointers.
        long garbage = LIBZ + 0x800;
        long[] walked = {LIBZ + 0x10, afterCall(LIBZ + 0x20), garbage, afterCall(LIBJVM + 0x20)};
        assertArrayEquals(new long[] {LIBZ + 0x10, LIBZ + 0x20}, trimmer.cut(walked),
                "nothing native is trusted after it, even a word that follows a call");
    }

    @Test
    void javaFramesTheJvmNamesAreKeptAfterTheCut() {
        long[] walked = {LIBZ + 0x10, LIBZ + 0x800, afterCall(LIBJVM + 0x20), JIT, STUB, TAGGED_METHOD,
                afterCall(LIBJVM + 0x40)};
        assertArrayEquals(new long[] {LIBZ + 0x10, JIT, TAGGED_METHOD}, trimmer.cut(walked),
                "Java frames stay; native frames and stubs after the garbage do not");
    }

    @Test
    void aMethodPointerTheJvmDoesNotNameIsGarbage() {
        long[] walked = {LIBZ + 0x10, UNLOADED_METHOD, TAGGED_METHOD};
        assertArrayEquals(new long[] {LIBZ + 0x10, TAGGED_METHOD}, trimmer.cut(walked));
    }

    @Test
    void theAllocatorsCallerIsNeverCutAway() {
        long[] walked = {0x1234L, afterCall(LIBZ + 0x10)};
        assertArrayEquals(walked, trimmer.cut(walked));
    }

    @Test
    void indirectCallsOfEveryLengthPrecedeReturnAddresses() {
        byte[][] forms = {
            {(byte) 0xff, (byte) 0xd0},                                    // call *%rax
            {(byte) 0xff, 0x50, 0x08},                                     // call *0x8(%rax)
            {0x41, (byte) 0xff, 0x54, 0x24, 0x08},                         // call *0x8(%r12)
            {(byte) 0xff, 0x15, 0x10, 0x20, 0x30, 0x00},                   // call *0x302010(%rip)
            {(byte) 0xff, 0x14, 0x25, 0x10, 0x20, 0x30, 0x00},             // call *0x302010
        };
        for (int i = 0; i < forms.length; i++) {
            long address = LIBZ + 0x100 + 0x20L * i;
            calls.put(address, forms[i]);
            long[] walked = {LIBZ + 0x10, address};
            assertArrayEquals(walked, trimmer.cut(walked), "form " + i);
        }
        calls.put(LIBZ + 0x300, new byte[] {(byte) 0xff, (byte) 0xe0}); // jmp *%rax: no return comes after it
        assertArrayEquals(new long[] {LIBZ + 0x10}, trimmer.cut(new long[] {LIBZ + 0x10, LIBZ + 0x300}));
    }

    @Test
    void stacksThatDifferOnlyInTheirGarbageShareOneId() {
        long javaFrame = JIT;
        Map<Long, long[]> kernel = Map.of(
                11L, new long[] {LIBZ + 0x10, afterCall(LIBZ + 0x20), 0x100003f4cL, javaFrame},
                13L, new long[] {LIBZ + 0x10, LIBZ + 0x20, LIBZ + 0x800, 0x55L, javaFrame},
                14L, new long[] {LIBZ + 0x10, LIBZ + 0x20, LIBJVM + 0x7000, javaFrame},
                15L, new long[] {LIBZ + 0x10, afterCall(LIBJVM + 0x30)});
        long first = trimmer.canonicalId(11L, kernel::get);
        assertEquals(first, trimmer.canonicalId(13L, kernel::get));
        assertEquals(first, trimmer.canonicalId(14L, kernel::get));
        assertArrayEquals(new long[] {LIBZ + 0x10, LIBZ + 0x20, javaFrame}, trimmer.framesOf(first));
        assertEquals(15L, trimmer.canonicalId(15L, kernel::get), "nothing cut: the kernel's id");
        assertNotEquals(first, 15L);
        assertTrue(trimmer.settled(first));
    }

    @Test
    void eachStackAndEachReturnAddressIsDecidedOnce() {
        long[] stack = {LIBZ + 0x10, afterCall(LIBZ + 0x20), afterCall(LIBJVM + 0x20)};
        Map<Long, long[]> kernel = Map.of(21L, stack, 22L, new long[] {LIBZ + 0x18, LIBZ + 0x20, LIBJVM + 0x20});
        trimmer.canonicalId(21L, kernel::get);
        int before = codeReads;
        assertEquals(21L, trimmer.canonicalId(21L, kernel::get));
        assertEquals(22L, trimmer.canonicalId(22L, kernel::get));
        assertEquals(before, codeReads, "the code before a return address in a file is read once");
    }

    @Test
    void codeTheCodeMapDoesNotKnowYetIsDecidedAgainAtTheNextReport() {
        long compiledLater = CODE_CACHE + 0x2000;
        Map<Long, long[]> kernel = Map.of(31L, new long[] {LIBZ + 0x10, afterCall(LIBZ + 0x20), compiledLater,
                TAGGED_METHOD});
        trimmer.newReport();
        long cut = trimmer.canonicalId(31L, kernel::get);
        assertArrayEquals(new long[] {LIBZ + 0x10, LIBZ + 0x20, TAGGED_METHOD}, trimmer.framesOf(cut));
        assertFalse(trimmer.settled(cut), "anonymous code the map does not know: not remembered");
        jvm.put(compiledLater, JvmCode.JAVA); // its load event arrived
        trimmer.newReport();
        assertEquals(31L, trimmer.canonicalId(31L, kernel::get), "whole now");
        assertTrue(trimmer.settled(31L));
    }

    /**
     * The code cache commits its reserved memory as the JIT fills it, so a method compiled after this report read the
     * maps lies in what they still showed as reserved ({@code ---p}). A frame there that the JVM names is its own, and
     * one it does not name yet is decided again at the next report: neither may be cut for good (a remembered cut
     * dropped a compiled caller from every later report of its stack).
     */
    @Test
    void codeCommittedSinceTheMapsWereReadIsNotCutForGood() {
        long reserved = CODE_CACHE + 0x10000;
        mappings.add(new Mapping(reserved, reserved + 0x100000, "---p", 0, "00:00", 0, ""));
        long compiledSince = reserved + 0x400;
        long loadEventLate = reserved + 0x800;
        jvm.put(compiledSince, JvmCode.JAVA);
        Map<Long, long[]> kernel = Map.of(41L, new long[] {LIBZ + 0x10, afterCall(LIBZ + 0x20), compiledSince,
                TAGGED_METHOD}, 42L, new long[] {LIBZ + 0x10, afterCall(LIBZ + 0x20), loadEventLate, TAGGED_METHOD});
        trimmer.newReport();
        assertEquals(41L, trimmer.canonicalId(41L, kernel::get), "whole: the JVM names the frame");
        assertTrue(trimmer.settled(41L));
        long cut = trimmer.canonicalId(42L, kernel::get);
        assertArrayEquals(new long[] {LIBZ + 0x10, LIBZ + 0x20, TAGGED_METHOD}, trimmer.framesOf(cut));
        assertFalse(trimmer.settled(cut), "reserved code space the map does not know yet: not remembered");
        jvm.put(loadEventLate, JvmCode.JAVA);
        trimmer.newReport();
        assertEquals(42L, trimmer.canonicalId(42L, kernel::get), "whole once the JVM names it");
        // Memory that is no code heap's stays garbage, decided once.
        assertArrayEquals(new long[] {LIBZ + 0x10}, trimmer.cut(new long[] {LIBZ + 0x10, DATA + 0x40}));
    }

    @Test
    void codeMappedSinceTheLastReadIsNotTakenForGarbage() {
        long newLibrary = 0x7f0000400000L;
        trimmer.newReport();
        assertArrayEquals(new long[] {LIBZ + 0x10},
                trimmer.cut(new long[] {LIBZ + 0x10, afterCall(newLibrary + 0x14)}));
        int readsBefore = reads;
        trimmer.cut(new long[] {LIBZ + 0x10, afterCall(newLibrary + 0x18)});
        assertEquals(readsBefore, reads, "the maps are read at most once per report");
        mappings.add(new Mapping(newLibrary, newLibrary + 0x1000, "r-xp", 0, "08:01", 3, "/usr/lib/libnew.so"));
        trimmer.newReport();
        long[] walked = {LIBZ + 0x10, newLibrary + 0x14};
        assertArrayEquals(walked, trimmer.cut(walked));
    }

    @Test
    void withoutMemoryToReadAnExecutableMappingIsEnough() {
        WalkedStackTrimmer blind = new WalkedStackTrimmer(() -> mappings, value -> JvmCode.NONE, null);
        long[] walked = {LIBZ + 0x10, LIBZ + 0x800, 0x100003f4cL};
        assertArrayEquals(new long[] {LIBZ + 0x10, LIBZ + 0x800}, blind.cut(walked));
    }

    @Test
    void thisProcessesCodeIsReadAsItsFileHoldsIt() throws Exception {
        Mapping libjvm = ProcessMaps.readSelf().mappings().stream()
                .filter(m -> m.perms().startsWith("r-x") && m.pathname().endsWith("/libjvm.so"))
                .findFirst().orElseThrow();
        TestLibrary.use();
        WalkedStackTrimmer.SelfMemory memory = WalkedStackTrimmer.SelfMemory.open();
        assertNotNull(memory, "the agent's native library reads this process's memory");
        byte[] inFile = new byte[64];
        try (RandomAccessFile file = new RandomAccessFile(libjvm.pathname(), "r")) {
            file.seek(libjvm.offset() + 0x1000);
            file.readFully(inFile);
        }
        assertArrayEquals(inFile, memory.read(libjvm.start() + 0x1000, 64));
        assertNull(memory.read(-16, 8), "a negative address is not read");
        assertNull(memory.read(8, 8), "the zero page is not read, and nothing faults");
        long unmapped = firstUnmappedPage();
        assertNull(memory.read(unmapped, 8), "an unmapped page is an error to read, not a fault");
        assertNull(memory.read(unmapped - 4, 8), "nor is a read that runs into one");
    }

    /** The start of a hole in this process's address space: the end of a readable mapping that no mapping follows. */
    private static long firstUnmappedPage() throws Exception {
        List<Mapping> sorted = new ArrayList<>(ProcessMaps.readSelf().mappings());
        sorted.sort((a, b) -> Long.compareUnsigned(a.start(), b.start()));
        for (int i = 0; i + 1 < sorted.size(); i++) {
            Mapping each = sorted.get(i);
            if (each.perms().startsWith("r") && sorted.get(i + 1).start() != each.end()) {
                return each.end();
            }
        }
        throw new AssertionError("no hole after a readable mapping in /proc/self/maps");
    }
}
