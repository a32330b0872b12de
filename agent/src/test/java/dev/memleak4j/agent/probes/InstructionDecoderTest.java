package dev.memleak4j.agent.probes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.memleak4j.agent.probes.Instruction.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Lengths and classifications of single instructions (bytes from GNU as / objdump). */
class InstructionDecoderTest {

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', value = {
        "f3 0f 1e fa|endbr64|PLAIN",
        "55|push %rbp|EMULATED_PUSH",
        "41 54|push %r12|EMULATED_PUSH",
        "48 89 e5|mov %rsp,%rbp|PLAIN",
        "64 48 8b 04 25 00 00 00 00|mov %fs:0x0,%rax|PLAIN",
        "64 48 8b 04 25 28 00 00 00|mov %fs:0x28,%rax|PLAIN",
        "48 8b 15 34 12 00 00|mov 0x1234(%rip),%rdx|PLAIN",
        "48 85 ff|test %rdi,%rdi|PLAIN",
        "74 00|je|EMULATED_BRANCH",
        "0f 84 bf 00 00 00|je rel32|EMULATED_BRANCH",
        "48 8d 4f 10|lea 0x10(%rdi),%rcx|PLAIN",
        "31 c0|xor %eax,%eax|PLAIN",
        "48 83 7c cc 18 00|cmpq $0x0,0x18(%rsp,%rcx,8)|PLAIN",
        "48 81 fe ff ff ff 7f|cmp $0x7fffffff,%rsi|PLAIN",
        "80 3d 46 1b 14 00 00|cmpb $0x0,0x141b46(%rip)|PLAIN",
        "48 83 ec 28|sub $0x28,%rsp|PLAIN",
        "48 81 ec 28 01 00 00|sub $0x128,%rsp|PLAIN",
        "0f 1f 04 00|nopl (%rax,%rax,1)|PLAIN",
        "0f 1f 44 00 00|nopl 0x0(%rax,%rax,1)|EMULATED_NOP",
        "66 0f 1f 44 00 00|nopw 0x0(%rax,%rax,1)|EMULATED_NOP",
        "0f 1f 80 00 00 00 00|nopl 0x0(%rax)|EMULATED_NOP",
        "0f 1f 84 00 00 00 00 00|nopl 0x0(%rax,%rax,1)|EMULATED_NOP",
        "66 90|xchg %ax,%ax|EMULATED_NOP",
        "90|nop|EMULATED_NOP",
        "e8 00 00 00 00|call|EMULATED_BRANCH",
        "e9 32 f6 ff ff|jmp|EMULATED_BRANCH",
        "eb 05|jmp|EMULATED_BRANCH",
        "c3|ret|CONTROL",
        "f3 c3|repz ret|CONTROL",
        "c2 08 00|ret $8|CONTROL",
        "f2 eb 00|bnd jmp|CONTROL",
        "3e ff e0|notrack jmp *%rax|CONTROL",
        "ff 25 00 10 00 00|jmp *0x1000(%rip)|CONTROL",
        "41 ff d3|call *%r11|CONTROL",
        "0f 05|syscall|CONTROL",
        "49 bb f0 de bc 9a 78 56 34 12|movabs $..,%r11|PLAIN",
        "c7 45 fc 01 00 00 00|movl $0x1,-0x4(%rbp)|PLAIN",
        "41 89 f0|mov %esi,%r8d|PLAIN",
        "48 69 c6 00 10 00 00|imul $0x1000,%rsi,%rax|PLAIN",
        "2e 66 0f 1f 04 00|cs nopw (%rax,%rax,1)|PLAIN",
        "66 66 2e 0f 1f 84 00 00 00 00 00|data16 cs nopw 0x0(%rax,%rax,1)|PLAIN",
        "48 0f 45 c2|cmovne %rdx,%rax|PLAIN",
        "0f 94 c1|sete %cl|PLAIN",
        "0f b6 07|movzbl (%rdi),%eax|PLAIN",
        "48 c1 e0 04|shl $0x4,%rax|PLAIN",
        "48 f7 e2|mul %rdx|PLAIN",
        "f0 48 0f b1 37|lock cmpxchg %rsi,(%rdi)|OPAQUE",
        "f3 48 ab|rep stos|OPAQUE",
        "c5 fe 6f 06|vmovdqu (%rsi),%ymm0|OPAQUE",
        "c4 e2 7d 78 c0|vpbroadcastb %xmm0,%ymm0|OPAQUE",
        "c5 fd 74 0f|vpcmpeqb (%rdi),%ymm0,%ymm1|OPAQUE",
        "c5 f8 77|vzeroupper|OPAQUE",
        "c4 e3 69 0f d9 05|vpalignr $0x5,..|OPAQUE",
        "48 83 e4 f0|and $-16,%rsp|PLAIN",
        "0f a2|cpuid|OPAQUE",
        "f3 48 0f bc d0|tzcnt %rax,%rdx|PLAIN",
        "f3 90|pause|PLAIN",
        "66 0f 6f 05 00 00 00 00|movdqa 0x0(%rip),%xmm0|OPAQUE",
        "66 0f 3a 0f c1 08|palignr $8,%xmm1,%xmm0|OPAQUE",
        "66 0f 38 00 c1|pshufb %xmm1,%xmm0|OPAQUE",
        "66 0f 70 c0 00|pshufd $0,%xmm0,%xmm0|OPAQUE",
        "66 41 c7 04 24 01 00|movw $1,(%r12)|PLAIN",
        "66 b8 34 12|mov $0x1234,%ax|PLAIN",
        "b8 01 00 00 00|mov $1,%eax|PLAIN",
        "48 c7 c0 ff ff ff ff|mov $-1,%rax|PLAIN",
        "41 f6 44 24 08 01|testb $1,0x8(%r12)|PLAIN",
        "f7 c7 00 00 01 00|test $0x10000,%edi|PLAIN",
        "4c 8b 64 24 08|mov 0x8(%rsp),%r12|PLAIN",
        "4b 8b 04 e3|mov (%r11,%r12,8),%rax|PLAIN",
        "42 8b 04 25 00 00 00 00|mov 0x0(,%r12,1),%eax|PLAIN",
        "41 8b 45 00|mov 0x0(%r13),%eax|PLAIN",
        "8b 84 24 00 01 00 00|mov 0x100(%rsp),%eax|PLAIN",
        "a1 00 00 00 00 00 00 00 00|movabs 0x0,%eax|OPAQUE",
        "67 8b 07|mov (%edi),%eax|PLAIN",
        "dd 44 24 08|fldl 0x8(%rsp)|OPAQUE",
        "d9 c9|fxch|OPAQUE",
        "c6 f8 01|xabort $1|OPAQUE",
        "c7 f8 00 00 00 00|xbegin|CONTROL",
        "0f ba e0 03|bt $3,%eax|PLAIN",
        "48 0f c7 0f|cmpxchg16b (%rdi)|OPAQUE",
        "66 66 48 e8 00 00 00 00|data16 data16 rex.W call (TLS)|CONTROL",
        "66 48 8d 3d 00 00 00 00|data16 lea 0x0(%rip),%rdi|PLAIN",
    })
    void lengthsAndKinds(String hex, String what, Kind kind) {
        byte[] code = Hex.bytes(hex);
        Instruction insn = InstructionDecoder.decode(code, 0);
        assertNotNull(insn, what);
        assertEquals(code.length, insn.length(), what);
        assertEquals(kind, insn.kind(), what);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "62 f1 7d 48 6f 06",   // EVEX
        "0f 0f c1 b4",         // 3DNow!
        "48 66 90",            // REX before a legacy prefix
        "48 48 89 e5",         // two REX prefixes
        "8d c0",               // lea with a register operand
        "ff d8",               // far call, register form (invalid)
        "66 e8 00 00",         // call with operand-size prefix: length is vendor dependent
        "66 0f 84 00 00",      // jcc rel16/32 ditto
        "06",                  // invalid in 64-bit mode
        "0f 78 c0",            // vmread / extrq: not supported
        "66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", // 15 bytes: fine
        "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90", // 16 bytes: too long
        "48 89",               // truncated ModRM
        "48 8b 05 00 00 00",   // truncated disp32
        "e9 00 00",            // truncated rel32
    })
    void notUnderstood(String hex) {
        byte[] code = Hex.bytes(hex);
        Instruction insn = InstructionDecoder.decode(code, 0);
        if (code.length == 15) {
            assertNotNull(insn, hex);
            assertEquals(15, insn.length());
        } else {
            assertNull(insn, () -> hex + " decoded as " + insn);
        }
    }

    @Test
    void registerWriteModel() {
        assertEquals(java.util.List.of(Reg.RAX, Reg.RDX), InstructionDecoder.decode(Hex.bytes("48 f7 e2"), 0).writtenRegs());
        assertEquals(java.util.List.of(Reg.RDX), InstructionDecoder.decode(Hex.bytes("b6 01"), 0).writtenRegs()); // mov $1,%dh
        assertEquals(java.util.List.of(Reg.RSI), InstructionDecoder.decode(Hex.bytes("40 b6 01"), 0).writtenRegs()); // mov $1,%sil
        assertEquals(java.util.List.of(Reg.RBX), InstructionDecoder.decode(Hex.bytes("88 e7"), 0).writtenRegs()); // mov %ah,%bh
        assertEquals(java.util.List.of(), InstructionDecoder.decode(Hex.bytes("48 85 ff"), 0).writtenRegs());
        assertEquals(java.util.List.of(Reg.R12), InstructionDecoder.decode(Hex.bytes("49 89 d4"), 0).writtenRegs());
        Instruction sub = InstructionDecoder.decode(Hex.bytes("48 83 ec 10"), 0);
        assertEquals(16, sub.stackGrowth());
        assertEquals(java.util.List.of(), sub.writtenRegs());
        Instruction subEsp = InstructionDecoder.decode(Hex.bytes("83 ec 10"), 0); // 32-bit: zero-extends, untracked
        assertEquals(java.util.List.of(Reg.RSP), subEsp.writtenRegs());
        assertEquals(0, subEsp.stackGrowth());
    }
}
