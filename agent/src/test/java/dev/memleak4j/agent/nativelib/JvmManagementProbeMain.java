package dev.memleak4j.agent.nativelib;

import java.io.RandomAccessFile;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Run by {@link JvmManagementForkTest} in a fresh JVM: holds direct buffers and a file mapping of known sizes, prints
 * {@link JvmManagement}'s figures (read first, while nothing in this JVM has touched java.management), then the
 * marker line {@code MXBEANS}, then the platform MXBeans' figures: one {@code name value} line each.
 */
public final class JvmManagementProbeMain {
    static final int DIRECT_CAPACITY = 1_333_337;
    static final int MAPPED_SIZE = 2_222_229;
    private static final List<Object> KEPT = new ArrayList<>();

    private JvmManagementProbeMain() {}

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < 3; i++) {
            KEPT.add(ByteBuffer.allocateDirect(DIRECT_CAPACITY));
        }
        Path file = Files.createTempFile("memleak4j-mapped-", ".bin");
        try (RandomAccessFile sized = new RandomAccessFile(file.toFile(), "rw")) {
            // Not written through a channel: that would hold a temporary direct buffer of the same size.
            sized.setLength(MAPPED_SIZE);
            KEPT.add(sized.getChannel().map(FileChannel.MapMode.READ_ONLY, 0, MAPPED_SIZE));
        } finally {
            Files.delete(file);
        }
        long[] pools = JvmManagement.bufferPoolBytes();
        print("heap", JvmManagement.heapCommittedBytes());
        print("nonheap", JvmManagement.nonHeapCommittedBytes());
        print("direct", pools[0]);
        print("mapped", pools[1]);
        print("threads", JvmManagement.liveThreads());
        print("start", JvmManagement.startMillis());
        print("classes", JvmManagement.loadedClasses());
        print("compile", JvmManagement.compileMillis());
        print("cpu", JvmManagement.currentThreadCpuNanos());
        System.out.println("MXBEANS");
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        print("mx.heap", memory.getHeapMemoryUsage().getCommitted());
        print("mx.nonheap", memory.getNonHeapMemoryUsage().getCommitted());
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            print("mx." + pool.getName(), pool.getMemoryUsed());
        }
        print("mx.threads", ManagementFactory.getThreadMXBean().getThreadCount());
        print("mx.start", ManagementFactory.getRuntimeMXBean().getStartTime());
        print("mx.classes", ManagementFactory.getClassLoadingMXBean().getTotalLoadedClassCount());
        print("mx.compile", ManagementFactory.getCompilationMXBean().getTotalCompilationTime());
    }

    private static void print(String name, long value) {
        System.out.println(name + " " + value);
    }
}
