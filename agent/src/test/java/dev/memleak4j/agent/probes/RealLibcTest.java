package dev.memleak4j.agent.probes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Cross-checks the decoder against objdump on the libc of this machine (or the one named by
 * the system property {@code memleak4j.test.libc}). Skipped when objdump or the library is
 * missing.
 */
class RealLibcTest {

    private static final String[] ALLOCATOR_FUNCTIONS = {
        "malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
        "aligned_alloc", "memalign", "valloc", "pvalloc", "free",
    };

    private static Disassembly disassembly;

    /** objdump's view of the library. */
    private record Disassembly(Path lib, byte[] file, List<long[]> loads, Map<Long, Integer> lengths,
                               Map<Long, String> text, TreeSet<Long> labels, Set<Long> branchTargets,
                               Map<String, Long> dynamicSymbols) {

        /** Bytes at a virtual address (zero-padded past the end of the segment). */
        byte[] bytesAt(long vaddr, int n) {
            for (long[] load : loads) { // {vaddr, offset, filesz}
                if (vaddr >= load[0] && vaddr < load[0] + load[2]) {
                    int off = (int) (load[1] + (vaddr - load[0]));
                    int avail = (int) Math.min(n, load[0] + load[2] - vaddr);
                    byte[] out = new byte[avail];
                    System.arraycopy(file, off, out, 0, avail);
                    return out;
                }
            }
            throw new IllegalArgumentException("address not in a PT_LOAD segment: 0x" + Long.toHexString(vaddr));
        }
    }

    private static synchronized Disassembly disassembly() throws Exception {
        if (disassembly != null) {
            return disassembly;
        }
        Path lib = Path.of(System.getProperty("memleak4j.test.libc", "/lib/x86_64-linux-gnu/libc.so.6"));
        Assumptions.assumeTrue(Files.isRegularFile(lib), "no " + lib);
        Assumptions.assumeTrue(commandWorks("objdump", "--version"), "objdump not installed");
        Assumptions.assumeTrue(commandWorks("nm", "--version"), "nm not installed");
        byte[] file = Files.readAllBytes(lib);

        Map<Long, Integer> lengths = new HashMap<>();
        Map<Long, String> text = new HashMap<>();
        TreeSet<Long> labels = new TreeSet<>();
        Set<Long> targets = new HashSet<>();
        Pattern insnLine = Pattern.compile("^\\s*([0-9a-f]+):\\t([0-9a-f ]+?)\\s*\\t(.*)$");
        Pattern label = Pattern.compile("^([0-9a-f]+) <.*>:$");
        Pattern direct = Pattern.compile("^(j\\w+|call\\w*|bnd j\\w+|bnd call\\w*)\\s+([0-9a-f]+) <");
        for (String line : run("objdump", "-d", "-w", "--insn-width=16", lib.toString())) {
            Matcher m = insnLine.matcher(line);
            if (m.matches()) {
                long addr = Long.parseLong(m.group(1), 16);
                int len = m.group(2).trim().split(" ").length;
                lengths.put(addr, len);
                text.put(addr, m.group(3));
                Matcher d = direct.matcher(m.group(3));
                if (d.find()) {
                    targets.add(Long.parseUnsignedLong(d.group(2), 16));
                }
                continue;
            }
            Matcher l = label.matcher(line);
            if (l.matches()) {
                labels.add(Long.parseLong(l.group(1), 16));
            }
        }
        Map<String, Long> syms = new LinkedHashMap<>();
        for (String line : run("nm", "-D", "--defined-only", lib.toString())) {
            String[] parts = line.trim().split("\\s+");
            if (parts.length == 3 && (parts[1].equals("T") || parts[1].equals("W") || parts[1].equals("i"))) {
                String name = parts[2].replaceAll("@.*", "");
                syms.putIfAbsent(name, Long.parseLong(parts[0], 16));
            }
        }
        disassembly = new Disassembly(lib, file, loads(file), lengths, text, labels, targets, syms);
        return disassembly;
    }

