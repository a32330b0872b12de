package dev.memleak4j.agent.symbols;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Small ELF files compiled once per test JVM from one C source, in a temporary directory removed at
 * exit. Shared by several test classes, so it cannot live in one class's {@code @TempDir}.
 */
final class DemoBinaries {

    /** Frame pointers and no CET make every C function start with push %rbp (0x55). */
    private static final List<String> CFLAGS = List.of("-O0", "-g0", "-fno-omit-frame-pointer", "-fcf-protection=none");

    private static final String SOURCE = String.join("\n",
            "static int __attribute__((noinline)) local_helper(int x) { return x * 3 + 1; }",
            "int exported_entry(int x) { return local_helper(x) + 2; }",
            // A local function without .size, as hand-written assembly often is.
            "__asm__(\".text\\n.type sizeless_func,@function\\nsizeless_func:\\n\\tnop\\n\\tnop\\n\\tnop\\n\\tret\\n\");",
            "int main(int argc, char **argv) { return exported_entry(argc); }",
            "");

    /**
     * Groups of functions at one address, each deciding one naming rule (exported before local, default version
     * before compat, fewer leading underscores, byte order, a .symtab twin of a .dynsym name skipped), and a
     * size-less symbol whose local alias has the size. See {@link ElfSymbolIndexTest}.
     */
    private static final String ALIASES_ASSEMBLY = String.join("\n",
            "\t.text",
            "\t.globl thing, __libc_thing, __x, _y, zeta, alpha, _exported, f, older_but_default, old_impl",
            "\t.type thing,@function; .type __libc_thing,@function; .type thing_local,@function",
            "\t.type __x,@function; .type _y,@function; .type zeta,@function; .type alpha,@function",
            "\t.type static_fn,@function; .type _exported,@function; .type f,@function; .type f_impl,@function",
            "\t.type old_impl,@function; .type older_but_default,@function",
            "__libc_thing:", "thing:", "thing_local:", "\tnop", "\tret",
            "\t.size __libc_thing, 2; .size thing, 2; .size thing_local, 2",
            "__x:", "_y:", "\tret", "\t.size __x, 1; .size _y, 1",
            "zeta:", "alpha:", "\tret", "\t.size zeta, 1; .size alpha, 1",
            "static_fn:", "_exported:", "\tret", "\t.size static_fn, 1; .size _exported, 1",
            "f:", "f_impl:", "\t.fill 32, 1, 0x90", "\t.size f_impl, 32",
            "old_impl:", "older_but_default:", "\tret", "\t.size old_impl, 1; .size older_but_default, 1",
            "\t.symver old_impl, old@VER_1",
            "\t.section .note.GNU-stack,\"\",@progbits",
            "");
    private static final String ALIASES_VERSIONS = String.join("\n",
            "VER_1 { global: old; local: *; };",
            "VER_2 { global: thing; __libc_thing; __x; _y; zeta; alpha; _exported; f; older_but_default; } VER_1;",
            "");

    static final Path SHARED_LIBRARY;
    static final Path PIE_EXECUTABLE;
    static final Path FIXED_EXECUTABLE;
    static final Path STRIPPED_LIBRARY;
    static final Path ALIASES_LIBRARY;

    static {
        try {
            Path dir = Files.createTempDirectory("memleak4j-symbols-");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteRecursively(dir)));
            Path source = Files.writeString(dir.resolve("demo.c"), SOURCE);
            SHARED_LIBRARY = gcc(source, dir.resolve("libdemo.so"), "-shared", "-fPIC");
            PIE_EXECUTABLE = gcc(source, dir.resolve("demo-pie"), "-fPIE", "-pie");
            FIXED_EXECUTABLE = gcc(source, dir.resolve("demo-nopie"), "-fno-pie", "-no-pie");
            STRIPPED_LIBRARY = dir.resolve("libdemo-stripped.so");
            TestSupport.run("strip", "--strip-all", "-o", STRIPPED_LIBRARY.toString(), SHARED_LIBRARY.toString());
            Path versions = Files.writeString(dir.resolve("aliases.map"), ALIASES_VERSIONS);
            ALIASES_LIBRARY = gcc(Files.writeString(dir.resolve("aliases.s"), ALIASES_ASSEMBLY),
                    dir.resolve("libaliases.so"), "-shared", "-Wl,--version-script=" + versions);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private DemoBinaries() {
    }

    private static Path gcc(Path source, Path out, String... flags) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("gcc"));
        command.addAll(CFLAGS);
        command.addAll(List.of(flags));
        command.addAll(List.of("-o", out.toString(), source.toString()));
        TestSupport.run(command.toArray(String[]::new));
        return out;
    }

    /** Address of {@code name} as nm prints it for {@code file}. */
    static long nm(Path file, String name) throws IOException, InterruptedException {
        return TestSupport.nmAddress(TestSupport.run("nm", file.toString()), " " + name).orElseThrow();
    }

    private static void deleteRecursively(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Best effort: it is a temporary directory.
        }
    }
}
