import dev.memleak4j.it.programs.AwaitTracking;
import dev.memleak4j.it.programs.LeakLib;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Virtual threads parking all the time under full GCs (JDK 21+ API: run from source by JDK 25's launcher): for
 * {@code args[0]} seconds, {@code args[1]} virtual threads, thread t at depth {@code t % args[2]} of its own
 * recursion, malloc and free small blocks through JNI, leak one block of {@code args[3]} bytes every 500 calls and
 * sleep a millisecond every 8, while a platform thread asks for a full GC every 50 ms (which moves the heap's stack
 * chunks). Prints {@code LEAKED n}.
 */
public final class VirtualThreadChurnProgram {
    private static final AtomicLong LEAKED = new AtomicLong();

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[0]));
        int threads = Integer.parseInt(args[1]);
        int depths = Integer.parseInt(args[2]);
        long leaked = Long.parseLong(args[3]);
        Thread.ofPlatform().daemon().start(() -> {
            while (true) {
                System.gc();
                try {
                    TimeUnit.MILLISECONDS.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        List<Thread> started = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int depth = t % depths;
            started.add(Thread.ofVirtual().start(() -> descend(depth, end, leaked)));
        }
        for (Thread thread : started) {
            thread.join();
        }
        System.out.println("LEAKED " + LEAKED.get());
        TimeUnit.MILLISECONDS.sleep(2500); // reports every second: the last ones see every block
    }

    private static void descend(int depth, long end, long leaked) {
        if (depth > 0) {
            descend(depth - 1, end, leaked);
            return;
        }
        for (long i = 1; System.nanoTime() < end; i++) {
            LeakLib.release(LeakLib.viaMalloc(64 + (i & 255)));
            if (i % 500 == 0) {
                LeakLib.viaMalloc(leaked);
                LEAKED.incrementAndGet();
            }
            if (i % 8 == 0) {
                try {
                    TimeUnit.MILLISECONDS.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }
}
