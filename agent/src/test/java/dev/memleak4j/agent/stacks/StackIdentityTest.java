package dev.memleak4j.agent.stacks;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class StackIdentityTest {
    private static final Frame MALLOC_CALLER = new Frame(0x7f00000011dcL, Frame.Kind.NATIVE,
            "Java_app_Lib_leak", "libleak.so", 0xc);

    /** A leak's stack as C1's or C2's code of callSite makes it: only addresses and the inlining differ. */
    private static List<Frame> compiled(long base, Frame.Kind allocateKind) {
        return List.of(MALLOC_CALLER,
                Frame.java(base + 0x1dc, Frame.Kind.NATIVE_WRAPPER, "app.Lib.leak", -1),
                Frame.java(base + 0x234, allocateKind, "app.Main.allocate", 35, "Main.java"),
                Frame.java(base + 0x234, Frame.Kind.JIT, "app.Main.callSite", 31, "Main.java"),
                Frame.java((1L << 62) | 0x7f0012345678L, Frame.Kind.INTERPRETED, "app.Main.main", -1),
                Frame.stub(0x7f0000ac938cc9L, "call_stub"));
    }

    @Test
    void theSameCallPathThroughOtherCodeIsOneStack() {
        long c1 = StackIdentity.of(compiled(0x7f48acf7a000L, Frame.Kind.JIT));
        long c2 = StackIdentity.of(compiled(0x7f48ad100000L, Frame.Kind.INLINED));
        assertEquals(c1, c2, "C1 (allocate compiled on its own) and C2 (allocate inlined) at other addresses");
        assertEquals(1, c1 & 1, "odd: never 0");
    }

    @Test
    void anotherLineMethodKindOrCallIsAnotherStack() {
        List<Frame> stack = compiled(0x7f48acf7a000L, Frame.Kind.INLINED);
        long id = StackIdentity.of(stack);
        assertNotEquals(id, StackIdentity.of(replace(stack, 3,
                Frame.java(0, Frame.Kind.JIT, "app.Main.callSite", 32, "Main.java"))), "another line");
        assertNotEquals(id, StackIdentity.of(replace(stack, 3,
                Frame.java(0, Frame.Kind.JIT, "app.Main.otherSite", 31, "Main.java"))), "another method");
        assertNotEquals(id, StackIdentity.of(replace(stack, 0,
                new Frame(0x7f00000011f0L, Frame.Kind.NATIVE, "Java_app_Lib_leak", "libleak.so", 0x20))),
                "another call in the same function");
        assertNotEquals(id, StackIdentity.of(stack.subList(1, 6)), "a frame fewer");
        assertNotEquals(StackIdentity.of(List.of(new Frame(0x10, Frame.Kind.UNKNOWN, null, null, 0))),
                StackIdentity.of(List.of(new Frame(0x20, Frame.Kind.UNKNOWN, null, null, 0))),
                "unknown frames: by address");
    }

    @Test
    void howTheJvmRunsAMethodAndTheThreadsBottomDoNotMakeAnotherStack() {
        List<Frame> stack = compiled(0x7f48acf7a000L, Frame.Kind.INLINED);
        long id = StackIdentity.of(stack);
        assertEquals(id, StackIdentity.of(replace(stack, 3,
                Frame.java(0, Frame.Kind.INTERPRETED, "app.Main.callSite", 31, "Main.java"))), "interpreted");
        assertEquals(id, StackIdentity.of(replace(stack, 1,
                Frame.java((1L << 62) | 0x7f0012340000L, Frame.Kind.INTERPRETED, "app.Lib.leak", -1))),
                "a native method called from the interpreter: no wrapper");
        assertEquals(id, StackIdentity.of(stack.subList(0, 5)), "the walk stopped at the outermost Java frame");
        assertNotEquals(id, StackIdentity.of(stack.subList(0, 4)), "but not above it");
    }

    @Test
    void namesAreNotConfusedAcrossFrames() {
        List<Frame> ab = List.of(Frame.java(0, Frame.Kind.JIT, "a.B", 1), Frame.java(0, Frame.Kind.JIT, "c", 1));
        List<Frame> a = List.of(Frame.java(0, Frame.Kind.JIT, "a", 1), Frame.java(0, Frame.Kind.JIT, "B.c", 1));
        assertNotEquals(StackIdentity.of(ab), StackIdentity.of(a));
    }

    private static List<Frame> replace(List<Frame> frames, int index, Frame frame) {
        List<Frame> copy = new java.util.ArrayList<>(frames);
        copy.set(index, frame);
        return copy;
    }
}
