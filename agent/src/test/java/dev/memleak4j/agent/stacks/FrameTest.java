package dev.memleak4j.agent.stacks;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FrameTest {
    @Test
    void textOfEachKind() {
        assertEquals("fibonacci+0x1f [libdemo.so]", new Frame(1, Frame.Kind.NATIVE, "fibonacci", "libdemo.so", 0x1f).text());
        assertEquals("[unknown] [libz.so.1+0x40]", new Frame(1, Frame.Kind.NATIVE, null, "libz.so.1", 0x40).text());
        assertEquals("[unknown]", new Frame(1, Frame.Kind.UNKNOWN, null, null, 0).text());
        assertEquals("dev.memleak4j.demo.DemoApp.leakEverySecond:52 [jit]",
                Frame.java(1, Frame.Kind.JIT, "dev.memleak4j.demo.DemoApp.leakEverySecond", 52).text());
        assertEquals("a.B.c:7 [inlined]", Frame.java(1, Frame.Kind.INLINED, "a.B.c", 7).text());
        assertEquals("a.B.c [interpreted]", Frame.java(1, Frame.Kind.INTERPRETED, "a.B.c", -1).text());
        assertEquals("[unknown] [interpreted]", Frame.java(1, Frame.Kind.INTERPRETED, null, -1).text());
        assertEquals("call_stub [stub]", Frame.stub(1, "call_stub").text());
        assertEquals("java.util.zip.Inflater.inflateBytesBytes [native wrapper]",
                Frame.java(1, Frame.Kind.NATIVE_WRAPPER, "java.util.zip.Inflater.inflateBytesBytes", -1).text());
        assertEquals(-1, new Frame(1, Frame.Kind.NATIVE, "f", "m", 0).line());
    }

    @Test
    void tagOfInterpretedFrames() {
        long method = 0x7f12_3456_7890L;
        assertEquals(true, JavaFrameResolver.isTaggedMethod(method | JavaFrameResolver.METHOD_TAG));
        assertEquals(method, JavaFrameResolver.methodOf(method | JavaFrameResolver.METHOD_TAG));
        assertEquals(false, JavaFrameResolver.isTaggedMethod(method));
        assertEquals(false, JavaFrameResolver.isTaggedMethod(-1L));
    }
}
