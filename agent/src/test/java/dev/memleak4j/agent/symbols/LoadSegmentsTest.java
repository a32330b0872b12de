package dev.memleak4j.agent.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class LoadSegmentsTest {

    /** Shaped like a typical shared object: the data segment's vaddr is 0x11000 beyond its offset. */
    private final LoadSegments segments = new LoadSegments(List.of(
            new LoadSegment(0x0, 0x0, 0x800, 0x800, LoadSegment.PF_R),
            new LoadSegment(0x1000, 0x1000, 0x5000, 0x5000, LoadSegment.PF_R | LoadSegment.PF_X),
            new LoadSegment(0x178d0, 0x68d0, 0x100, 0x2000, LoadSegment.PF_R | LoadSegment.PF_W)));

    @Test
    void mapsFileOffsetsInsideSegments() {
        assertEquals(OptionalLong.of(0x1234), segments.vaddrOfFileOffset(0x1234));
        assertEquals(OptionalLong.of(0x178d0), segments.vaddrOfFileOffset(0x68d0));
        assertEquals(OptionalLong.of(0x179cf), segments.vaddrOfFileOffset(0x69cf));
    }

    @Test
    void mapsPageSlackBeforeASegmentAndTheZeroFilledTailAfterIt() {
        // The data mapping starts at file offset 0x6000, the page holding the segment's first byte.
        assertEquals(OptionalLong.of(0x17000), segments.vaddrOfFileOffset(0x6000));
        assertEquals(OptionalLong.of(0x17a00), segments.vaddrOfFileOffset(0x6a00));
        assertEquals(OptionalLong.empty(), segments.vaddrOfFileOffset(0x68d0 + 0x2000));
        assertEquals(OptionalLong.empty(), segments.vaddrOfFileOffset(0x800_000));
    }

    @Test
    void mapsVaddrsBackToFileOffsets() {
        assertEquals(OptionalLong.of(0x69cf), segments.fileOffsetOfVaddr(0x179cf));
        assertEquals(OptionalLong.empty(), segments.fileOffsetOfVaddr(0x179d0), ".bss has no file bytes");
        assertEquals(OptionalLong.empty(), segments.fileOffsetOfVaddr(0x900), "between segments");
    }
}
