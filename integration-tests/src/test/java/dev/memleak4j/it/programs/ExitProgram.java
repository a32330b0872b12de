package dev.memleak4j.it.programs;

import java.util.concurrent.TimeUnit;

/**
 * Leaks three blocks of 1,999,993 bytes, waits {@code args[1]} ms and ends the way {@code args[0]} says: {@code exit}
 * ({@code System.exit(3)}), {@code return} (the end of main) or {@code wait} (sleeps until it is killed, e.g. by
 * SIGTERM). Shorter than the report interval, so only an exit report can show the leak. {@code at-once} does not
 * wait for tracking to begin, leaks and calls {@code System.exit(3)} at once: it ends while the agent still starts.
 */
public final class ExitProgram {
    private ExitProgram() {}

    public static void main(String[] args) throws InterruptedException {
        boolean atOnce = args[0].equals("at-once");
        if (!atOnce) {
            AwaitTracking.start();
        }
        for (int i = 0; i < 3; i++) {
            System.out.println("LEAK " + Long.toHexString(LeakLib.viaMalloc(1_999_993)));
        }
        System.out.println("LEAKS DONE");
        System.out.flush();
        if (atOnce) {
            System.exit(3);
        }
        TimeUnit.MILLISECONDS.sleep(Long.parseLong(args[1]));
        switch (args[0]) {
            case "exit":
                System.exit(3);
                break;
            case "return":
                return;
            case "wait":
                TimeUnit.HOURS.sleep(1);
                break;
            default:
                throw new IllegalArgumentException(args[0]);
        }
    }
}