    /** PT_LOAD segments of an ELF64 little-endian file as {vaddr, offset, filesz}. */
    private static List<long[]> loads(byte[] file) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x464c457f, b.getInt(0), "ELF magic");
        assertEquals(2, file[4], "ELFCLASS64");
        long phoff = b.getLong(0x20);
        int phentsize = Short.toUnsignedInt(b.getShort(0x36));
        int phnum = Short.toUnsignedInt(b.getShort(0x38));
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int p = (int) (phoff + (long) i * phentsize);
            if (b.getInt(p) == 1) { // PT_LOAD
                out.add(new long[] {b.getLong(p + 0x10), b.getLong(p + 0x08), b.getLong(p + 0x20)});
            }
        }
        return out;
    }

    @Test
    void allocatorPlacementsAgreeWithObjdump() throws Exception {
        Disassembly d = disassembly();
        System.out.println("probe placements in " + d.lib());
        for (String fn : ALLOCATOR_FUNCTIONS) {
            Long addr = d.dynamicSymbols().get(fn);
            if (addr == null) {
                System.out.printf("  %-15s not exported%n", fn);
                continue;
            }
            byte[] code = d.bytesAt(addr, PrologueDecoder.BYTES_NEEDED);
            ProbePlacement p = PrologueDecoder.choose(code, PrologueDecoderTest.argsOf(fn));
            System.out.printf("  %-15s 0x%x +%d spAdjust=%d %s [%s]%n", fn, addr, p.offset(), p.spAdjust(),
                    p.reason() == null ? "emulated" : "fallback: " + p.reason(), d.text().get(addr + p.offset()));

            // every boundary the decoder walked over, and the chosen one, are objdump boundaries
            int off = 0;
            while (off < p.offset()) {
                Instruction insn = InstructionDecoder.decode(code, off);
                Integer objdumpLength = d.lengths().get(addr + off);
                assertTrue(insn != null && objdumpLength != null, fn + " +" + off);
                assertEquals((int) objdumpLength, insn.length(), fn + " +" + off + " " + d.text().get(addr + off));
                off += insn.length();
            }
            assertEquals(p.offset(), off);
            assertTrue(d.lengths().containsKey(addr + p.offset()), fn + ": chosen offset is not an objdump boundary");
            Instruction probed = InstructionDecoder.decode(code, p.offset());
            if (p.reason() == null) {
                assertTrue(probed != null && probed.emulated(), fn);
                assertEquals((int) d.lengths().get(addr + p.offset()), probed.length(), fn);
            }
            // no direct branch in the library lands inside (start, probe]: the probe would fire spuriously
            for (long t = addr + 1; t <= addr + p.offset(); t++) {
                assertTrue(!d.branchTargets().contains(t),
                        fn + ": some branch targets 0x" + Long.toHexString(t) + " inside the skipped prologue");
            }
        }
    }

    @Test
    void firstTenInstructionsOfTheFirst2000FunctionsHaveObjdumpLengths() throws Exception {
        Disassembly d = disassembly();
        int functions = 0;
        int total = 0;
        int understood = 0;
        List<String> mismatches = new ArrayList<>();
        Map<String, Integer> notUnderstood = new HashMap<>();
        // -Dmemleak4j.test.functions=100000 -Dmemleak4j.test.instructions=100000 checks all of .text
        int maxFunctions = Integer.getInteger("memleak4j.test.functions", 2000);
        int maxInstructions = Integer.getInteger("memleak4j.test.instructions", 10);
        for (long start : d.labels()) {
            if (functions++ == maxFunctions) {
                break;
            }
            Long next = d.labels().higher(start);
            long end = next == null ? Long.MAX_VALUE : next;
            byte[] code = d.bytesAt(start, (int) Math.min(end - start + InstructionDecoder.MAX_LENGTH,
                    (long) maxInstructions * InstructionDecoder.MAX_LENGTH + 16));
            int off = 0;
            for (int i = 0; i < maxInstructions && start + off < end; i++) {
                Integer len = d.lengths().get(start + off);
                String text = d.text().get(start + off);
                if (len == null || text == null || text.contains("(bad)") || off + len > code.length) {
                    break;
                }
                total++;
                Instruction insn = InstructionDecoder.decode(code, off);
                if (insn == null) {
                    notUnderstood.merge(text.split("\\s+")[0], 1, Integer::sum);
                } else {
                    understood++;
                    if (insn.length() != len) {
                        mismatches.add(String.format("0x%x: objdump %d bytes '%s', decoder %s",
                                start + off, len, text, insn));
                    }
                }
                off += len;
            }
        }
        System.out.printf("%s: decoded the first %d instructions of %d functions: understood %d of %d (%.1f%%)%n",
                d.lib(), maxInstructions, Math.min(functions, maxFunctions), understood, total, 100.0 * understood / Math.max(1, total));
        System.out.println("  not understood (objdump mnemonic -> count): " + top(notUnderstood, 15));
        if (!mismatches.isEmpty()) {
            fail(mismatches.size() + " length mismatches, e.g.\n  " + String.join("\n  ",
                    mismatches.subList(0, Math.min(20, mismatches.size()))));
        }
        assertTrue(understood > total * 9 / 10, "expected to understand >90% of instructions");
    }

    private static String top(Map<String, Integer> counts, int n) {
        List<Map.Entry<String, Integer>> list = new ArrayList<>(counts.entrySet());
        list.sort(Map.Entry.<String, Integer>comparingByValue().reversed());
        return list.subList(0, Math.min(n, list.size())).toString();
    }

    private static boolean commandWorks(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static List<String> run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                lines.add(line);
            }
        }
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", cmd));
        assertEquals(0, p.exitValue(), String.join(" ", cmd));
        return lines;
    }
}
