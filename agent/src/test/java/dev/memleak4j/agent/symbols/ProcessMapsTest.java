package dev.memleak4j.agent.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProcessMapsTest {

    private static final String SAMPLE = String.join("\n",
            "55d4c8a00000-55d4c8a21000 rw-p 00000000 00:00 0                          [heap]",
            "7f8c3dd9c000-7f8c3ddc2000 r--p 00000000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6",
            "7f8c3ddc2000-7f8c3df18000 r-xp 00026000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6",
            "7f8c3e000000-7f8c3e001000 r-xp 00001000 08:01 4242                       /opt/My Apps/lib demo.so (deleted)",
            "7f8c3e001000-7f8c3e002000 rw-p 00000000 00:00 0 ",
            "7f8c3e002000-7f8c3e003000 rw-p 00000000 00:00 0",
            "7f8c3e003000-7f8c3e004000 r--p 00000000 00:00 0                          [anon:java heap]",
            "7ffc1a1f0000-7ffc1a1f2000 r-xp 00000000 00:00 0                          [vdso]",
            "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
            "");

    private final ProcessMaps maps = ProcessMaps.parse(SAMPLE);

    @Test
    void parsesAllFieldsOfAFileMapping() {
        Mapping m = maps.find(0x7f8c3ddc2000L + 0x1234);
        assertEquals(new Mapping(0x7f8c3ddc2000L, 0x7f8c3df18000L, "r-xp", 0x26000, "fe:00", 339380,
                "/usr/lib/x86_64-linux-gnu/libc.so.6"), m);
        assertEquals("libc.so.6", m.moduleName());
        assertEquals("/usr/lib/x86_64-linux-gnu/libc.so.6", m.filePath());
        assertFalse(m.isDeleted());
        assertEquals(0x26000 + 0x1234, m.fileOffsetOf(0x7f8c3ddc2000L + 0x1234));
    }

    @Test
    void keepsSpacesAndRecognizesDeletedFiles() {
        Mapping m = maps.find(0x7f8c3e000800L);
        assertEquals("/opt/My Apps/lib demo.so (deleted)", m.pathname());
        assertTrue(m.isFile());
        assertTrue(m.isDeleted());
        assertEquals("/opt/My Apps/lib demo.so", m.filePath());
        assertEquals("lib demo.so", m.moduleName());
        assertEquals(4242, m.inode());
        assertEquals("08:01", m.dev());
    }

    @Test
    void keepsPseudoNamesAndAnonymousMappings() {
        assertEquals("[heap]", maps.find(0x55d4c8a00000L).moduleName());
        assertEquals("[vdso]", maps.find(0x7ffc1a1f0010L).moduleName());
        assertEquals("[anon:java heap]", maps.find(0x7f8c3e003000L).moduleName());
        assertNull(maps.find(0x7ffc1a1f0010L).filePath());
        Mapping withTrailingSpace = maps.find(0x7f8c3e001000L);
        Mapping withoutTrailingSpace = maps.find(0x7f8c3e002fffL);
        assertEquals("", withTrailingSpace.pathname());
        assertEquals("", withoutTrailingSpace.pathname());
        assertNull(withTrailingSpace.moduleName());
        assertFalse(withTrailingSpace.isFile());
    }

    @Test
    void handlesAddressesAboveTwoToTheSixtyThree() {
        Mapping vsyscall = maps.find(0xffffffffff600400L);
        assertEquals("[vsyscall]", vsyscall.pathname());
        assertEquals(0xffffffffff600000L, vsyscall.start());
        assertEquals(vsyscall, maps.mappings().get(maps.mappings().size() - 1));
    }

    @Test
    void sortsATextNotInAddressOrder() {
        List<String> lines = new ArrayList<>(SAMPLE.lines().toList());
        Collections.reverse(lines);
        assertEquals(maps.mappings(), ProcessMaps.parse(String.join("\n", lines)).mappings());
    }

    @Test
    void findsNothingInGapsAndAtExclusiveEnds() {
        assertEquals(9, maps.mappings().size());
        assertNull(maps.find(0x1000));
        assertNull(maps.find(0x55d4c8a21000L));
        assertNull(maps.find(0x7ffc1a1f2000L));
        assertEquals(maps.mappings().get(1), maps.find(0x7f8c3dd9c000L));
        assertEquals(maps.mappings().get(1), maps.find(0x7f8c3ddc1fffL));
        assertEquals(-1, maps.indexOf(0x7ffc1a1f2000L));
        assertEquals(1, maps.indexOf(0x7f8c3ddc1fffL));
    }

    /** Frames keep their module's name: every mapping of one file gives the same String, not a copy each. */
    @Test
    void modulesNamesAreOneStringPerFile() {
        int readOnly = maps.indexOf(0x7f8c3dd9c000L);
        int code = maps.indexOf(0x7f8c3ddc2000L);
        assertEquals("libc.so.6", maps.moduleName(code));
        assertSame(maps.moduleName(readOnly), maps.moduleName(code));
        assertEquals("[vdso]", maps.moduleName(maps.indexOf(0x7ffc1a1f0010L)));
        assertNull(maps.moduleName(maps.indexOf(0x7f8c3e001000L)));
    }

    @Test
    void rejectsMalformedLines() {
        assertThrows(IllegalArgumentException.class, () -> ProcessMaps.parse("not a maps line"));
        assertThrows(IllegalArgumentException.class, () -> ProcessMaps.parse("zz-10 r-xp 0 00:00 0 x"));
        assertThrows(IllegalArgumentException.class, () -> ProcessMaps.parse("10-20 r-xp 0 00:00"));
        assertThrows(IllegalArgumentException.class, () -> ProcessMaps.parse("1020 r-xp 0 00:00 0 /lib/x.so"));
        assertThrows(IllegalArgumentException.class, () -> ProcessMaps.parse("10-20 r-xp 0 00-00 zero /lib/x.so"));
        assertThrows(IllegalArgumentException.class, () -> ProcessMaps.parse("10- r-xp 0 00:00 0"));
        // An address of 17 hex digits, an inode in hex, a sign: none is a number the kernel writes there.
        assertThrows(IllegalArgumentException.class, () -> ProcessMaps.parse("10000000000000000-1 r-xp 0 00:00 0"));
        assertThrows(IllegalArgumentException.class, () -> ProcessMaps.parse("10-20 r-xp 0 00:00 1f /lib/x.so"));
        assertThrows(IllegalArgumentException.class, () -> ProcessMaps.parse("+10-20 r-xp 0 00:00 0 /lib/x.so"));
    }

    /** Every line of a real maps file, field by field, against a plain split of the same line. */
    @Test
    void readsEveryLineOfARealMapsFileAsWritten() throws IOException {
        String text = Files.readString(Path.of("/proc/self/maps"));
        List<String> lines = text.lines().toList();
        List<Mapping> parsed = ProcessMaps.parse(text).mappings();
        assertEquals(lines.size(), parsed.size());
        for (int i = 0; i < lines.size(); i++) {
            String[] fields = lines.get(i).split(" +", 6);
            String[] range = fields[0].split("-");
            Mapping expected = new Mapping(Long.parseUnsignedLong(range[0], 16), Long.parseUnsignedLong(range[1], 16),
                    fields[1], Long.parseUnsignedLong(fields[2], 16), fields[3], Long.parseLong(fields[4]),
                    fields.length == 6 ? fields[5] : "");
            assertEquals(expected, parsed.get(i), lines.get(i));
        }
    }

    @Test
    void readsOwnMapsWithTheRunningLibjvm() throws IOException {
        List<Mapping> own = ProcessMaps.readSelf().mappings();
        for (int i = 1; i < own.size(); i++) {
            assertTrue(Long.compareUnsigned(own.get(i - 1).end(), own.get(i).start()) <= 0);
        }
        Mapping libjvmText = own.stream().filter(m -> "libjvm.so".equals(m.moduleName()) && m.perms().contains("x"))
                .findFirst().orElseThrow();
        assertEquals(libjvmText, ProcessMaps.readPid(ProcessHandle.current().pid()).find(libjvmText.start()));
    }
}
