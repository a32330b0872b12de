package dev.memleak4j.it;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LeakProgram's all-functions scenario leaks through each of the ten allocator functions, frees some blocks,
 * reallocates others (grow, shrink, NULL, 0, failing) and makes a failing malloc. The report must show exactly
 * what is still outstanding per stack, with the allocating JNI function as the direct caller. This class runs with
 * the default probe mode (in-process hooks; libleaktest.so is loaded after the agent started, so its slots are
 * redirected through the dlopen hook); subclasses run the same with uprobes, classic probes and other sampling.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AllocatorFunctionsTest {
    private static final String LIB = "Java_dev_memleak4j_it_programs_LeakLib_";
    /** Outstanding bytes and allocations per allocating JNI function, as LeakProgram.allFunctions leaves them. */
    static final Map<String, long[]> EXPECTED = new LinkedHashMap<>();

    static {
        EXPECTED.put("viaMalloc", new long[] {3 * 1_999_993L + 1_222_223L, 4});
        EXPECTED.put("viaCalloc", new long[] {2 * 999_993L, 2});
        EXPECTED.put("viaRealloc", new long[] {2 * 1_777_771L + 1_555_553L + 1_444_447L, 4});
        EXPECTED.put("viaReallocarray", new long[] {1_233_339L, 1});
        EXPECTED.put("viaPosixMemalign", new long[] {1_122_227L, 1});
        EXPECTED.put("viaAlignedAlloc", new long[] {1_011_712L, 1});
        EXPECTED.put("viaMemalign", new long[] {988_883L, 1});
        EXPECTED.put("viaValloc", new long[] {977_777L, 1});
        EXPECTED.put("viaPvalloc", new long[] {966_661L, 1});
    }

    private AgentRun run;

    /** Options beyond the common ones; subclasses choose another probe mode or sampling. */
    String extraOptions() {
        return "";
    }

    /** The JVM the program runs on; a subclass chooses JDK 25's. */
    String java() {
        return AgentRun.javaBinary();
    }

    @BeforeAll
    void runLeakProgram() throws Exception {
        Privileges.assumeBpf();
        // min-size keeps the JVM's own small allocations out; count=2 makes the agent stop by itself.
        run = AgentRun.withAgent(AgentRun.tempDir("functions"),
                "interval=1,count=2,older=0,top=100,show-allocs,min-size=900000" + extraOptions(),
                AgentRun.programCommand(java(), List.of(), "dev.memleak4j.it.programs.LeakProgram", "all-functions",
                        "3500"), List.of());
    }

    @Test
    void reportShowsExactOutstandingBytesAndCountsPerAllocatorFunction() {
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        for (Map.Entry<String, long[]> e : EXPECTED.entrySet()) {
            String frame = LIB + e.getKey() + "+0x";
            assertEquals(e.getValue()[0], report.bytesFrom(frame), "bytes from " + e.getKey() + "\n" + report);
            assertEquals(e.getValue()[1], report.countFrom(frame), "allocations from " + e.getKey() + "\n" + report);
        }
    }

    /**
     * The start line says what every allocator call now pays, timed on the starting thread before and after the
     * attach. With uprobes on the allocator that is the trap: any uprobe hit costs at least a few hundred ns (an
     * exception into the kernel and back). With hooks it is the hook on every call plus the sampled calls' traps,
     * some ns, and the line says which kind of uprobe the probe site got. The starting thread, ignored while it is
     * timed, is the application's main thread again afterwards (its leaks above are counted).
     */
    @Test
    void startLineSaysWhatAnAllocatorCallCostsOnThisHost() {
        String line = run.agentLines().stream().filter(l -> l.contains("tracking native allocations")).findFirst()
                .orElseThrow(() -> new AssertionError("no start line\n" + run.describe()));
        if (!extraOptions().contains("probe-mode=uprobes") && !extraOptions().contains("probe-mode=classic")) {
            assertTrue(line.matches(".*with in-process hooks \\(sampled calls trap at an? (optimized|int3) uprobe\\).*"),
                    line);
            Matcher cost = Pattern.compile("each allocator call now costs ~([0-9]+) ns more").matcher(line);
            assertTrue(cost.find(), line); // how much is the host's business: no timing assertion
            return;
        }
        Matcher cost = Pattern.compile("each allocator call now costs ~([0-9]+\\.[0-9]) us more").matcher(line);
        assertTrue(cost.find(), line);
        // How much is the host's business (no timing assertion); printed at all only when the probes cost something.
        assertTrue(Double.parseDouble(cost.group(1)) > 0, line);
    }

    @Test
    void directCallerFrameIsTheJniFunctionInItsLibrary() {
        Report report = run.lastReport();
        for (String function : EXPECTED.keySet()) {
            List<Report.Stack> stacks = report.stacksFrom(LIB + function + "+0x");
            assertFalse(stacks.isEmpty(), "no stack from " + function + "\n" + report);
            for (Report.Stack stack : stacks) {
                assertTrue(stack.topFrame().matches(LIB + function + "\\+0x[0-9a-f]+ \\[libleaktest\\.so\\]"),
                        stack.topFrame());
            }
        }
    }

    @Test
    void freedAndFailedAllocationsDoNotAppear() {
        Report report = run.lastReport();
        Set<Long> sizes = new HashSet<>();
        report.stacks.forEach(stack -> stack.allocations.forEach(a -> sizes.add(a.size())));
        assertTrue(sizes.contains(1_999_993L), "show-allocs lists the blocks\n" + report);
        // Each above min-size: freed by realloc (grow, shrink), by realloc(p, 0); or failed (realloc, malloc).
        for (long gone : new long[] {950_001, 1_900_001, 1_333_331, 1L << 62, Long.MAX_VALUE}) {
            assertFalse(sizes.contains(gone), "size " + gone + " was freed or never made but is reported\n" + report);
        }
    }

    @Test
    void showAllocsPrintsTheVeryAddressesTheProgramGot() {
        Map<Long, Long> outstanding = new HashMap<>();
        for (String line : run.stdout.split("\n")) {
            String[] parts = line.split(" ");
            if (parts[0].equals("LEAK")) {
                outstanding.put(Long.parseUnsignedLong(parts[1], 16), Long.parseLong(parts[2]));
            } else if (parts[0].equals("FREED")) {
                outstanding.remove(Long.parseUnsignedLong(parts[1], 16));
            }
        }
        assertEquals(16, outstanding.size(), run.stdout);
        Map<Long, Long> listed = new HashMap<>();
        Report report = run.lastReport();
        for (String function : EXPECTED.keySet()) {
            for (Report.Stack stack : report.stacksFrom(LIB + function + "+0x")) {
                stack.allocations.forEach(a -> listed.put(a.address(), a.size()));
            }
        }
        assertEquals(outstanding, listed, report.toString());
    }
}
