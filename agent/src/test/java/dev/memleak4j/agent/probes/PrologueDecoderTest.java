package dev.memleak4j.agent.probes;

import static dev.memleak4j.agent.probes.Reg.RCX;
import static dev.memleak4j.agent.probes.Reg.RDI;
import static dev.memleak4j.agent.probes.Reg.RDX;
import static dev.memleak4j.agent.probes.Reg.RSI;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PrologueDecoderTest {

    static Set<Reg> argsOf(String function) {
        return switch (function) {
            case "malloc", "valloc", "pvalloc", "free" -> EnumSet.of(RDI);
            case "calloc", "realloc", "aligned_alloc", "memalign" -> EnumSet.of(RDI, RSI);
            case "reallocarray", "posix_memalign" -> EnumSet.of(RDI, RSI, RDX);
            default -> throw new IllegalArgumentException(function);
        };
    }

    private static ProbePlacement choose(String hex, Reg... args) {
        Set<Reg> set = EnumSet.noneOf(Reg.class);
        set.addAll(java.util.List.of(args));
        return PrologueDecoder.choose(Hex.bytes(hex), set);
    }

    private static void assertEmulatedAt(ProbePlacement p, int offset, int spAdjust) {
        assertEquals(offset, p.offset(), () -> "offset; " + p);
        assertEquals(spAdjust, p.spAdjust(), () -> "spAdjust; " + p);
        assertNull(p.reason(), () -> "reason; " + p);
    }

    private static void assertFallback(ProbePlacement p, String reasonFragment) {
        assertEquals(0, p.offset(), () -> "offset; " + p);
        assertEquals(0, p.spAdjust(), () -> "spAdjust; " + p);
        assertNotNull(p.reason(), () -> "expected a fallback reason; " + p);
        assertTrue(p.reason().contains(reasonFragment), () -> "reason '" + p.reason() + "' lacks '" + reasonFragment + "'");
    }

    // ------------------------------------------------------------ examples from the brief (glibc 2.36)

    @Test
    void briefExamples() {
        assertEmulatedAt(choose("41 54 55 53 48 89 fb 48 83 ec 10 80 3d 46 1b 14 00 00", RDI), 0, 0); // malloc
        assertEmulatedAt(choose("48 85 ff 0f 84 bf 00 00 00 55", RDI), 3, 0); // free
        assertEmulatedAt(choose("80 3d 01 02 14 00 00 41 54 49 89 d4 55", RDI, RSI, RDX), 7, 0); // posix_memalign
        assertEmulatedAt(choose("80 3d 71 0e 14 00 00 74 07 e9 32 f6 ff ff", RDI, RSI), 7, 0); // aligned_alloc
        assertEmulatedAt(choose("80 3d 31 0e 14 00 00 53 48 89 fb 74 1b", RDI), 7, 0); // valloc
        ProbePlacement reallocarray = choose("48 89 f0 48 f7 e2 48 89 c6 70 05 e9 00 00 00 00", RDI, RSI, RDX);
        assertFallback(reallocarray, "%rdx");
        assertTrue(reallocarray.reason().contains("+3"), reallocarray::reason);
        assertEmulatedAt(choose("41 57 41 56", RDI, RSI), 0, 0); // realloc
        assertEmulatedAt(choose("41 55 48 89 f8", RDI, RSI), 0, 0); // calloc
    }

    // ------------------------------------------------------------ real bytes: glibc 2.36 (Debian 12) and 2.41 (Debian 13)

    /** First 32 bytes of each function in Debian 12's libc6 2.36-9+deb12u14 (objdump). */
    @ParameterizedTest(name = "glibc 2.36 {0} -> +{2}")
    @CsvSource(delimiter = '|', value = {
        "malloc|41 54 55 53 48 89 fb 48 83 ec 10 80 3d 46 1b 14 00 00 0f 84 f8 01 00 00 48 85 db 0f 88 fd 01 00|0",
        "calloc|41 55 48 89 f8 41 54 55 53 48 83 ec 18 48 f7 e6 48 89 c3 0f 90 c0 48 85 db 0f 88 d9 02 00 00 0f|0",
        "realloc|41 57 41 56 41 55 41 54 55 48 89 f5 53 48 89 fb 48 83 ec 28 80 3d 3d 13 14 00 00 0f 84 57 01|0",
        "reallocarray|48 89 f0 48 f7 e2 48 89 c6 70 05 e9 40 b8 f8 ff 48 8b 05 e9 85 13 00 64 c7 00 0c 00 00 00 31 c0|-1",
        "posix_memalign|80 3d 01 02 14 00 00 41 54 49 89 d4 55 48 89 fd 53 48 89 f3 74 5a 48 89 da 48 c1 ea 03 48 8d 42|7",
        "aligned_alloc|80 3d 71 0e 14 00 00 74 07 e9 32 f6 ff ff 66 90 48 83 ec 18 48 89 74 24 08 48 89 3c 24 e8 be bc|7",
        "memalign|80 3d 71 0e 14 00 00 74 07 e9 32 f6 ff ff 66 90 48 83 ec 18 48 89 74 24 08 48 89 3c 24 e8 be bc|7",
        "valloc|80 3d 31 0e 14 00 00 53 48 89 fb 74 1b 48 8b 05 34 98 13 00 48 89 de 5b 48 8b 78 18 e9 df f5 ff|7",
        "pvalloc|80 3d 01 0e 14 00 00 53 48 89 fb 74 2b 48 8b 05 04 98 13 00 48 8b 78 18 48 8d 47 ff 48 01 d8 72|7",
        "free|48 85 ff 0f 84 bf 00 00 00 55 48 8d 77 f0 53 48 83 ec 18 48 8b 1d d6 9e 13 00 48 8b 47 f8 64 8b|3",
    })
    void glibc236(String function, String hex, int expectedOffset) {
        check(function, hex, expectedOffset);
    }

    /** First 32 bytes of each function in Debian 13's libc6 2.41-12+deb13u5 (objdump). */
    @ParameterizedTest(name = "glibc 2.41 {0} -> +{2}")
    @CsvSource(delimiter = '|', value = {
        "malloc|41 54 55 53 48 89 fb 48 83 ec 10 80 3d 46 99 14 00 00 0f 84 68 01 00 00 48 85 db 0f 88 6d 01|0",
        "calloc|41 56 48 89 f8 41 55 41 54 55 53 48 83 ec 10 48 f7 e6 48 89 c3 0f 90 c0 48 85 db 0f 88 2f 02 00|0",
        "realloc|41 57 41 56 41 55 41 54 55 48 89 f5 53 48 89 fb 48 83 ec 38 80 3d fd 8e 14 00 00 0f 84 af 01 00|0",
        "reallocarray|48 89 f0 48 f7 e2 48 89 c6 70 05 e9 b0 32 f8 ff 48 8b 05 79 00 14 00 64 c7 00 0c 00 00 00 31 c0|-1",
        "posix_memalign|80 3d 51 7a 14 00 00 41 54 49 89 d4 55 48 89 fd 53 48 89 f3 74 5a 48 89 da 48 c1 ea 03 48 8d 42|7",
        "aligned_alloc|53 48 89 fb 48 83 ec 10 80 3d 19 88 14 00 00 74 3f 48 8d 43 ff 48 85 d8 75 16 48 85 db 74 11 48|0",
        "memalign|80 3d 61 88 14 00 00 74 07 e9 12 f2 ff ff 66 90 48 83 ec 18 48 89 74 24 08 48 89 3c 24 e8 be b4|7",
        "valloc|80 3d b1 87 14 00 00 53 48 89 fb 74 1b 48 8b 05 3c 14 14 00 48 89 de 5b 48 8b 78 18 e9 4f f1 ff|7",
        "pvalloc|80 3d 81 87 14 00 00 53 48 89 fb 74 2b 48 8b 05 0c 14 14 00 48 8b 78 18 48 8d 47 ff 48 01 d8 72|7",
        "free|48 85 ff 0f 84 7f 01 00 00 41 57 41 56 41 55 41 54 55 48 8d 6f f0 53 48 83 ec 28 4c 8b 25 0e 1e|3",
    })
    void glibc241(String function, String hex, int expectedOffset) {
        check(function, hex, expectedOffset);
    }

    /** expectedOffset -1 means "fallback to 0 with a reason". */
    private static void check(String function, String hex, int expectedOffset) {
        ProbePlacement p = PrologueDecoder.choose(Hex.bytes(hex), argsOf(function));
        if (expectedOffset < 0) {
            assertFallback(p, "%rdx");
        } else {
            assertEmulatedAt(p, expectedOffset, 0);
        }
    }

    // ------------------------------------------------------------ typical prologues of other allocators (assembled with GNU as)

    @Test
    void endbr64ThenFramePointer() {
        // endbr64 | push %rbp | mov %rsp,%rbp
        assertEmulatedAt(choose("f3 0f 1e fa 55 48 89 e5", RDI), 4, 0);
    }

    @Test
    void tlsLoadsAndTest() {
        // mov %fs:0x0,%rax | mov 0x1234(%rip),%rdx | test %rdi,%rdi | je
        String hex = "64 48 8b 04 25 00 00 00 00 48 8b 15 34 12 00 00 48 85 ff 74 00";
        assertEmulatedAt(choose(hex, RDI), 0x13, 0);
        assertFallback(choose(hex, RDI, RSI, RDX), "%rdx");
    }

    @Test
    void endbrStackProtectorLeaXorCmpForms() {
        // endbr64 | mov %fs:0x28,%rax | lea 0x10(%rdi),%rcx | xor %eax,%eax
        // | cmpq $0x0,0x18(%rsp,%rcx,8) | cmp $0x7fffffff,%rsi | jne
        String hex = "f3 0f 1e fa 64 48 8b 04 25 28 00 00 00 48 8d 4f 10 31 c0 48 83 7c cc 18 00 48 81 fe ff ff ff 7f 75 00";
        assertEmulatedAt(choose(hex, RDI, RSI), 0x20, 0);
        assertFallback(choose(hex, RDI, RCX), "%rcx");
    }

    @Test
    void stackAdjustIsTracked() {
        // sub $0x28,%rsp | mov 0x100(%rip),%rax | nopl (%rax,%rax,1) [not a kernel nop pattern] | call
        assertEmulatedAt(choose("48 83 ec 28 48 8b 05 00 01 00 00 0f 1f 04 00 e8 00 00 00 00", RDI), 15, 0x28);
        // same with the kernel's 5-byte nop, which is emulated itself
        assertEmulatedAt(choose("48 83 ec 28 48 8b 05 00 01 00 00 0f 1f 44 00 00 e8 00 00 00 00", RDI), 11, 0x28);
        // sub $0x28 then add $0x8 (imm32 form for the sub): 0x20 left
        assertEmulatedAt(choose("48 81 ec 28 00 00 00 48 83 c4 08 eb 00", RDI), 11, 0x20);
    }

    @Test
    void emulatedFirstInstructionIsChosenAtZero() {
        assertEmulatedAt(choose("66 90 48 85 ff", RDI), 0, 0);       // xchg %ax,%ax = kernel NOP2
        assertEmulatedAt(choose("90", RDI), 0, 0);
        assertEmulatedAt(choose("0f 1f 44 00 00 48 85 ff", RDI), 0, 0);
        assertEmulatedAt(choose("eb 00", RDI), 0, 0);
        assertEmulatedAt(choose("e9 00 00 00 00", RDI), 0, 0);
        assertEmulatedAt(choose("0f 85 00 00 00 00", RDI), 0, 0);
        assertEmulatedAt(choose("e8 00 00 00 00", RDI), 0, 0);
        assertEmulatedAt(choose("57", RDI), 0, 0);                   // push %rdi
        assertEmulatedAt(choose("41 57", RDI), 0, 0);                // push %r15
    }

    @Test
    void nonEmulatedFormsAreNotChosen() {
        // pause (f3 90) is single-stepped on 6.19+: skip it, probe the jmp
        assertEmulatedAt(choose("f3 90 eb 00", RDI), 2, 0);
        // cs-prefixed nopw: the kernel refuses probes with a cs prefix; skip it
        assertEmulatedAt(choose("66 2e 0f 1f 84 00 00 00 00 00 eb 00", RDI), 10, 0);
        // REX.W push is not emulated and changes rsp: stop
        assertFallback(choose("48 55 eb 00", RDI), "not modelled");
        // bnd jmp: a branch we do not call emulated; it ends the straight line
        assertFallback(choose("f2 eb 00", RDI), "transfers control");
    }

    @Test
    void argumentRegisterWritesStopTheScan() {
        assertFallback(choose("31 ff eb 00", RDI), "%rdi");          // xor %edi,%edi
        assertFallback(choose("b6 01 eb 00", RDX), "%rdx");          // mov $1,%dh writes part of rdx
        assertEmulatedAt(choose("b6 01 eb 00", RDI), 2, 0);
        assertFallback(choose("41 89 f0 eb 00", RDI, Reg.R8), "%r8"); // mov %esi,%r8d
        assertFallback(choose("48 99 eb 00", RDI, RDX), "%rdx");     // cqto
        assertFallback(choose("48 0f 45 fa eb 00", RDI), "%rdi");    // cmovne %rdx,%rdi
    }

    @Test
    void controlFlowMemoryWritesAndUntrackedRspStopTheScan() {
        assertFallback(choose("48 85 ff c3", RDI), "ret");
        assertFallback(choose("48 83 c4 08 eb 00", RDI), "pops above");
        assertFallback(choose("48 83 e4 f0 eb 00", RDI), "rsp");     // and $-16,%rsp
        assertFallback(choose("c7 45 fc 01 00 00 00 eb 00", RDI), "memory");
        assertFallback(choose("48 89 7c 24 f8 eb 00", RDI), "memory"); // mov %rdi,-0x8(%rsp)
        assertFallback(choose("ff e0", RDI), "transfers control");   // jmp *%rax
        assertFallback(choose("3e ff e0", RDI), "transfers control"); // notrack jmp *%rax
        assertFallback(choose("f0 48 0f b1 37 eb 00", RDI), "not modelled"); // lock cmpxchg
    }

    @Test
    void undecodableInputFallsBack() {
        assertFallback(choose("62 f1 7d 48 6f 06 eb 00", RDI), "not understood"); // EVEX
        assertFallback(choose("48 85", RDI), "not understood");                  // truncated
        assertFallback(choose("", RDI), "not understood");
        assertFallback(choose("48 85 ff", RDI), "not understood");              // ends before anything emulated
    }

    @Test
    void scanWindowIs64Bytes() {
        String test = "48 85 ff ";
        assertEmulatedAt(choose(test.repeat(21) + "eb 00", RDI), 63, 0);
        assertFallback(choose(test.repeat(22) + "eb 00", RDI), "first 64 bytes");
    }
}
