package dev.memleak4j.agent.stacks;

import dev.memleak4j.agent.symbols.NativeSymbolizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.lang.ref.WeakReference;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The code map and VMStructs resolution in this very JVM (the JDK Maven runs on; JvmCodeMapForkTest repeats the
 * essentials on JDK 25).
 */
class JvmCodeMapTest {
    private static volatile int sink;

    @BeforeAll
    static void startMap() {
        TestLibrary.use();
        JvmCodeMap.start();
    }

    static int hot(int x) {
        return callee(x) + callee(x + 1);
    }

    static int callee(int x) {
        int[] a = new int[(x & 7) + 1];  // the allocation's slow-path call keeps a PC inside the inlined callee
        a[0] = x;
        return a.length + a[0];
    }

    /** Warms hot(), waits for its code in the map and returns its [start, end) ranges. */
    private static long[] compiledHot() throws InterruptedException {
        String name = JvmCodeMapTest.class.getName() + ".hot";
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < 20_000; i++) {
                sink += hot(i);
            }
            long[] code = JvmCodeMap.codeRangesOf(name);
            if (code.length > 0) {
                return code;
            }
            Thread.sleep(10);
        }
        return fail("hot() never showed up in the code map: " + JvmCodeMap.stats());
    }

    @Test
    void interpreterRangeIsKnown() {
        long[] range = JvmCodeMap.interpreterRange();
        assertNotNull(range, JvmCodeMap.vmStructsProblem());
        assertTrue(range[0] > 0 && range[0] < range[1], () -> range[0] + "-" + range[1]);
        // The interpreter's code is also in the code map, as a stub.
        List<Frame> inside = JvmCodeMap.lookup(range[0] + (range[1] - range[0]) / 2);
        assertEquals(1, inside.size(), inside::toString);
        assertEquals(Frame.Kind.STUB, inside.get(0).kind());
    }

    @Test
    void everyAddressOfCompiledCodeNamesTheMethod() throws InterruptedException {
        long[] code = compiledHot();
        String hot = JvmCodeMapTest.class.getName() + ".hot";
        int named = 0;
        for (int r = 0; r + 1 < code.length; r += 2) {
            assertTrue(code[r] < code[r + 1]);
            for (long pc = code[r]; pc < code[r + 1]; pc += 7) {
                List<Frame> frames = JvmCodeMap.lookup(pc);
                if (frames.isEmpty()) {
                    continue;  // replaced since the ranges were read
                }
                Frame outer = frames.get(frames.size() - 1);
                assertEquals(Frame.Kind.JIT, outer.kind(), frames::toString);
                assertEquals(hot, outer.name());
                named++;
            }
        }
        assertTrue(named > 0);
        assertTrue(JvmCodeMap.lookup(code[0] - 1).stream().noneMatch(f -> hot.equals(f.name())));
    }

    @Test
    void inlinedCalleesAreTheirOwnFramesWithLines() throws InterruptedException {
        // A return address, as stacks hold them: where the compiler always records the call's scopes.
        List<Frame> frames = CodeMapProbeMain.inlinedCallFrames();
        assertTrue(frames.size() >= 3, "outer() never compiled with middle() and leaf() inlined");
        StackTraceElement[] lines = CodeMapProbeMain.lines;
        String probe = CodeMapProbeMain.class.getName();
        List<Frame> tail = frames.subList(frames.size() - 3, frames.size());
        long pc = tail.get(0).address();
        assertEquals(List.of(Frame.java(pc, Frame.Kind.INLINED, probe + ".leaf", lines[0].getLineNumber(),
                        "CodeMapProbeMain.java"),
                Frame.java(pc, Frame.Kind.INLINED, probe + ".middle", lines[1].getLineNumber(),
                        "CodeMapProbeMain.java"),
                Frame.java(pc, Frame.Kind.JIT, probe + ".outer", lines[2].getLineNumber(), "CodeMapProbeMain.java")),
                tail);
        assertEquals(probe + ".leaf:" + lines[0].getLineNumber() + " [inlined]", tail.get(0).text());
    }

    @Test
    void nativeMethodWrapperIsNamedAsTheMethod() throws InterruptedException {
        String name = JvmCodeMap.class.getName() + ".started0";
        long deadline = System.nanoTime() + 30_000_000_000L;
        long[] code = new long[0];
        while (code.length == 0 && System.nanoTime() < deadline) {
            for (int i = 0; i < 20_000; i++) {
                sink += JvmCodeMap.started0() ? 1 : 0;
            }
            code = JvmCodeMap.codeRangesOf(name);
        }
        assertTrue(code.length > 0, "no wrapper compiled for " + name);
        List<Frame> frames = JvmCodeMap.lookup(code[0] + 1);
        assertEquals(List.of(Frame.java(code[0] + 1, Frame.Kind.NATIVE_WRAPPER, name, -1, "JvmCodeMap.java")), frames);
        assertEquals(name + " [native wrapper]", frames.get(0).text());
    }

    @Test
    void resolvesTheMethodBehindAJmethodId() throws NoSuchMethodException {
        Method callee = JvmCodeMapTest.class.getDeclaredMethod("callee", int.class);
        long method = JvmCodeMap.methodPointerOf(callee);
        assertTrue(method != 0);
        assertEquals(JvmCodeMapTest.class.getName() + ".callee", JvmCodeMap.resolveMethod(method));
        assertEquals(JvmCodeMapTest.class.getName() + ".callee",
                JvmCodeMap.resolveMethod(method | JavaFrameResolver.METHOD_TAG), "the tag is ignored");
        Method length = String.class.getMethod("length");
        assertEquals("java.lang.String.length", JvmCodeMap.resolveMethod(JvmCodeMap.methodPointerOf(length)));
    }

    @Test
    void garbageIsNeverAMethodAndNeverCrashes() throws NoSuchMethodException {
        long method = JvmCodeMap.methodPointerOf(JvmCodeMapTest.class.getDeclaredMethod("callee", int.class));
        long[] range = JvmCodeMap.interpreterRange();
        List<Long> values = new ArrayList<>(List.of(0L, 1L, 8L, 4096L, -1L, Long.MAX_VALUE, 1L << 47, (1L << 47) - 8,
                method + 1, method + 8, method - 8, method + 4096, range[0], range[1], range[0] + 64));
        // A real ConstMethod* or ConstantPool* is not a Method*.
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 2_000; i++) {
            values.add(random.nextLong(0x7f00_0000_0000L, 0x7fff_ffff_f000L) & ~7L);
            values.add(method + (random.nextLong(-1 << 20, 1 << 20) & ~7L));
        }
        for (long value : values) {
            String name = JvmCodeMap.resolveMethod(value);
            if (name != null) {
                // Near a real Method* there are other real Method*s: those must resolve to real names.
                assertTrue(name.matches("[\\p{L}\\p{N}_$.<>/+\\-]+\\.[\\p{L}\\p{N}_$<>\\-]+"), name);
            }
        }
        assertNull(JvmCodeMap.resolveMethod(0));
        assertNull(JvmCodeMap.resolveMethod(method + 1));
    }

    static long[] interpretedCallerWalk() {
        return JvmCodeMap.walkStack(64);  // runs interpreted: called once
    }

    @Test
    void interpretedFramesAsTheStackWalkRecordsThem() {
        long[] stack = interpretedCallerWalk();
        StackResolver resolver = new StackResolver(NativeSymbolizer.forCurrentProcess());
        List<Frame> frames = resolver.resolve(stack);
        List<String> texts = frames.stream().map(Frame::text).collect(Collectors.toList());
        assertEquals("dev.memleak4j.agent.stacks.JvmCodeMap.walkStack0 [interpreted]", texts.get(0), texts::toString);
        assertEquals("dev.memleak4j.agent.stacks.JvmCodeMap.walkStack [interpreted]", texts.get(1), texts::toString);
        assertEquals("dev.memleak4j.agent.stacks.JvmCodeMapTest.interpretedCallerWalk [interpreted]", texts.get(2),
                texts::toString);
        assertTrue(JavaFrameResolver.isTaggedMethod(frames.get(0).address()));
    }

    @Test
    void stackResolverExpandsEachKindOfValue() throws Exception {
        List<Frame> compiled = CodeMapProbeMain.inlinedCallFrames();
        assertTrue(compiled.size() >= 3, "outer() never compiled with middle() and leaf() inlined");
        long pc = compiled.get(0).address();
        long tagged = JvmCodeMap.methodPointerOf(JvmCodeMapTest.class.getDeclaredMethod("hot", int.class))
                | JavaFrameResolver.METHOD_TAG;
        long[] range = JvmCodeMap.interpreterRange();
        AtomicReference<Long> libc = new AtomicReference<>();
        NativeSymbolizer symbolizer = NativeSymbolizer.forCurrentProcess();
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/maps"))) {
            if (line.contains("libc.so") && line.contains("r-xp")) {
                libc.set(Long.parseUnsignedLong(line.substring(0, line.indexOf('-')), 16) + 0x100);
                break;
            }
        }
        assertNotNull(libc.get());
        List<Frame> frames = new StackResolver(symbolizer).resolve(new long[] {pc, tagged, libc.get(), range[0] + 1});
        List<Frame.Kind> kinds = new ArrayList<>(Collections.nCopies(compiled.size() - 1, Frame.Kind.INLINED));
        kinds.addAll(List.of(Frame.Kind.JIT, Frame.Kind.INTERPRETED, Frame.Kind.NATIVE, Frame.Kind.STUB));
        assertEquals(kinds, frames.stream().map(Frame::kind).collect(Collectors.toList()), frames::toString);
        assertEquals(compiled, frames.subList(0, compiled.size()));
        assertEquals(JvmCodeMapTest.class.getName() + ".hot [interpreted]", frames.get(compiled.size()).text());
        Frame libcFrame = frames.get(compiled.size() + 1);
        assertTrue(libcFrame.text().contains("libc.so.6"), libcFrame.text());
        // The unknown-but-tagged case names what it can.
        List<Frame> bad = new StackResolver(symbolizer).resolve(new long[] {JavaFrameResolver.METHOD_TAG | 8});
        assertEquals("[unknown] [interpreted]", bad.get(0).text());
    }

    /** A class only ever loaded by a throw-away loader, so that it can be unloaded. */
    public static final class Unloadable {
        public static int work(int x) {
            int s = 0;
            for (int i = 0; i < (x & 15); i++) {
                s += i * x;
            }
            return s;
        }
    }

    private static final class IsolatingLoader extends ClassLoader {
        IsolatingLoader() {
            super(JvmCodeMapTest.class.getClassLoader());
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.equals(Unloadable.class.getName())) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    try (InputStream in = getParent().getResourceAsStream(name.replace('.', '/') + ".class")) {
                        byte[] bytes = in.readAllBytes();
                        c = defineClass(name, bytes, 0, bytes.length);
                    } catch (java.io.IOException e) {
                        throw new ClassNotFoundException(name, e);
                    }
                }
                return c;
            }
        }
    }

    private static WeakReference<ClassLoader> compileInThrowAwayLoader(String name) throws Exception {
        IsolatingLoader loader = new IsolatingLoader();
        Method work = loader.loadClass(Unloadable.class.getName()).getMethod("work", int.class);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (JvmCodeMap.codeRangesOf(name).length == 0 && System.nanoTime() < deadline) {
            for (int i = 0; i < 20_000; i++) {
                sink += (Integer) work.invoke(null, i);
            }
        }
        assertTrue(JvmCodeMap.codeRangesOf(name).length > 0, "never compiled");
        return new WeakReference<>(loader);
    }

    @Test
    void unloadedCodeLeavesTheMap() throws Exception {
        String name = Unloadable.class.getName() + ".work";
        WeakReference<ClassLoader> loader = compileInThrowAwayLoader(name);
        long[] code = JvmCodeMap.codeRangesOf(name);
        long pc = code[0] + (code[1] - code[0]) / 2;
        assertEquals(name, JvmCodeMap.lookup(pc).get(JvmCodeMap.lookup(pc).size() - 1).name());
        long generation = JvmCodeMap.generation();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while ((loader.get() != null || JvmCodeMap.codeRangesOf(name).length > 0) && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
        }
        assertNull(loader.get(), "the class loader was not collected");
        assertEquals(0, JvmCodeMap.codeRangesOf(name).length, () -> "still mapped: " + JvmCodeMap.stats());
        if (JvmCodeMap.stats().loadsSeen() > 0) {
            // Kept from CompiledMethodLoad/Unload: the unload moves the generation, so names cached for it go.
            assertTrue(JvmCodeMap.generation() > generation);
            assertTrue(JvmCodeMap.stats().unloadsSeen() > 0);
            assertTrue(JvmCodeMap.lookup(pc).stream().noneMatch(f -> name.equals(f.name())),
                    () -> JvmCodeMap.lookup(pc).toString());
        }
        // Named from the nmethods, a name stays while its nmethod holds the address (it is still that code, unloaded
        // or not): checkFlushedCodeMovesTheGeneration checks that it goes once the nmethod leaves the code heap.
    }

    /**
     * Unloads a compiled class and waits for its code to leave the code heap: then the generation must move and a cache
     * over the map must not name the address any more. Run in a fork on JDK 25 (JvmCodeMapForkTest), whose collections
     * flush the code of unloaded classes; JDK 17's sweeper does it on its own schedule, minutes later or never.
     */
    static void checkFlushedCodeMovesTheGeneration() throws Exception {
        String name = Unloadable.class.getName() + ".work";
        WeakReference<ClassLoader> loader = compileInThrowAwayLoader(name);
        long[] code = JvmCodeMap.codeRangesOf(name);
        long pc = code[0] + (code[1] - code[0]) / 2;
        StackResolver resolver = new StackResolver(NativeSymbolizer.forCurrentProcess());
        List<Frame> named = resolver.resolve(new long[] {pc});
        assertEquals(name, named.get(named.size() - 1).name(), named::toString);
        long generation = JvmCodeMap.generation();
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (JvmCodeMap.generation() == generation && System.nanoTime() < deadline) {
            System.gc();
            for (int i = 0; i < 20_000; i++) {
                sink += Integer.toString(i).hashCode();
            }
            Thread.sleep(50);
        }
        assertNull(loader.get(), "the class loader was not collected");
        assertTrue(JvmCodeMap.generation() > generation, "the unloaded code never left the code heap");
        // The cache over the map follows: the address is not named from it any more.
        assertTrue(resolver.resolve(new long[] {pc}).stream().noneMatch(f -> name.equals(f.name())),
                () -> resolver.resolve(new long[] {pc}).toString());
    }

    @Test
    void lookupsRaceCompilationWithoutHarm() throws Exception {
        long[] code = compiledHot();
        List<Thread> threads = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int t = 0; t < 3; t++) {
            Thread thread = new Thread(() -> {
                try {
                    SplittableRandom random = new SplittableRandom();
                    for (int i = 0; i < 20_000; i++) {
                        long pc = code[0] + random.nextLong(-4096, 4096 + code[1] - code[0]);
                        for (Frame f : JvmCodeMap.lookup(pc)) {
                            assertNotNull(f.kind());
                        }
                        if ((i & 1023) == 0) {
                            sink += hot(i);
                        }
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            thread.start();
            threads.add(thread);
        }
        for (int i = 0; i < 200_000; i++) {
            sink += Integer.toString(i).hashCode();  // more compilations meanwhile
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertNull(failure.get());
        List<Frame> first = JvmCodeMap.lookup(code[0]);
        assertFalse(!first.isEmpty() && first.get(0).name() == null, first::toString);
    }
}
