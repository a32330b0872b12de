package dev.memleak4j.agent.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NativeSymbolizerTest {

    private static final long PAGE = 4096;

    /** /proc/PID/maps lines as the loader would create them for {@code file} at load bias {@code base}. */
    private static String mapsOf(Path file, long base) throws IOException {
        long inode = (Long) Files.getAttribute(file, "unix:ino");
        StringBuilder maps = new StringBuilder();
        try (ElfFile elf = ElfFile.open(file)) {
            for (LoadSegment s : elf.loadSegments().segments()) {
                long start = base + (s.vaddr() & -PAGE);
                long end = base + ((s.vaddr() + s.filesz() + PAGE - 1) & -PAGE);
                String perms = (s.isExecutable() ? "r-x" : (s.flags() & LoadSegment.PF_W) != 0 ? "rw-" : "r--") + "p";
                maps.append(String.format("%x-%x %s %08x fe:00 %d %s%n", start, end, perms, s.offset() & -PAGE, inode, file));
            }
        }
        return maps.toString();
    }

    private static NativeSymbolizer withMaps(String maps) {
        return new NativeSymbolizer(() -> ProcessMaps.parse(maps), UnaryOperator.identity(), System::nanoTime);
    }

    @Test
    void resolvesLibcMallocInThisJvm() throws IOException {
        Mapping libcText = TestSupport.ownMapping("libc.so.6");
        try (ElfFile libc = ElfFile.open(Path.of(libcText.filePath()))) {
            long malloc = TestSupport.ownRuntimeAddress(libc, libc.findFunction("malloc").orElseThrow().value());
            NativeFrame frame = NativeSymbolizer.forCurrentProcess().symbolize(malloc + 5);
            assertEquals(new NativeFrame(malloc + 5, "malloc", 5, "libc.so.6", libcText.pathname()), frame);
            assertEquals("malloc+0x5 [libc.so.6]", frame.format());
        }
    }

    @Test
    void resolvesAndDemanglesOsMallocInTheRunningLibjvm() throws IOException {
        Path libjvmPath = TestSupport.ownModulePath("libjvm.so");
        try (ElfFile libjvm = ElfFile.open(libjvmPath); ElfFile libc = ElfFile.open(TestSupport.ownModulePath("libc.so.6"))) {
            ElfSymbol osMalloc = libjvm.functionSymbols().stream()
                    .filter(s -> s.name().startsWith("_ZN2os6mallocE")).findFirst().orElseThrow();
            long address = TestSupport.ownRuntimeAddress(libjvm, osMalloc.value()) + 0x10;
            long malloc = TestSupport.ownRuntimeAddress(libc, libc.findFunction("malloc").orElseThrow().value());
            ConcurrentLinkedQueue<String> demanglerInput = new ConcurrentLinkedQueue<>();
            NativeSymbolizer symbolizer = NativeSymbolizer.forCurrentProcess(name -> {
                demanglerInput.add(name);
                return "demangled " + name;
            });

            NativeFrame frame = symbolizer.symbolize(address);
            assertEquals(new NativeFrame(address, "demangled " + osMalloc.name(), 0x10, "libjvm.so", libjvmPath.toString()), frame);
            assertEquals("malloc", symbolizer.symbolize(malloc).symbol());
            assertEquals(List.of(osMalloc.name()), List.copyOf(demanglerInput), "only _Z names are demangled");
        }
    }

    @Test
    void aFailingDemanglerLeavesTheMangledName() throws IOException {
        Path library = TestSupport.ownModulePath("libjvm.so");
        try (ElfFile libjvm = ElfFile.open(library)) {
            ElfSymbol osMalloc = libjvm.functionSymbols().stream()
                    .filter(s -> s.name().startsWith("_ZN2os6mallocE")).findFirst().orElseThrow();
            long address = TestSupport.ownRuntimeAddress(libjvm, osMalloc.value());
            assertEquals(osMalloc.name(), NativeSymbolizer.forCurrentProcess(name -> null).symbolize(address).symbol());
            assertEquals(osMalloc.name(), NativeSymbolizer.forCurrentProcess(name -> {
                throw new IllegalStateException("demangler broke");
            }).symbolize(address).symbol());
        }
    }

    @Test
    void translatesSharedLibraryAddressesThroughItsSegments() throws Exception {
        Path library = DemoBinaries.SHARED_LIBRARY;
        long base = 0x7f1234500000L;
        NativeSymbolizer symbolizer = withMaps(mapsOf(library, base));
        long helper = DemoBinaries.nm(library, "local_helper");
        NativeFrame frame = symbolizer.symbolize(base + helper + 3);
        assertEquals(new NativeFrame(base + helper + 3, "local_helper", 3, "libdemo.so", library.toString()), frame);
        assertEquals("local_helper+0x3 [libdemo.so]", frame.format());
        assertEquals("exported_entry", symbolizer.symbolize(base + DemoBinaries.nm(library, "exported_entry")).symbol());
    }

    @Test
    void usesRuntimeAddressesAsIsForFixedAddressExecutables() throws Exception {
        Path executable = DemoBinaries.FIXED_EXECUTABLE;
        long helper = DemoBinaries.nm(executable, "local_helper");
        NativeFrame frame = withMaps(mapsOf(executable, 0)).symbolize(helper + 1);
        assertEquals("local_helper+0x1 [demo-nopie]", frame.format());
    }

    @Test
    void unusableFilesYieldTheModuleOnly(@TempDir Path dir) throws Exception {
        Path notElf = Files.writeString(dir.resolve("libtext.so"), "plain text, not an ELF file at all".repeat(200));
        long notElfInode = (Long) Files.getAttribute(notElf, "unix:ino");
        Path library = DemoBinaries.SHARED_LIBRARY;
        long libraryInode = (Long) Files.getAttribute(library, "unix:ino");
        String maps = String.join("\n",
                "7f0000000000-7f0000001000 r-xp 00002000 fe:00 4711 /nonexistent/dir/libgone.so",
                "7f0000001000-7f0000002000 r-xp 00001000 fe:00 " + notElfInode + " " + notElf,
                "7f0000003000-7f0000004000 r-xp 00001000 fe:00 " + libraryInode + " " + library + " (deleted)",
                "7f0000004000-7f0000005000 r-xp 00000000 00:00 0 /dev/zero");
        NativeSymbolizer symbolizer = withMaps(maps);

        assertEquals("[unknown] [libgone.so+0x2010]", symbolizer.symbolize(0x7f0000000010L).format());
        assertEquals("[unknown] [libtext.so+0x1010]", symbolizer.symbolize(0x7f0000001010L).format());
        // The path of a deleted mapping exists here, but as a different file would: it is not read.
        NativeFrame deleted = symbolizer.symbolize(0x7f0000003010L);
        assertEquals(new NativeFrame(0x7f0000003010L, null, 0x1010, "libdemo.so", library + " (deleted)"), deleted);
        assertEquals("[unknown] [zero+0x10]", symbolizer.symbolize(0x7f0000004010L).format());
        // The vanished and the non-ELF file are losses, said with the first one's reason; the deleted mapping and
        // the device have no file to read, nothing was lost there.
        symbolizer.symbolize(0x7f0000000020L);
        assertEquals(new NativeSymbolizer.Unnamed(3, 2, "/nonexistent/dir/libgone.so: no such file"),
                symbolizer.unnamed());
        // Each report names its stacks anew: an address asked for again is still one frame not named.
        symbolizer.symbolize(0x7f0000000010L);
        symbolizer.symbolize(0x7f0000001010L);
        assertEquals(3, symbolizer.unnamed().frames());
    }

    /**
     * A library the dynamic loader takes (it reads program headers only) but whose section headers point past its
     * end: the reader's error is the reason the report gives for its frames.
     */
    @Test
    void corruptSectionHeadersAreCountedWithTheReadersError(@TempDir Path dir) throws Exception {
        Path library = dir.resolve("libcorrupt.so");
        Files.copy(DemoBinaries.SHARED_LIBRARY, library);
        long base = 0x7f1234500000L;
        String maps = mapsOf(library, base);
        try (java.nio.channels.FileChannel file = java.nio.channels.FileChannel.open(library,
                java.nio.file.StandardOpenOption.WRITE)) {
            // e_shoff, at 0x28 in the 64-bit ELF header.
            file.write(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                    .putLong(0, 1L << 40), 0x28);
        }
        NativeSymbolizer symbolizer = withMaps(maps);
        long helper = DemoBinaries.nm(DemoBinaries.SHARED_LIBRARY, "local_helper");
        NativeFrame frame = symbolizer.symbolize(base + helper);
        assertNull(frame.symbol());
        assertEquals("libcorrupt.so", frame.module());
        NativeSymbolizer.Unnamed unnamed = symbolizer.unnamed();
        assertEquals(1, unnamed.frames());
        assertEquals(1, unnamed.libraries());
        assertTrue(unnamed.firstError().startsWith(library + ": "), unnamed.firstError());
        assertTrue(unnamed.firstError().contains("corrupt"), unnamed.firstError());
        assertEquals(new NativeSymbolizer.Unnamed(0, 0, null), withMaps(mapsOf(DemoBinaries.SHARED_LIBRARY, base))
                .unnamed(), "a readable library loses nothing");
    }

    @Test
    void pseudoAndAnonymousMappingsAndUnmappedAddresses() {
        NativeSymbolizer symbolizer = withMaps(String.join("\n",
                "7ffc1a1f0000-7ffc1a1f2000 r-xp 00000000 00:00 0                          [vdso]",
                "7f0000000000-7f0000010000 rwxp 00000000 00:00 0 "));
        assertEquals(new NativeFrame(0x7ffc1a1f09a0L, null, 0x9a0, "[vdso]", "[vdso]"), symbolizer.symbolize(0x7ffc1a1f09a0L));
        assertEquals(NativeFrame.unknown(0x7f0000000100L), symbolizer.symbolize(0x7f0000000100L));
        assertEquals(NativeFrame.unknown(0x1000), symbolizer.symbolize(0x1000));
    }

    @Test
    void rereadsMapsOnAMissButNotMoreOftenThanEvery100Milliseconds() throws Exception {
        Path library = DemoBinaries.SHARED_LIBRARY;
        long base = 0x7f1234500000L;
        long address = base + DemoBinaries.nm(library, "local_helper");
        List<String> snapshots = List.of("", mapsOf(library, base));
        AtomicInteger reads = new AtomicInteger();
        AtomicLong now = new AtomicLong(1_000_000_000L);
        NativeSymbolizer symbolizer = new NativeSymbolizer(
                () -> ProcessMaps.parse(snapshots.get(Math.min(reads.getAndIncrement(), 1))),
                UnaryOperator.identity(), now::get);

        assertNull(symbolizer.symbolize(address).module(), "first call reads the (empty) maps");
        assertEquals(1, reads.get());
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(99));
        assertNull(symbolizer.symbolize(address).module(), "too soon to read again");
        assertEquals(1, reads.get());
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
        assertEquals("local_helper", symbolizer.symbolize(address).symbol(), "library appeared in the new maps");
        assertEquals(2, reads.get());
        now.addAndGet(TimeUnit.SECONDS.toNanos(10));
        assertEquals("local_helper", symbolizer.symbolize(address + 1).symbol());
        assertEquals(2, reads.get(), "hits never re-read");
    }

    @Test
    void rereadsMapsOnceALibraryWasLoadedWhereTheOldMapsHadAnAnonymousMapping() throws Exception {
        Path library = DemoBinaries.SHARED_LIBRARY;
        long base = 0x7f1234500000L;
        long address = base + DemoBinaries.nm(library, "local_helper");
        // Before the load, an anonymous mapping (a thread's stack, unmapped since) covered the address.
        String before = String.format("%x-%x rw-p 00000000 00:00 0 %n", base - 0x100000, base + 0x100000);
        List<String> snapshots = List.of(before, mapsOf(library, base));
        AtomicInteger reads = new AtomicInteger();
        AtomicLong loads = new AtomicLong(40);
        AtomicLong now = new AtomicLong(); // the clock stands still: no re-read is due to time
        NativeSymbolizer symbolizer = new NativeSymbolizer(
                () -> ProcessMaps.parse(snapshots.get(Math.min(reads.getAndIncrement(), 1))),
                UnaryOperator.identity(), now::get, loads::get);

        assertNull(symbolizer.symbolize(address).module(), "an anonymous mapping has no module");
        assertEquals(1, reads.get());
        assertNull(symbolizer.symbolize(address).module(), "nothing loaded since: the maps are not read again");
        assertEquals(1, reads.get());
        loads.incrementAndGet();
        assertEquals("local_helper", symbolizer.symbolize(address).symbol(), "the library loaded there since");
        assertEquals(2, reads.get());
        assertEquals("local_helper", symbolizer.symbolize(address + 1).symbol());
        assertEquals(2, reads.get(), "read once per change");
    }

    @Test
    void cachesSymbolsPerPathAndInode(@TempDir Path dir) throws Exception {
        Path library = dir.resolve("libswap.so");
        Files.copy(DemoBinaries.SHARED_LIBRARY, library);
        long helper = DemoBinaries.nm(DemoBinaries.SHARED_LIBRARY, "local_helper");
        long oldBase = 0x7f0000000000L;
        long newBase = 0x7f1000000000L;
        String oldMaps = mapsOf(library, oldBase).replace(" fe:00 " + Files.getAttribute(library, "unix:ino") + " ", " fe:00 1 ");
        List<String> snapshots = new ArrayList<>(List.of(oldMaps));
        AtomicInteger reads = new AtomicInteger();
        AtomicLong now = new AtomicLong();
        NativeSymbolizer symbolizer = new NativeSymbolizer(
                () -> ProcessMaps.parse(snapshots.get(reads.getAndIncrement())), UnaryOperator.identity(), now::get);
        assertEquals("local_helper", symbolizer.symbolize(oldBase + helper).symbol());

        // The same path now holds a stripped build (another inode), mapped elsewhere by a new dlopen.
        Files.copy(DemoBinaries.STRIPPED_LIBRARY, library, StandardCopyOption.REPLACE_EXISTING);
        snapshots.add(oldMaps + mapsOf(library, newBase).replace(" fe:00 " + Files.getAttribute(library, "unix:ino") + " ", " fe:00 2 "));
        now.addAndGet(TimeUnit.SECONDS.toNanos(1));
        assertNull(symbolizer.symbolize(newBase + helper).symbol(), "the new file has no .symtab");
        assertEquals(2, reads.get());
        assertEquals("local_helper", symbolizer.symbolize(oldBase + helper).symbol(), "the old file's symbols stay cached");
    }

    @Test
    void failingMapsReadsYieldUnknownFrames() {
        NativeSymbolizer symbolizer = new NativeSymbolizer(() -> {
            throw new IllegalStateException("no /proc");
        }, UnaryOperator.identity(), System::nanoTime);
        assertEquals(NativeFrame.unknown(0x1234), symbolizer.symbolize(0x1234));
    }

    /** Random addresses inside the running libjvm's code; prints the cost, asserts consistency. */
    @Test
    void symbolizes100kLibjvmAddressesAndAgreesAcrossThreads() throws Exception {
        List<Mapping> text = ProcessMaps.readSelf().mappings().stream()
                .filter(m -> "libjvm.so".equals(m.moduleName()) && m.perms().contains("x"))
                .toList();
        Random random = new Random(42);
        long[] addresses = new long[100_000];
        for (int i = 0; i < addresses.length; i++) {
            Mapping m = text.get(random.nextInt(text.size()));
            addresses[i] = m.start() + (long) (random.nextDouble() * (m.end() - m.start()));
        }
        NativeSymbolizer symbolizer = NativeSymbolizer.forCurrentProcess();

        long t0 = System.nanoTime();
        symbolizer.symbolize(addresses[0]);
        long t1 = System.nanoTime();
        NativeFrame[] frames = new NativeFrame[addresses.length];
        for (int i = 0; i < addresses.length; i++) {
            frames[i] = symbolizer.symbolize(addresses[i]);
        }
        long t2 = System.nanoTime();
        long resolved = Arrays.stream(frames).filter(f -> f.symbol() != null).count();
        System.out.printf("libjvm: first symbolize (loads the symbol table) %d ms; %d addresses %d ms; %d resolved%n",
                TimeUnit.NANOSECONDS.toMillis(t1 - t0), addresses.length, TimeUnit.NANOSECONDS.toMillis(t2 - t1), resolved);
        assertTrue(Arrays.stream(frames).allMatch(f -> "libjvm.so".equals(f.module())));
        assertTrue(resolved > addresses.length * 9L / 10, "resolved " + resolved);

        NativeSymbolizer shared = NativeSymbolizer.forCurrentProcess();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<List<String>>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> Arrays.stream(addresses, 0, 2_000)
                        .mapToObj(a -> shared.symbolize(a).format()).collect(Collectors.toList())));
            }
            List<String> expected = Arrays.stream(frames, 0, 2_000).map(NativeFrame::format).toList();
            for (Future<List<String>> result : results) {
                assertEquals(expected, result.get(60, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
