package dev.memleak4j.it.programs;

import java.lang.management.ClassLoadingMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Leaks whose native stacks do not reach Java: {@code JniMarkProgram SCENARIO SLEEP_MS}, SCENARIO one of
 * <ul>
 *   <li>{@code nofp}: 1,777,777 bytes once from {@link #leakFromFirstCaller} and twice from
 *       {@link #leakFromSecondCaller}, through a JNI library without frame pointers;</li>
 *   <li>{@code inflater}: five {@link Inflater}s that inflated some data and were never ended, made in
 *       {@link #inflaterNeverEnded} and kept in a static list (zlib's state and window stay allocated);</li>
 *   <li>{@code paths-reflected}: the same, but both rounds call one shared method through {@code Method.invoke},
 *       which makes the Deflater;</li>
 *   <li>{@code retransformed}: {@link Inflater} retransformed by {@link RetransformingAgent} (another agent);</li>
 *   <li>{@code inflater-after-gc}: full GCs until the agent's Byte Buddy classes are unloaded (for at most 15 s;
 *       prints how many it took, -1 when they never were), whether Flight Recorder runs
 *       ({@code JFR initialized: ...}), then the five Inflaters of {@code inflater};</li>
 *   <li>{@code paths}: 20,000 rounds of a {@link Deflater} made (through one helper) and ended in {@link #roundA}
 *       and in {@link #roundB}, where late rounds keep theirs instead: {@link #PATH_A_LEAKS} from roundA and
 *       {@link #PATH_B_LEAKS} from roundB, made by compiled code whose call paths the agent has seen thousands of
 *       times;</li>
 * </ul>
 * Prints {@code LEAKS DONE}, waits for the reports after it (at most {@code args[1]} ms, see
 * {@link AwaitTracking#periodicReportsAfter}), exits 0.
 */
public final class JniMarkProgram {
    public static final long NOFP_SIZE = 1_777_777;
    public static final int INFLATERS = 5;
    public static final int PATH_A_LEAKS = 3;
    public static final int PATH_B_LEAKS = 5;
    private static final int PATH_ROUNDS = 20_000;
    private static java.lang.reflect.Method reflectedRound;
    private static final List<Object> KEPT = new ArrayList<>();

    private JniMarkProgram() {}

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        run(args[0]);
        System.out.println("LEAKS DONE");
        System.out.flush();
        AwaitTracking.periodicReportsAfter(Long.parseLong(args[1]));
        System.exit(0);
    }

    /**
     * The agent's Byte Buddy classes can go now. Usually the first full GC unloads them, but under CPU load their
     * loader can stay reachable for a few seconds more (both CPUs kept busy: 8 runs in 38 needed a later GC; with C1
     * only, {@code -XX:TieredStopAtLevel=1}, none in 20, so most likely a long C2 compilation of JDK code profiled
     * with Byte Buddy's types holds them), so this collects every 250 ms, for at most 15 s, until the JVM has unloaded
     * 500 classes.
     */
    private static int fullGcsUntilUnloaded() throws InterruptedException {
        ClassLoadingMXBean classLoading = ManagementFactory.getClassLoadingMXBean();
        long before = classLoading.getUnloadedClassCount();
        for (int gcs = 1; gcs <= 60; gcs++) {
            System.gc();
            if (classLoading.getUnloadedClassCount() - before >= 500) {
                return gcs;
            }
            TimeUnit.MILLISECONDS.sleep(250);
        }
        return -1;
    }

    private static void run(String scenario) throws Exception {
        switch (scenario) {
            case "nofp" -> {
                leakFromFirstCaller();
                for (int i = 0; i < 2; i++) {
                    leakFromSecondCaller(); // one call site: one Java stack
                }
            }
            case "inflater" -> {
                byte[] compressed = compressed();
                for (int i = 0; i < INFLATERS; i++) {
                    inflaterNeverEnded(compressed);
                }
            }
            case "retransformed" -> {
                RetransformingAgent.retransform(Inflater.class);
                System.out.println("RETRANSFORMED");
            }
            case "inflater-after-gc" -> {
                System.out.println("full GCs until Byte Buddy was unloaded: " + fullGcsUntilUnloaded());
                System.out.println("JFR initialized: " + jdk.jfr.FlightRecorder.isInitialized());
                byte[] compressed = compressed();
                for (int i = 0; i < INFLATERS; i++) {
                    inflaterNeverEnded(compressed);
                }
            }
            case "paths" -> {
                for (int i = 1; i <= PATH_ROUNDS; i++) {
                    roundA(i % 4000 == 0 && i > PATH_ROUNDS - 4000 * PATH_A_LEAKS);
                    roundB(i % 2000 == 0 && i > PATH_ROUNDS - 2000 * PATH_B_LEAKS);
                }
            }
            case "paths-reflected" -> {
                // Each round calls one shared method through Method.invoke: on JDK 17 with inflation off, that goes
                // native and back into Java, so the JVM's call stub sits between the shared frames (the same for
                // both rounds) and the round that decides where the Deflater was made.
                reflectedRound = JniMarkProgram.class.getDeclaredMethod("round", boolean.class);
                for (int i = 1; i <= PATH_ROUNDS; i++) {
                    roundA(i % 4000 == 0 && i > PATH_ROUNDS - 4000 * PATH_A_LEAKS);
                    roundB(i % 2000 == 0 && i > PATH_ROUNDS - 2000 * PATH_B_LEAKS);
                }
            }
            default -> throw new IllegalArgumentException("unknown scenario " + scenario);
        }
    }

    private static void leakFromFirstCaller() {
        KEPT.add(NoFpLib.leak(NOFP_SIZE));
    }

    private static void leakFromSecondCaller() {
        KEPT.add(NoFpLib.leak(NOFP_SIZE));
    }

    private static void roundA(boolean keep) throws Exception {
        if (reflectedRound != null) {
            reflectedRound.invoke(null, keep);
        } else {
            keepOrEnd(newDeflater(), keep);
        }
    }

    private static void roundB(boolean keep) throws Exception {
        if (reflectedRound != null) {
            reflectedRound.invoke(null, keep);
        } else {
            keepOrEnd(newDeflater(), keep);
        }
    }

    /** The shared part of both rounds in {@code paths-reflected}. */
    private static void round(boolean keep) {
        keepOrEnd(newDeflater(), keep);
    }

    /** The frames nearest the JNI call are the same for both rounds: only the callers further down differ. */
    private static Deflater newDeflater() {
        return new Deflater();
    }

    private static void keepOrEnd(Deflater deflater, boolean keep) {
        if (keep) {
            KEPT.add(deflater);
        } else {
            deflater.end();
        }
    }

    private static void inflaterNeverEnded(byte[] compressed) throws Exception {
        Inflater inflater = new Inflater();
        inflater.setInput(compressed);
        byte[] out = new byte[64 * 1024];
        int n = inflater.inflate(out);
        if (n <= 0) {
            throw new IllegalStateException("inflate gave " + n);
        }
        KEPT.add(inflater); // never ended: its zlib memory stays
    }

    /** 200,000 bytes of a repeating pattern, deflated. */
    static byte[] compressed() {
        byte[] input = new byte[200_000];
        for (int i = 0; i < input.length; i++) {
            input[i] = (byte) (i * 31 % 251);
        }
        Deflater deflater = new Deflater();
        deflater.setInput(input);
        deflater.finish();
        byte[] buffer = new byte[input.length];
        int n = deflater.deflate(buffer);
        deflater.end();
        return java.util.Arrays.copyOf(buffer, n);
    }
}
