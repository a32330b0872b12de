package dev.memleak4j.it.programs;

import java.util.concurrent.TimeUnit;

/**
 * memleak4j starts in the background under {@code -javaagent}, so that {@code main} does not wait for it; a program
 * that allocates at once and must see those allocations tracked waits here first, while the agent says (the system
 * property {@code memleak4j.starting}) that it is still starting. Without the agent, or once it started or failed,
 * this returns at once.
 */
public final class AwaitTracking {
    private AwaitTracking() {}

    public static void start() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.getProperty("memleak4j.starting") != null && System.nanoTime() < deadline) {
            try {
                TimeUnit.MILLISECONDS.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
