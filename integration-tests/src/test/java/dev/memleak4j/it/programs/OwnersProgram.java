package dev.memleak4j.it.programs;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.Deflater;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;

/**
 * Makes owners of native blocks for {@code args[1]} rounds, one every 250 ms, four a round, and prints how many:
 * <ul>
 *   <li>{@code deflaters}: Deflaters kept in a growing list, never ended (retained by live objects);</li>
 *   <li>{@code rocksdb}: RocksDB WriteBatches dropped without close(), then a GC (leaked by unreachable objects);</li>
 *   <li>{@code direct}: direct buffers, one a round kept, three dropped, then a GC, while the thread that runs their
 *       Cleaners is suspended (JDK 17: the Reference Handler), so their blocks stay outstanding (awaiting Cleaner).</li>
 * </ul>
 * Then prints the owners the MXBean shows (latest periodic report), and ends by returning from main, so the exit
 * report shows the final state.
 */
public final class OwnersProgram {
    private static final List<Object> KEPT = new ArrayList<>();

    private OwnersProgram() {}

    @SuppressWarnings({"deprecation", "removal"})
    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        String mode = args[0];
        int rounds = Integer.parseInt(args[1]);
        if (mode.equals("rocksdb")) {
            org.rocksdb.RocksDB.loadLibrary();
        }
        Thread cleaner = null;
        if (mode.equals("direct")) {
            // DirectByteBuffer's Cleaner (jdk.internal.ref.Cleaner) runs on the Reference Handler thread itself.
            for (Thread thread : Thread.getAllStackTraces().keySet()) {
                if (thread.getName().equals("Reference Handler")) {
                    cleaner = thread;
                }
            }
            cleaner.suspend();
        }
        int made = 0;
        int kept = 0;
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < 4; i++) {
                switch (mode) {
                    case "deflaters" -> {
                        KEPT.add(new Deflater());
                        kept++;
                    }
                    case "rocksdb" -> {
                        org.rocksdb.WriteBatch batch = new org.rocksdb.WriteBatch();
                        batch.put(new byte[] {1}, new byte[] {2});
                    }
                    case "direct" -> {
                        ByteBuffer buffer = ByteBuffer.allocateDirect(3000 + i);
                        if (i == 0) {
                            KEPT.add(buffer);
                            kept++;
                        }
                    }
                    default -> throw new IllegalArgumentException(mode);
                }
                made++;
            }
            System.gc();
            TimeUnit.MILLISECONDS.sleep(250);
        }
        System.gc();
        System.out.println("OWNERS made=" + made + " kept=" + kept);
        printJmxOwners();
        System.out.flush();
        TimeUnit.MILLISECONDS.sleep(300);
    }

    /** The owners of the latest report's suspects, as a JMX client reads them (LeakSuspects, open types). */
    private static void printJmxOwners() throws Exception {
        Object suspects = ManagementFactory.getPlatformMBeanServer().getAttribute(
                new ObjectName("memleak4j:type=NativeMemory"), "LeakSuspects");
        for (CompositeData suspect : (CompositeData[]) suspects) {
            for (CompositeData owner : (CompositeData[]) suspect.get("owners")) {
                System.out.println("JMX owner " + owner.get("className") + " live=" + owner.get("live")
                        + " unreachable=" + owner.get("unreachable") + " awaitingCleaner="
                        + owner.get("awaitingCleaner"));
            }
        }
    }
}
