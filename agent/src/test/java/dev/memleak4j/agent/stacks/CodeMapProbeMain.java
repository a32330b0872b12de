package dev.memleak4j.agent.stacks;

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
        String jit = null;
        String inlined = null;
        for (int r = 0; r + 1 < code.length && inlined == null; r += 2) {
            for (long pc = code[r]; pc < code[r + 1]; pc++) {
                List<Frame> frames = JvmCodeMap.lookup(pc);
                if (frames.isEmpty()) {
                    continue;
                }
                String text = frames.stream().map(Frame::text).reduce((a, b) -> a + " | " + b).orElse("");
                if (jit == null) {
                    jit = text;
                }
                if (frames.size() > 1 && frames.get(0).kind() == Frame.Kind.INLINED) {
                    inlined = text;
                    break;
                }
            }
        }
        System.out.println("jit " + jit);
        System.out.println("inlined " + inlined);
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
