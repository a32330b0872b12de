package dev.memleak4j.agent.probes;

import dev.memleak4j.agent.symbols.Mapping;
import dev.memleak4j.agent.symbols.ProcessMaps;
import org.junit.jupiter.api.Test;

import java.io.RandomAccessFile;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CallInstructionsTest {
    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    @Test
    void callsOfEveryFormEndTheCode() {
        assertTrue(CallInstructions.endsWithCall(bytes(0x90, 0x48, 0x89, 0xc7, 0xe8, 0x10, 0x20, 0x30, 0x40)));
        assertTrue(CallInstructions.endsWithCall(bytes(0x90, 0x90, 0xff, 0xd0)), "call *%rax");
        assertTrue(CallInstructions.endsWithCall(bytes(0x90, 0x41, 0xff, 0xd3)), "call *%r11");
        assertTrue(CallInstructions.endsWithCall(bytes(0x90, 0xff, 0x15, 0x10, 0x20, 0x30, 0x00)),
                "call *disp32(%rip)");
        assertTrue(CallInstructions.endsWithCall(bytes(0x41, 0xff, 0x54, 0x24, 0x08)), "call *0x8(%r12)");
    }

    @Test
    void otherCodeDoesNot() {
        assertFalse(CallInstructions.endsWithCall(bytes(0x90, 0x90, 0x90, 0x90, 0x90, 0x90)), "nops");
        assertFalse(CallInstructions.endsWithCall(bytes(0x90, 0xe9, 0x10, 0x20, 0x30, 0x40)), "jmp rel32");
        assertFalse(CallInstructions.endsWithCall(bytes(0x90, 0x90, 0xff, 0xe0)), "jmp *%rax");
        assertFalse(CallInstructions.endsWithCall(bytes(0xe8, 0x10, 0x20, 0x30, 0x40, 0x90)),
                "a call that ends a byte earlier");
        assertFalse(CallInstructions.endsWithCall(bytes(0xc3, 0xcc, 0xcc)), "ret and padding");
        assertFalse(CallInstructions.endsWithCall(bytes(0xd0)), "too short to hold a call");
    }

    /** What the answer was when the general decoder gave it: a call that starts n bytes before the end, n long. */
    private static boolean endsWithCallByDecoder(byte[] code) {
        for (int length = 2; length <= Math.min(InstructionDecoder.MAX_LENGTH, code.length); length++) {
            Instruction instruction = InstructionDecoder.decode(code, code.length - length);
            if (instruction != null && instruction.length() == length && instruction.mnemonic().startsWith("call")) {
                return true;
            }
        }
        return false;
    }

    /** Every end position in {@code code}, each with the bytes before it: the two answers are the same. */
    private static int callEndsAgreeing(byte[] code, String what) {
        int calls = 0;
        for (int end = 1; end <= code.length; end++) {
            byte[] before = Arrays.copyOfRange(code, Math.max(0, end - CallInstructions.MAX_LENGTH), end);
            boolean expected = endsWithCallByDecoder(before);
            assertEquals(expected, CallInstructions.endsWithCall(before),
                    what + ": the bytes before offset " + end + ": " + Arrays.toString(before));
            calls += expected ? 1 : 0;
        }
        return calls;
    }

    /** 256 KiB from the middle of the executable mapping of the loaded {@code library}, as its file holds them. */
    private static byte[] codeOf(String library) throws Exception {
        Mapping code = ProcessMaps.readSelf().mappings().stream()
                .filter(m -> m.perms().startsWith("r-x") && m.pathname().endsWith("/" + library))
                .findFirst().orElseThrow(() -> new AssertionError(library + " is not mapped executable"));
        int size = (int) Math.min(256 * 1024, code.end() - code.start());
        byte[] bytes = new byte[size];
        try (RandomAccessFile file = new RandomAccessFile(code.pathname(), "r")) {
            file.seek(code.offset() + (code.end() - code.start() - size) / 2);
            file.readFully(bytes);
        }
        return bytes;
    }

    @Test
    void answersAsTheGeneralDecoderOnRealCode() throws Exception {
        int inLibjvm = callEndsAgreeing(codeOf("libjvm.so"), "libjvm.so");
        int inLibc = callEndsAgreeing(codeOf("libc.so.6"), "libc.so.6");
        assertTrue(inLibjvm > 1000 && inLibc > 1000,
                "real code has calls to tell apart: " + inLibjvm + " in libjvm, " + inLibc + " in libc");
    }

    @Test
    void answersAsTheGeneralDecoderOnBytesMadeOfCallParts() {
        // Random bytes seldom hold a call: these are drawn mostly from prefixes, REX, e8, ff and ModRM/SIB bytes.
        int[] parts = {0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x3e, 0x64, 0x40, 0x41, 0x48, 0x49, 0x4c, 0xe8, 0xff, 0xff,
                0x10, 0x14, 0x15, 0x50, 0x54, 0x90, 0x94, 0xd0, 0xd3, 0x24, 0x25, 0x05};
        Random random = new Random(42);
        byte[] code = new byte[200_000];
        for (int i = 0; i < code.length; i++) {
            code[i] = (byte) (random.nextInt(4) == 0 ? random.nextInt(256) : parts[random.nextInt(parts.length)]);
        }
        assertTrue(callEndsAgreeing(code, "generated") > 1000, "the generated bytes hold calls");
    }
}
