package dev.memleak4j.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.memleak4j.it.programs.JvmFiguresProgram;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JVM's figures in the report's memory section (heap committed, direct and mapped buffers, threads), which the
 * agent reads without the platform MXBeans, are what the program's own MXBeans say: JvmFiguresProgram holds buffers,
 * a mapping and threads of known sizes and prints its MXBeans' figures; the last periodic report's JSON is compared.
 */
class JvmFiguresTest {
    @Test
    void theMemorySectionsJvmFiguresAreTheMxBeans() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("jvm-figures");
        Path json = dir.resolve("snapshot.json");
        AgentRun run = AgentRun.withAgent(dir, "interval=1,count=3,exit-report=off,json=" + json,
                AgentRun.programCommand(AgentRun.javaBinary(), List.of("-Xms64m", "-Xmx64m"),
                        "dev.memleak4j.it.programs.JvmFiguresProgram", "20000"), List.of());
        assertEquals(0, run.exitCode, run.describe());
        String figures = run.stdout.lines().filter(l -> l.startsWith("FIGURES ")).findFirst().orElse(null);
        assertNotNull(figures, run.describe());
        String[] own = figures.split(" ");
        long heap = Long.parseLong(own[1]);
        long direct = Long.parseLong(own[2]);
        long mapped = Long.parseLong(own[3]);
        int threads = Integer.parseInt(own[4]);

        JsonNode memory = new ObjectMapper().readTree(Files.readString(json)).get("memory");
        assertTrue(memory != null && memory.isObject(), run.describe());
        assertEquals(64L << 20, heap, figures);
        assertEquals(heap, memory.get("heapCommittedBytes").asLong(), memory.toString());
        assertEquals(JvmFiguresProgram.MAPPED_SIZE, mapped, figures);
        assertEquals(mapped, memory.get("mappedBufferBytes").asLong(), memory.toString());
        // The agent's JSON writes since then hold a temporary direct buffer of about the document's size.
        assertTrue(direct >= 3L * JvmFiguresProgram.DIRECT_CAPACITY, figures);
        long reported = memory.get("directBufferBytes").asLong();
        assertTrue(reported >= direct && reported < direct + (1 << 20), direct + " " + memory);
        // The agent's start thread may still have been preloading symbols when the program counted.
        int reportedThreads = memory.get("threads").asInt();
        assertTrue(reportedThreads >= JvmFiguresProgram.EXTRA_THREADS + 2
                && (reportedThreads == threads || reportedThreads == threads - 1), threads + " " + memory);
        assertTrue(memory.get("nonHeapCommittedBytes").asLong() > 0, memory.toString());
    }
}
