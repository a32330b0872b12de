package dev.memleak4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class BenchOptionsTest {
    @Test
    void theDoNothingAgentRunsInTheGcBoundWorkloadsAndTheStartUpRowByDefault() {
        BenchOptions options = BenchOptions.parse(new String[0]);
        assertEquals(List.of("direct-buffer", "gc-heavy", "startup"), options.emptyAgentWorkloads);
    }

    @Test
    void emptyAgentTakesWorkloadsAndStartupOrNone() {
        assertEquals(List.of("mix", "startup"),
                BenchOptions.parse(new String[] {"--empty-agent", "mix,startup"}).emptyAgentWorkloads);
        assertTrue(BenchOptions.parse(new String[] {"--empty-agent", "none"}).emptyAgentWorkloads.isEmpty());
    }

    @Test
    void anUnknownWorkloadForTheDoNothingAgentIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchOptions.parse(new String[] {"--empty-agent", "gc-hevy"}));
        assertEquals("unknown workload: gc-hevy", e.getMessage());
    }

    @Test
    void noJavacSkipsTheRowWhateverTheRoundsSay() {
        assertTrue(BenchOptions.parse(new String[] {"--javac-rounds", "9"}).runsJavac());
        assertFalse(BenchOptions.parse(new String[] {"--no-javac", "no classpath", "--javac-rounds", "9"})
                .runsJavac());
        BenchOptions last = BenchOptions.parse(new String[] {"--javac-rounds", "9", "--no-javac", "why"});
        assertFalse(last.runsJavac());
        assertEquals("why", last.noJavacReason);
    }
}
