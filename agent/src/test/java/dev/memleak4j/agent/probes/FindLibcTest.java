package dev.memleak4j.agent.probes;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FindLibcTest {

    @Test
    void versionedLibcNamesAreTheOlderGlibcInstalls() {
        assertTrue(AllocatorProbes.isVersionedLibc("libc-2.31.so"));
        assertTrue(AllocatorProbes.isVersionedLibc("libc-2.so"));
        assertFalse(AllocatorProbes.isVersionedLibc("libc-.so"));
        assertFalse(AllocatorProbes.isVersionedLibc("libc.so.6"));
        assertFalse(AllocatorProbes.isVersionedLibc("libc-client.so"));
        assertFalse(AllocatorProbes.isVersionedLibc("libc-2.31.so.1"));
        assertFalse(AllocatorProbes.isVersionedLibc("libcrypto-3.so"));
    }

    @Test
    void findsTheLibcThisJvmRunsOn() throws Exception {
        String name = AllocatorProbes.findLibc().getFileName().toString();
        assertTrue(name.equals("libc.so.6") || AllocatorProbes.isVersionedLibc(name), name);
    }
}
