import dev.memleak4j.it.programs.AwaitTracking;
import dev.memleak4j.it.programs.LeakLib;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Native memory leaked from virtual threads (JDK 21+ API: run from source by JDK 25's launcher, the test classes on
 * the class path). Each of {@code args[0]} virtual threads calls itself {@code args[1]} frames deep, then runs
 * {@code args[2]} rounds, sleeping between them: from the second round on it runs wherever it was mounted again, with
 * only its top frames copied back to the carrier's stack and its callers still frozen in the Java heap. Each round
 * leaks a block of {@code args[3]} bytes through JNI and a direct buffer of {@code args[4]} bytes, and frees a block
 * of {@code args[5]} bytes from the same place. So each kind of leak is one call path, whatever the round.
 */
public final class VirtualThreadProgram {
    private static final List<Object> KEPT = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        int threads = Integer.parseInt(args[0]);
        int depth = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        long leaked = Long.parseLong(args[3]);
        int direct = Integer.parseInt(args[4]);
        long freed = Long.parseLong(args[5]);
        List<Thread> started = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            started.add(Thread.ofVirtual().name("leaker-" + t)
                    .start(() -> descend(depth, rounds, leaked, direct, freed)));
        }
        for (Thread thread : started) {
            thread.join();
        }
        TimeUnit.MILLISECONDS.sleep(3500); // reports every second: the last ones see every block
    }

    private static void descend(int depth, int rounds, long leaked, int direct, long freed) {
        if (depth > 0) {
            descend(depth - 1, rounds, leaked, direct, freed);
            return;
        }
        for (int round = 0; round < rounds; round++) {
            leak(leaked, direct, freed);
            try {
                TimeUnit.MILLISECONDS.sleep(20); // unmounts: the frames above go to the heap
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static void leak(long leaked, int direct, long freed) {
        long block = LeakLib.viaMalloc(leaked);
        ByteBuffer buffer = ByteBuffer.allocateDirect(direct);
        LeakLib.release(LeakLib.viaMalloc(freed));
        synchronized (KEPT) {
            KEPT.add(buffer);
            System.out.println("LEAK " + Long.toHexString(block));
        }
    }
}
