package dev.memleak4j.it.programs;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Three kinds of native leak in one JVM, each made by a leak method of this class called from its own call site:
 * <ul>
 *   <li>{@link #directLeak}: {@code ByteBuffer.allocateDirect(DIRECT_CAPACITY)} (the JVM's os::malloc);</li>
 *   <li>{@link #noFpLeak}: {@link #NOFP_SIZE} bytes through the JNI library built without frame pointers;</li>
 *   <li>{@link #inflaterLeak}: an {@link Inflater} that inflated some data and is never ended (zlib's state and its
 *       32 KB window).</li>
 * </ul>
 * {@code MergedStacksProgram WARM_UP}: {@link #round} runs WARM_UP times and frees what it allocated (with the
 * test's {@code -XX:CompileCommand}s the JIT compiles each call site, the leak method inlined into it), then
 * {@link #LEAKS} times keeping everything (the leaks), then {@link #FREED} times freeing it again (the same sizes
 * through the same compiled code: not to be reported). Prints {@code LEAKS DONE n}; then waits, through the agent's
 * MBean, for a report whose allocations were read after the leaks, prints a line {@code REPORT} and that report
 * ({@code textSnapshot()}, the text the agent prints), and exits 0.
 */
public final class MergedStacksProgram {
    /** A multiple of 8: the JVM's os::malloc is asked for exactly this many bytes. */
    public static final int DIRECT_CAPACITY = 1_333_336;
    public static final long NOFP_SIZE = 1_777_771;
    public static final int LEAKS = 3;
    public static final int FREED = 2;
    /** Warm-up direct buffers are small: zeroing 1.3 MB thousands of times would take long. */
    static final int WARM_UP_CAPACITY = 64;
    private static final List<Object> KEPT = new ArrayList<>();
    /**
     * Stays during the warm-up, as some direct buffer does in any real program: else the JDK's list of direct buffer
     * cleaners is empty at every warm-up allocation, and C2's code for it deoptimizes at the second leak (seen on
     * JDK 25: an unstable_if trap in jdk.internal.ref.Cleaner.add, inlined into directCallSite).
     */
    private static final ByteBuffer KEPT_DURING_WARM_UP = ByteBuffer.allocateDirect(WARM_UP_CAPACITY);
    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
        try {
            Class<?> unsafe = Class.forName("sun.misc.Unsafe");
            java.lang.reflect.Field field = unsafe.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            UNSAFE = field.get(null);
            INVOKE_CLEANER = unsafe.getMethod("invokeCleaner", ByteBuffer.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private MergedStacksProgram() {}

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        int warmUp = Integer.parseInt(args[0]);
        byte[] compressed = JniMarkProgram.compressed();
        for (int i = 0; i < warmUp + LEAKS + FREED; i++) {
            // One call path for all rounds: the Java callers a JNI mark gets at a leak are the ones the warm-up's
            // marks got (a first-seen Java stack would take a path the compiled code has never run, and deoptimize it).
            round(i < warmUp ? WARM_UP_CAPACITY : DIRECT_CAPACITY, compressed, i >= warmUp && i < warmUp + LEAKS);
        }
        System.out.println("LEAKS DONE " + KEPT.size());
        System.out.flush();
        String report = reportAfterLeaks();
        System.out.println("REPORT");
        System.out.print(report);
        System.out.flush();
        System.exit(0);
    }

    /** One allocation of each kind, kept or freed. */
    private static void round(int directCapacity, byte[] compressed, boolean keep) {
        ByteBuffer buffer = directCallSite(directCapacity);
        long block = noFpCallSite(NOFP_SIZE);
        Inflater inflater = inflaterCallSite(compressed);
        if (keep) {
            KEPT.add(buffer);
            KEPT.add(block);
            KEPT.add(inflater);
        } else {
            free(buffer);
            LeakLib.release(block);
            inflater.end();
        }
    }

    // The call sites are compiled after the warm-up and never inlined into round; each has its leak method inlined
    // (the test's CompileCommands). Branch-free, so that the compiled code does not deoptimize when the leaks come.

    static ByteBuffer directCallSite(int capacity) {
        return directLeak(capacity);
    }

    static long noFpCallSite(long size) {
        return noFpLeak(size);
    }

    static Inflater inflaterCallSite(byte[] compressed) {
        return inflaterLeak(compressed);
    }

    static ByteBuffer directLeak(int capacity) {
        return ByteBuffer.allocateDirect(capacity);
    }

    static long noFpLeak(long size) {
        return NoFpLib.leak(size);
    }

    /** The output buffer is smaller than the data: the stream does not end, and zlib keeps its window. */
    static Inflater inflaterLeak(byte[] compressed) {
        Inflater inflater = new Inflater();
        inflater.setInput(compressed);
        try {
            inflater.inflate(new byte[1024]);
        } catch (DataFormatException e) {
            throw new IllegalStateException(e);
        }
        return inflater;
    }

    /**
     * Frees a direct buffer now ({@code sun.misc.Unsafe.invokeCleaner}), not when the GC finds it. JDK 24+ warn once
     * on stderr that it is deprecated.
     */
    private static void free(ByteBuffer buffer) {
        try {
            INVOKE_CLEANER.invoke(UNSAFE, buffer);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The agent's latest report once one was read entirely after the leaks: the first snapshot newer than the one
     * current now may have read the allocations before them, the next one cannot have.
     */
    static String reportAfterLeaks() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = new ObjectName(AwaitTracking.AGENT_MBEAN);
        if (!AwaitTracking.reportReadAfterNow(TimeUnit.SECONDS.toMillis(90))) {
            throw new IllegalStateException("no report after the leaks: " + server.getAttribute(name, "Status"));
        }
        return (String) server.invoke(name, "textSnapshot", null, null);
    }
}
