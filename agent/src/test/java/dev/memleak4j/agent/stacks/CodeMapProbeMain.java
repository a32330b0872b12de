package dev.memleak4j.agent.stacks;

import java.util.Arrays;
import java.util.List;

/**
 * A tiny program for {@link JvmCodeMapForkTest}: starts the code map in a fresh JVM (any JDK), warms up a method
 * with an inlined callee, and prints what the map and VMStructs resolve, one fact a line:
 * {@code interpreter}, {@code jit}, {@code inlined}, {@code interpreted}, {@code jmethodid}, {@code stats}.
 * Exits 0 even when something is not found: the test reads the lines.
 */
public final class CodeMapProbeMain {
    private static volatile int sink;

    private CodeMapProbeMain() {}

    public static void main(String[] args) throws Exception {
        JvmCodeMap.start();
        long[] range = JvmCodeMap.interpreterRange();
        System.out.println("interpreter " + (range == null ? "null" : Long.toHexString(range[0]) + "-"
                + Long.toHexString(range[1])));
        String hot = CodeMapProbeMain.class.getName() + ".hot";
        long[] code = new long[0];
        boolean interpretedOnly = System.getProperty("java.vm.info", "").contains("interpreted mode");
        for (int round = 0; round < (interpretedOnly ? 1 : 200) && code.length == 0; round++) {
            for (int i = 0; i < 20_000; i++) {
                sink += hot(i);
            }
            code = JvmCodeMap.codeRangesOf(hot);
            if (code.length == 0) {
                Thread.sleep(20);
            }
        }
        System.out.println("compiled " + (code.length / 2));
        List<Frame> frames = interpretedOnly ? List.of() : inlinedCallFrames();
        System.out.println("jit " + (frames.isEmpty() ? null : frames.get(frames.size() - 1).text()));
        System.out.println("inlined " + frames.stream().map(Frame::text).reduce((a, b) -> a + " | " + b).orElse(null));
        System.out.println("lines " + (lines == null ? null : lines[0].getLineNumber() + " "
                + lines[1].getLineNumber() + " " + lines[2].getLineNumber()));
        System.out.println("interpreted " + interpretedWalk());
        String viaId = JvmCodeMap.resolveMethod(JvmCodeMap.methodPointerOf(
                CodeMapProbeMain.class.getDeclaredMethod("callee", int.class)));
        System.out.println("jmethodid " + viaId);
        System.out.println("stats " + JvmCodeMap.stats());
    }

    static int hot(int x) {
        return callee(x) + callee(x + 1);
    }

    static int callee(int x) {
        int[] a = new int[(x & 7) + 1];
        a[0] = x;
        return a.length + a[0];
    }

    private static long[] walked = new long[0];
    /** Where leaf, middle and outer are when leaf makes its native call (from the first, interpreted, call). */
    static StackTraceElement[] lines;

    /**
     * outer -> middle -> leaf -> a native call: a frame of outer's compiled code with two levels inlined. Its branch
     * that never runs makes it too big for the JIT to inline anywhere (over {@code -XX:FreqInlineSize}, 325 bytes of
     * bytecode), so that outer() is always a compiled method of its own: once the warm-up loop had run often enough
     * the JIT compiled it with outer() inside, and leaf's caller was that loop from then on (a test that warmed it up
     * after others failed that way).
     */
    static int outer(int x) {
        if (x == Integer.MIN_VALUE) {
            return Arrays.hashCode(new int[] {
                0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
                28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53,
                54, 55, 56, 57, 58, 59, 60, 61, 62, 63});
        }
        return middle(x) + 1;
    }

    static int middle(int x) {
        return leaf(x) * 2;
    }

    static int leaf(int x) {
        walked = JvmCodeMap.walkCompiledCallers(2); lines = lines == null ? new Throwable().getStackTrace() : lines;
        return walked.length + x;
    }

    /**
     * The frames of a real return address in compiled code, as stacks hold them: warms outer() until the return
     * address of leaf's native call (the caller's frame of the native wrapper) names outer as the compiled method,
     * with middle and leaf inlined into it. Empty when that never happened.
     */
    static List<Frame> inlinedCallFrames() throws InterruptedException {
        for (int round = 0; round < 300; round++) {
            for (int i = 0; i < 20_000; i++) {
                sink += outer(i);
            }
            List<Frame> frames = walked.length > 1 ? JvmCodeMap.lookup(walked[1]) : List.of();
            if (frames.size() >= 3 && frames.get(frames.size() - 1).name().endsWith(".outer")
                    && frames.get(frames.size() - 1).kind() == Frame.Kind.JIT) {
                return frames;
            }
            Thread.sleep(20);
        }
        return List.of();
    }

    /** Runs interpreted: called once. The stack as BPF would record it, resolved. */
    static String interpretedWalk() {
        long[] values = JvmCodeMap.walkStack(64);
        StringBuilder out = new StringBuilder();
        JavaFrameResolver resolver = JavaFrameResolver.tryCreate();
        for (long value : values) {
            if (JavaFrameResolver.isTaggedMethod(value)) {
                for (Frame f : resolver.resolve(value)) {
                    out.append(f.text()).append(" | ");
                }
            } else {
                List<Frame> frames = resolver.resolve(value);
                out.append(frames.isEmpty() ? "0x" + Long.toHexString(value) : frames.get(0).text()).append(" | ");
            }
        }
        return out.toString();
    }
}
