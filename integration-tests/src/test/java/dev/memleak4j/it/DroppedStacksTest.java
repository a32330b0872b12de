package dev.memleak4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.memleak4j.it.programs.LeakProgram;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A block the agent cannot track (its table full: max-allocs) still has its stack stored by the BPF programs. Those
 * stacks are forgotten once idle like the stacks of freed blocks, so that a long stretch of a full table does not
 * fill the stack map too: 96 such stacks go through max-stacks=64 here (max-allocs=1, held by a block from another
 * stack), and the stack of the block tracked after them still gets its frames.
 */
class DroppedStacksTest {
    private static final long SIZE = LeakProgram.IDLE_STACKS_SIZE;

    @Test
    void stacksOfBlocksNotTrackedAreForgottenToo() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("dropped-stacks");
        AgentRun run = AgentRun.leakProgram(dir, "interval=1,older=0,top=100,min-size=" + SIZE + ",max-size=" + SIZE
                + ",max-allocs=1,max-stacks=64,json=" + dir.resolve("snapshot.json"), "dropped-stacks", "5000");
        assertEquals(0, run.exitCode, run.describe());
        JsonNode document = new ObjectMapper().readTree(Files.readString(dir.resolve("snapshot.json")));
        String context = run.describe() + "\n" + document.toPrettyString();

        // The one block the table holds at the end: the first from depth 98.
        assertEquals(SIZE, document.get("outstanding").get("bytes").asLong(), context);
        assertEquals(1, document.get("outstanding").get("allocations").asLong(), context);
        JsonNode stacks = document.get("stacks");
        assertEquals(1, stacks.size(), context);
        assertEquals(99, IdleStacksTest.mallocAtDepthFrames(stacks.get(0)),
                "the kept block's stack, depth 98, with its frames:\n" + context);

        JsonNode losses = document.get("losses");
        // The 96 blocks of the rounds and the two last from depth 98.
        assertEquals(98, losses.get("allocationMapFull").asLong(), context);
        assertEquals(0, losses.get("stackMapFull").asLong(), context);
        JsonNode counters = document.get("counters");
        assertEquals(98, counters.get("stacksStored").asLong(), context);
        assertTrue(counters.get("stacksForgotten").asLong() >= 34, context);
    }
}
