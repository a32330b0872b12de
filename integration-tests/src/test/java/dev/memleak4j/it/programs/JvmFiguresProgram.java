package dev.memleak4j.it.programs;

import java.io.RandomAccessFile;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Holds memory and threads the JVM's own figures count: 3 direct buffers of {@value #DIRECT_CAPACITY} bytes, a file
 * mapping of {@value #MAPPED_SIZE} bytes and {@value #EXTRA_THREADS} parked threads; then prints what its own platform
 * MXBeans say ({@code FIGURES heap direct mapped threads}) and waits for the agent's reports.
 * {@code JvmFiguresProgram SLEEP_MS}.
 */
public final class JvmFiguresProgram {
    public static final int DIRECT_CAPACITY = 1_333_337;
    public static final int MAPPED_SIZE = 2_222_229;
    public static final int EXTRA_THREADS = 4;
    private static final List<Object> KEPT = new ArrayList<>();

    private JvmFiguresProgram() {}

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        for (int i = 0; i < 3; i++) {
            KEPT.add(ByteBuffer.allocateDirect(DIRECT_CAPACITY));
        }
        Path file = Files.createTempFile("memleak4j-figures-", ".bin");
        try (RandomAccessFile sized = new RandomAccessFile(file.toFile(), "rw")) {
            sized.setLength(MAPPED_SIZE); // not written through a channel: that would hold a temporary direct buffer
            KEPT.add(sized.getChannel().map(FileChannel.MapMode.READ_ONLY, 0, MAPPED_SIZE));
        } finally {
            Files.delete(file);
        }
        CountDownLatch never = new CountDownLatch(1);
        for (int i = 0; i < EXTRA_THREADS; i++) {
            Thread parked = new Thread(() -> {
                try {
                    never.await();
                } catch (InterruptedException e) {
                    // the program ends
                }
            }, "parked-" + i);
            parked.setDaemon(true);
            parked.start();
        }
        long direct = 0;
        long mapped = 0;
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                direct = pool.getMemoryUsed();
            } else if (pool.getName().equals("mapped")) {
                mapped = pool.getMemoryUsed();
            }
        }
        System.out.println("FIGURES " + ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted() + " "
                + direct + " " + mapped + " " + ManagementFactory.getThreadMXBean().getThreadCount());
        System.out.flush();
        AwaitTracking.reportsEnded(Long.parseLong(args[0]));
    }
}
