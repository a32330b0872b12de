package dev.memleak4j.it.programs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Memory that grows in one way for {@code args[1]} seconds, for the verdict on the process's memory, after a
 * 5-second start so the JVM's own start-up settles: {@code leak} (1 MiB/s malloc'd and touched, never freed),
 * {@code fragment} (every second a new thread fills its own glibc arena with 8 MiB of 1 KiB blocks and frees all but
 * one in 64, then stays alive: RSS grows, malloc's in-use bytes barely), {@code mmap} (4 MiB/s of touched anonymous
 * mappings, outside malloc) or {@code idle} (nothing grows).
 */
public final class VerdictProgram {
    private VerdictProgram() {}

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        String mode = args[0];
        long seconds = Long.parseLong(args[1]);
        TimeUnit.SECONDS.sleep(5);
        System.out.println("GROWING " + mode);
        System.out.flush();
        CountDownLatch end = new CountDownLatch(1);
        List<Thread> holders = new ArrayList<>();
        for (long s = 0; s < seconds; s++) {
            switch (mode) {
                case "leak":
                    for (int i = 0; i < 16; i++) {
                        LeakLib.leakTouched(64 * 1024);
                    }
                    break;
                case "fragment":
                    Thread holder = new Thread(() -> {
                        LeakLib.fragment(8192, 1024, 64);
                        try {
                            end.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }, "fragmenter-" + s);
                    holder.start();
                    holders.add(holder);
                    break;
                case "mmap":
                    LeakLib.mmapTouched(4L << 20);
                    break;
                case "idle":
                    break;
                default:
                    throw new IllegalArgumentException(mode);
            }
            TimeUnit.SECONDS.sleep(1);
        }
        end.countDown();
        for (Thread holder : holders) {
            holder.join();
        }
        System.out.println("LEAKS DONE");
    }
}
