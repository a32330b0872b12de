package dev.memleak4j.agent.nativelib;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * The JVM's own figures that the platform MXBeans give, read without them: reaching an MXBean through
 * ManagementFactory loads about a hundred classes of java.management, sun.management and the JDK's cgroup detection
 * into the application's JVM, with their lambdas and objects kept for good, and every full GC then marks them. The
 * MXBeans' own native methods in the JDK's libmanagement are called instead (native/src/jvm_management_jni.c says
 * how), so each figure means exactly what the MXBean's does. Only when that cannot be done (a JDK whose libmanagement
 * differs) are the MXBeans asked after all.
 */
public final class JvmManagement {
    private static final int HEAP_COMMITTED = 0;
    private static final int NON_HEAP_COMMITTED = 1;
    private static final int LIVE_THREADS = 2;
    private static final int START_MILLIS = 3;
    private static final int LOADED_CLASSES = 4;
    private static final int COMPILE_MILLIS = 5;

    private JvmManagement() {}

    /** MemoryMXBean's heap usage, committed bytes. */
    public static long heapCommittedBytes() {
        try {
            return figure(HEAP_COMMITTED);
        } catch (RuntimeException | LinkageError e) {
            return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted();
        }
    }

    /** MemoryMXBean's non-heap usage (metaspace, class space, code cache), committed bytes. */
    public static long nonHeapCommittedBytes() {
        try {
            return figure(NON_HEAP_COMMITTED);
        } catch (RuntimeException | LinkageError e) {
            return ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage().getCommitted();
        }
    }

    /** ThreadMXBean's live thread count (daemon threads included). */
    public static int liveThreads() {
        try {
            return (int) figure(LIVE_THREADS);
        } catch (RuntimeException | LinkageError e) {
            return ManagementFactory.getThreadMXBean().getThreadCount();
        }
    }

    /** RuntimeMXBean's start time: when the JVM started, in ms since the epoch. */
    public static long startMillis() {
        try {
            return figure(START_MILLIS);
        } catch (RuntimeException | LinkageError e) {
            return ManagementFactory.getRuntimeMXBean().getStartTime();
        }
    }

    /** ClassLoadingMXBean's total: classes loaded since the JVM started, unloaded ones included. */
    public static long loadedClasses() {
        try {
            return figure(LOADED_CLASSES);
        } catch (RuntimeException | LinkageError e) {
            return ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount();
        }
    }

    /** CompilationMXBean's total compilation time in ms; -1 when this JVM does not keep it. */
    public static long compileMillis() {
        try {
            return figure(COMPILE_MILLIS);
        } catch (RuntimeException | LinkageError e) {
            CompilationMXBean compiler = ManagementFactory.getCompilationMXBean();
            return compiler != null && compiler.isCompilationTimeMonitoringSupported()
                    ? compiler.getTotalCompilationTime() : -1;
        }
    }

    /** {direct, mapped}: what BufferPoolMXBean's pools of those names use, in bytes (0 for one the JDK lacks). */
    public static long[] bufferPoolBytes() {
        long[] used = new long[2];
        try {
            NativeLibraryLoader.load();
            bufferPools0(used);
        } catch (RuntimeException | LinkageError e) {
            for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
                if (pool.getName().equals("direct")) {
                    used[0] = pool.getMemoryUsed();
                } else if (pool.getName().equals("mapped")) {
                    used[1] = pool.getMemoryUsed();
                }
            }
        }
        return used;
    }

    /** CPU time of the calling thread in ns (ThreadMXBean's current thread CPU time); 0 when it cannot be read. */
    public static long currentThreadCpuNanos() {
        try {
            NativeLibraryLoader.load();
            return Math.max(0, currentThreadCpuNanos0());
        } catch (RuntimeException | LinkageError e) {
            return 0;
        }
    }

    private static long figure(int which) {
        NativeLibraryLoader.load();
        return figure0(NativeLibraryLoader.jdkLibrary("libmanagement.so"), which);
    }

    private static native long figure0(String library, int which);

    private static native void bufferPools0(long[] into);

    private static native long currentThreadCpuNanos0();
}
