package dev.memleak4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class BareUprobeTest {
    private static final List<String> MAPS = List.of(
            "7f3a1c000000-7f3a1c028000 r--p 00000000 fe:01 1054 /usr/lib/x86_64-linux-gnu/libc.so.6",
            "7f3a1c028000-7f3a1c17d000 r-xp 00028000 fe:01 1054 /usr/lib/x86_64-linux-gnu/libc.so.6",
            "7f3a1c17d000-7f3a1c1d5000 r--p 0017d000 fe:01 1054 /usr/lib/x86_64-linux-gnu/libc.so.6",
            "7f3a1c1e0000-7f3a1c1ed000 rw-p 00000000 00:00 0",
            "7ffd5b9e5000-7ffd5ba06000 rw-p 00000000 00:00 0                          [stack]");

    @Test
    void fileOffsetOfAnAddressInTheTextMapping() {
        // glibc 2.36's malloc: file offset 0x98930, in the r-x mapping that starts at file offset 0x28000
        long malloc = 0x7f3a1c028000L + (0x98930 - 0x28000);
        assertEquals("/usr/lib/x86_64-linux-gnu/libc.so.6:0x98930", BareUprobe.probeSpec(malloc, MAPS));
    }

    @Test
    void noSpecOutsideFileMappings() {
        assertNull(BareUprobe.probeSpec(0x7f3a1c1e0010L, MAPS), "anonymous");
        assertNull(BareUprobe.probeSpec(0x7ffd5b9e6000L, MAPS), "[stack]");
        assertNull(BareUprobe.probeSpec(0x1000, MAPS), "unmapped");
        assertNull(BareUprobe.probeSpec(0x7f3a1c17d000L + 0x58000, MAPS), "one past the end");
    }
}
