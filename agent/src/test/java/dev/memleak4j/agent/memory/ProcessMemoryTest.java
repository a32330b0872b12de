package dev.memleak4j.agent.memory;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The two figures read from text: VmRSS from /proc/self/status, NMT's committed total from its summary. */
class ProcessMemoryTest {
    @Test
    void rssIsTheVmRssLineInKib() {
        assertEquals(81_234, ProcessMemory.rssKiB("Name:\tjava\nVmHWM:\t   90000 kB\nVmRSS:\t   81234 kB\n"
                + "RssAnon:\t   40000 kB\n"));
        assertEquals(7, ProcessMemory.rssKiB("VmRSS: 7 kB"));
        assertEquals(0, ProcessMemory.rssKiB("Name:\tjava\nVmRSS:\t   kB\nVmRSS:81 kB\nXVmRSS:\t 5 kB\n"));
        assertEquals(0, ProcessMemory.rssKiB(""));
    }

    @Test
    void nmtCommittedIsTheTotalLinesCommittedKb() {
        assertEquals(210_555, ProcessMemory.nmtCommittedKiB("Native Memory Tracking:\n\n(Omitting categories)\n\n"
                + "Total: reserved=1508264KB, committed=210555KB\n       malloc: 20468KB #41062\n\n"
                + "-                 Java Heap (reserved=262144KB, committed=16384KB)\n"));
        assertEquals(3, ProcessMemory.nmtCommittedKiB("Total: reserved=KB, committed=1KB\nTotal: reserved=2KB, "
                + "committed=3KB"));
        assertEquals(-1, ProcessMemory.nmtCommittedKiB("Native memory tracking is not enabled"));
    }
}
