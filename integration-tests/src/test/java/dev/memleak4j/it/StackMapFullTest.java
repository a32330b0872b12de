package dev.memleak4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * max-stacks=1: the first stack stored takes the map's only slot. Every tracked allocation from another stack must
 * still be tracked and reported (bytes and count, without frames), and counted as "tracked without stack: stack map
 * full": nothing lost silently. It also holds the kernel side's cache of stored stack ids to its promise: a store that
 * failed must not be remembered as stored, or the next allocation from that stack would carry an id whose frames do
 * not exist and no loss would be counted for it.
 */
class StackMapFullTest {
    @Test
    void allocationsBeyondAFullStackMapAreCountedAndStillReported() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("stacks-full");
        Path json = dir.resolve("snapshot.json");
        AgentRun run = AgentRun.leakProgram(dir,
                "interval=1,count=2,older=0,top=100,min-size=900000,max-stacks=1,json=" + json, "all-functions",
                "3500");
        assertEquals(0, run.exitCode, run.describe());
        JsonNode document = new ObjectMapper().readTree(Files.readString(json));

        // Everything LeakProgram left outstanding is in the report, stack or no stack.
        long expectedBytes = AllocatorFunctionsTest.EXPECTED.values().stream().mapToLong(v -> v[0]).sum();
        long expectedCount = AllocatorFunctionsTest.EXPECTED.values().stream().mapToLong(v -> v[1]).sum();
        assertEquals(expectedBytes, document.get("outstanding").get("bytes").asLong(), document.toPrettyString());
        assertEquals(expectedCount, document.get("outstanding").get("allocations").asLong());

        // One stored stack with its frames; all the other outstanding blocks under "no stack" (id 0).
        long withFrames = 0;
        long withoutStack = 0;
        for (JsonNode stack : document.get("stacks")) {
            boolean noStack = Long.parseUnsignedLong(stack.get("stackId").asText().replaceFirst("^0x", ""), 16) == 0;
            if (noStack) {
                withoutStack += stack.get("allocations").asLong();
                assertTrue(stack.get("frames").isEmpty(), stack.toPrettyString());
            } else {
                withFrames += stack.get("allocations").asLong();
                assertFalse(stack.get("frames").isEmpty(), "a stored stack id without frames: " + stack.toPrettyString());
            }
        }
        assertEquals(expectedCount, withFrames + withoutStack);
        assertTrue(withoutStack > 0, "with one stack slot, blocks from the other functions have no stack\n" + document);

        // Each tracked call that found the map full was counted once, outstanding or freed since: at least those
        // still out. Every tracked call either stored (or found) a stack, found the map full, or failed its walk, so
        // at most the tracked calls less the failed walks and less the blocks still out under the stored stack.
        long full = document.get("losses").get("stackMapFull").asLong();
        long tracked = document.get("counters").get("allocTracked").asLong();
        long walkFailed = document.get("counters").get("droppedStackError").asLong();
        assertTrue(full >= withoutStack, "stackMapFull " + full + " < " + withoutStack + " outstanding without stack");
        assertTrue(full <= tracked - walkFailed - withFrames, "stackMapFull " + full + " > " + tracked
                + " tracked - " + walkFailed + " failed walks - " + withFrames + " with the stored stack");
        // The program's own calls in the size range (min-size 900000): 23 that succeed (LeakProgram.allFunctions:
        // 5 + 3 + 2 + 2 + 1 + 1 + 1 + 1 + 1 blocks through malloc, calloc and realloc, the realloc'd 950001/1900001
        // blocks and the 1333331 one freed by realloc(p, 0) among them, then one per other function).
        assertTrue(tracked >= 23, "allocTracked " + tracked);
        assertEquals(full, document.get("counters").get("droppedStacksFull").asLong());
        assertTrue(run.reports.contains("tracked without stack: stack map full (raise max-stacks)"), run.reports);
    }
}
