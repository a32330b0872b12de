package dev.memleak4j.it.programs;

import java.util.concurrent.TimeUnit;

/**
 * What leak suspects must tell apart, for {@code args[1]} seconds: heavy malloc/free churn (about 100 MiB/s of 4 KiB
 * blocks), a bounded cache that fills at once and stays (LeakLib.mallocMany, 200 × 16 KiB), Java code that keeps the
 * JIT compiling ({@link JitWork}), and, in mode {@code leak}, a slow leak of 64 KiB a second (LeakLib.viaMalloc, 4 KiB
 * blocks every 62.5 ms). Mode {@code churn} leaves the leak out.
 */
public final class SuspectsProgram {
    private SuspectsProgram() {}

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        boolean leak = args[0].equals("leak");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
        System.out.println("CACHE " + LeakLib.mallocMany(200, 16 * 1024));
        Thread churn = new Thread(() -> {
            long nextSecond = System.nanoTime();
            while (System.nanoTime() < end) {
                nextSecond += TimeUnit.SECONDS.toNanos(1);
                LeakLib.churn(25_600, 4096); // 100 MiB
                JitWork.run();
                long rest = nextSecond - System.nanoTime();
                if (rest > 0) {
                    sleepNanos(rest);
                }
            }
        }, "churn");
        churn.start();
        long leaked = 0;
        long next = System.nanoTime();
        while (System.nanoTime() < end) {
            if (leak) {
                LeakLib.viaMalloc(4096);
                leaked += 4096;
            }
            next += TimeUnit.MICROSECONDS.toNanos(62_500);
            sleepNanos(next - System.nanoTime());
        }
        churn.join();
        System.out.println("LEAKED " + leaked);
        System.out.println("LEAKS DONE");
    }

    private static void sleepNanos(long nanos) {
        if (nanos > 0) {
            try {
                TimeUnit.NANOSECONDS.sleep(nanos);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
