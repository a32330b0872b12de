package dev.memleak4j.agent.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class NativeFrameTest {

    @Test
    void formatsLikeBccMemleak() {
        assertEquals("fibonacci+0x1f [libdemo.so]",
                new NativeFrame(0x7f00001234L, "fibonacci", 0x1f, "libdemo.so", "/opt/libdemo.so").format());
        assertEquals("[unknown] [libdemo.so+0x12ab]",
                new NativeFrame(0x7f00001234L, null, 0x12ab, "libdemo.so", "/opt/libdemo.so").format());
        assertEquals("[unknown]", NativeFrame.unknown(0x7f00001234L).format());
        assertEquals("os::malloc(unsigned long)+0x0 [libjvm.so]",
                new NativeFrame(1, "os::malloc(unsigned long)", 0, "libjvm.so", "/x/libjvm.so").format());
        assertEquals("[unknown] [[vdso]+0x9a0]", new NativeFrame(1, null, 0x9a0, "[vdso]", "[vdso]").format());
    }
}
