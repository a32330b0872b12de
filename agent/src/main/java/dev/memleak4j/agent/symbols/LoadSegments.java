package dev.memleak4j.agent.symbols;

import java.util.List;
import java.util.OptionalLong;

/**
 * Translates between file offsets and link-time virtual addresses through a file's PT_LOAD segments.
 * Kept apart from {@link ElfFile} so the translation outlives the open file in caches.
 */
public final class LoadSegments {

    /**
     * The loader maps whole pages, so a mapping can start up to a page before its segment's first
     * byte; x86-64 user pages are 4 KiB.
     */
    private static final long PAGE_SIZE = 4096;

    private final List<LoadSegment> segments;

    public LoadSegments(List<LoadSegment> segments) {
        this.segments = List.copyOf(segments);
    }

    public List<LoadSegment> segments() {
        return segments;
    }

    /** File offset holding the byte linked at {@code vaddr}, or empty when no file byte backs it. */
    public OptionalLong fileOffsetOfVaddr(long vaddr) {
        for (LoadSegment s : segments) {
            if (s.containsVaddrInFile(vaddr)) {
                return OptionalLong.of(vaddr - s.vaddr() + s.offset());
            }
        }
        return OptionalLong.empty();
    }

    /**
     * Link-time virtual address of the byte found at {@code fileOffset} in a mapping of this file,
     * or empty when no segment maps that offset.
     */
    public OptionalLong vaddrOfFileOffset(long fileOffset) {
        for (LoadSegment s : segments) {
            if (s.containsFileOffset(fileOffset)) {
                return OptionalLong.of(fileOffset - s.offset() + s.vaddr());
            }
        }
        // Not inside any segment's file bytes: it is either the page-alignment slack in front of a
        // segment or the zero-filled tail of its last page. Offset and vaddr of a segment are
        // congruent modulo the page size, so the segment's own delta still applies.
        for (LoadSegment s : segments) {
            long firstMapped = s.offset() & -PAGE_SIZE;
            if (fileOffset - firstMapped >= 0 && fileOffset - s.offset() < s.memsz()) {
                return OptionalLong.of(fileOffset - s.offset() + s.vaddr());
            }
        }
        return OptionalLong.empty();
    }
}
