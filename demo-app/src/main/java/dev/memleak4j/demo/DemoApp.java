package dev.memleak4j.demo;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * A leaky application to try memleak4j on. A worker thread calls a JNI fibonacci once a second, which leaks
 * 8192 bytes per call; meanwhile other threads allocate and free native memory heavily (JNI churn, zlib
 * round trips that end their Deflater/Inflater), which memleak4j must not report.
 *
 * <p>Usage: {@code java -jar demo-app.jar [--seconds N]} (default: run until stopped).
 */
public final class DemoApp {
    private DemoApp() {}

    public static void main(String[] args) throws InterruptedException {
        long seconds = args.length == 2 && args[0].equals("--seconds") ? Long.parseLong(args[1]) : Long.MAX_VALUE;
        Thread leaker = new Thread(DemoApp::leakEverySecond, "fibonacci-worker");
        leaker.setDaemon(true);
        leaker.start();
        Thread churner = new Thread(DemoApp::churnForever, "churn-worker");
        churner.setDaemon(true);
        churner.start();
        System.out.println("demo-app: leaking 8192 bytes a second through JNI fibonacci (pid "
                + ProcessHandle.current().pid() + ")");
        if (seconds == Long.MAX_VALUE) {
            leaker.join();
        } else {
            TimeUnit.SECONDS.sleep(seconds);
        }
        System.out.println("demo-app: done");
    }

    private static void leakEverySecond() {
        for (int n = 1; ; n++) {
            long value = NativeMath.fibonacci(n % 90);
            if (value < 0) {
                System.out.println("overflow");
            }
            sleep(1000);
        }
    }

    private static void churnForever() {
        byte[] text = "memleak4j demo payload ".repeat(3000).getBytes(StandardCharsets.UTF_8);
        while (true) {
            // ~2,500 malloc/calloc/realloc/free rounds a second: heavy, yet under the agent's default max-tracked
            // budget (about 4,000 of its calls a second are tracked at 8 KiB), so the demo's report stays exact.
            NativeMath.churn(50);
            roundTrip(text);
            sleep(20);
        }
    }

    /** zlib through Deflater/Inflater, ended properly: its native memory is freed at once. */
    private static void roundTrip(byte[] input) {
        Deflater deflater = new Deflater();
        Inflater inflater = new Inflater();
        try {
            deflater.setInput(input);
            deflater.finish();
            ByteArrayOutputStream compressed = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            while (!deflater.finished()) {
                compressed.write(buffer, 0, deflater.deflate(buffer));
            }
            inflater.setInput(compressed.toByteArray());
            while (!inflater.finished()) {
                if (inflater.inflate(buffer) == 0 && inflater.needsInput()) {
                    break;
                }
            }
        } catch (DataFormatException e) {
            throw new IllegalStateException(e);
        } finally {
            deflater.end();
            inflater.end();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
