package dev.memleak4j.agent.symbols;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Shared helpers: external tools and facts about this test JVM's own address space. */
final class TestSupport {

    private TestSupport() {
    }

    /** Runs a command, failing the test unless it exits 0; returns its stdout lines. */
    static List<String> run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed:\n" + output);
        }
        return output.lines().toList();
    }

    /** Address printed by nm for the first line ending in {@code suffix}, e.g. " realloc@@GLIBC_2.2.5". */
    static Optional<Long> nmAddress(List<String> nmLines, String suffix) {
        return nmLines.stream()
                .filter(line -> line.endsWith(suffix))
                .findFirst()
                .map(line -> Long.parseUnsignedLong(line.substring(0, line.indexOf(' ')), 16));
    }

    /** The first mapping of the module named {@code moduleName} in this JVM. */
    static Mapping ownMapping(String moduleName) throws IOException {
        return ProcessMaps.readSelf().mappings().stream()
                .filter(m -> moduleName.equals(m.moduleName()))
                .findFirst()
                .orElseThrow(() -> new AssertionError(moduleName + " is not mapped in this JVM"));
    }

    static Path ownModulePath(String moduleName) throws IOException {
        return Path.of(ownMapping(moduleName).filePath());
    }

    /** Where this JVM mapped the byte that {@code elf} (a file it has loaded) links at {@code vaddr}. */
    static long ownRuntimeAddress(ElfFile elf, long vaddr) throws IOException {
        long fileOffset = elf.fileOffsetOfVaddr(vaddr);
        String path = elf.path().toString();
        return ProcessMaps.readSelf().mappings().stream()
                .filter(m -> path.equals(m.filePath()))
                .filter(m -> fileOffset - m.offset() >= 0 && fileOffset - m.offset() < m.end() - m.start())
                .findFirst()
                .map(m -> m.start() + fileOffset - m.offset())
                .orElseThrow(() -> new AssertionError("0x" + Long.toHexString(vaddr) + " of " + path + " is not mapped"));
    }
}
