package dev.memleak4j.agent.probes;

import org.junit.jupiter.api.Test;

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
}
