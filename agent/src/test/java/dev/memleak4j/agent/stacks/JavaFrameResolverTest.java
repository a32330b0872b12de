package dev.memleak4j.agent.stacks;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The interpreted methods' cache of {@link JavaFrameResolver}, over a stand-in for the JVM's metadata. */
class JavaFrameResolverTest {
    private static final long METHOD = 0x7f00_1234_5670L;
    private static final long OTHER = 0x7f00_1234_9990L;

    /** Stands in for the JVM: METHOD is a.B.run (10 bytes of code; line 7 from bci 0, line 9 from bci 4). */
    private final List<String> reads = new ArrayList<>();
    private final AtomicLong collections = new AtomicLong();
    private final JavaFrameResolver resolver = new JavaFrameResolver((method, names, lines) -> {
        reads.add(Long.toHexString(method) + (lines ? " with lines" : ""));
        if (method != METHOD) {
            return null;
        }
        names[0] = "a.B.run";
        return lines ? new int[] {10, 0, 7, 4, 9} : new int[] {10};
    }, collections::get, () -> 0, address -> List.of());

    private static long tagged(long method, int bci) {
        return method | JavaFrameResolver.METHOD_TAG | ((long) (bci + 1) << 47);
    }

    private String text(long value) {
        List<Frame> frames = resolver.resolve(value);
        assertEquals(1, frames.size());
        assertEquals(value, frames.get(0).address());
        return frames.get(0).text();
    }

    @Test
    void aMethodIsReadOnceForAllItsBytecodeIndexes() {
        assertEquals("a.B.run:7 [interpreted]", text(tagged(METHOD, 0)));
        assertEquals("a.B.run:7 [interpreted]", text(tagged(METHOD, 3)));
        assertEquals("a.B.run:9 [interpreted]", text(tagged(METHOD, 4)));
        assertEquals("a.B.run:9 [interpreted]", text(tagged(METHOD, 9)));
        assertEquals("a.B.run [interpreted]", text(tagged(METHOD, 10)), "past the code: no line");
        assertEquals("a.B.run:9 [interpreted]", text(tagged(METHOD, 4)));
        assertEquals(List.of("7f0012345670 with lines"), reads);
    }

    @Test
    void linesAreReadOnlyForAFrameWithABytecodeIndex() {
        assertEquals("a.B.run [interpreted]", text(tagged(METHOD, -1)));
        assertEquals("a.B.run [interpreted]", text(tagged(METHOD, -1)));
        assertEquals(List.of("7f0012345670"), reads);
        assertEquals("a.B.run:9 [interpreted]", text(tagged(METHOD, 5)));
        assertEquals(List.of("7f0012345670", "7f0012345670 with lines"), reads);
        assertEquals("a.B.run:7 [interpreted]", text(tagged(METHOD, 1)));
        assertEquals(2, reads.size());
    }

    @Test
    void whetherAValueNamesAMethodNeedsNoLines() {
        assertTrue(resolver.namesMethod(tagged(METHOD, 3)));
        assertTrue(resolver.namesMethod(tagged(METHOD, 4)));
        assertFalse(resolver.namesMethod(tagged(OTHER, 3)));
        assertEquals(List.of("7f0012345670", "7f0012349990"), reads);
        assertEquals("a.B.run:7 [interpreted]", text(tagged(METHOD, 3)));
        assertTrue(resolver.namesMethod(tagged(METHOD, 3)));
        assertEquals(List.of("7f0012345670", "7f0012349990", "7f0012345670 with lines"), reads);
    }

    @Test
    void unknownMethodsAreRememberedToo() {
        assertEquals("[unknown] [interpreted]", text(tagged(OTHER, 2)));
        assertEquals("[unknown] [interpreted]", text(tagged(OTHER, 3)));
        assertNull(resolver.resolve(tagged(OTHER, 3)).get(0).name());
        assertEquals(List.of("7f0012349990 with lines"), reads);
    }

    @Test
    void aCollectionForgetsEveryMethod() {
        text(tagged(METHOD, 0));
        text(tagged(OTHER, 0));
        assertEquals(2, reads.size());
        resolver.forget(); // the code map's generation moved: compiled code was replaced, no Method* went away
        text(tagged(METHOD, 0));
        text(tagged(OTHER, 0));
        assertEquals(2, reads.size());
        collections.incrementAndGet(); // a class may have been unloaded with its Method*s
        assertEquals("a.B.run:7 [interpreted]", text(tagged(METHOD, 0)));
        text(tagged(OTHER, 0));
        assertEquals(List.of("7f0012345670 with lines", "7f0012349990 with lines", "7f0012345670 with lines",
                "7f0012349990 with lines"), reads);
    }

    @Test
    void withoutCollectionCountsTheCallersRuleHolds() {
        collections.set(-1); // this JVM does not count collections
        text(tagged(METHOD, 0));
        text(tagged(METHOD, 0));
        assertEquals(1, reads.size());
        resolver.forget();
        text(tagged(METHOD, 0));
        assertEquals(2, reads.size());
    }
}
