package dev.memleak4j.it.programs;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * A JVM driven line by line from stdin, for tests that attach the agent at run time. Commands: {@code leak N SIZE}
 * (N blocks of SIZE through malloc, kept), {@code free SIZE} (frees every kept block of SIZE), {@code jni-woven}
 * (prints {@code WOVEN N}: N is 1 when a Deflater and Inflater round trip calls into memleak4j's JNI mark bridge,
 * i.e. its advice is woven into them, 0 when not), {@code agent-classes} (prints {@code AGENT_CLASSES visible} when
 * the application's class loader can load memleak4j's entry class, {@code AGENT_CLASSES hidden} when not),
 * {@code exit CODE}. Prints {@code READY} at start and
 * {@code DONE <command>} after each command.
 */
public final class CommandProgram {
    private CommandProgram() {}

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        Deque<long[]> kept = new ArrayDeque<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        System.out.println("READY");
        System.out.flush();
        for (String line; (line = in.readLine()) != null; ) {
            String[] words = line.trim().split("\\s+");
            switch (words[0]) {
                case "leak": {
                    int count = Integer.parseInt(words[1]);
                    long size = Long.parseLong(words[2]);
                    for (int i = 0; i < count; i++) {
                        long block = LeakLib.viaMalloc(size);
                        if (block == 0) {
                            throw new IllegalStateException("malloc(" + size + ") failed");
                        }
                        kept.add(new long[] {block, size});
                    }
                    break;
                }
                case "free": {
                    long size = Long.parseLong(words[1]);
                    kept.removeIf(block -> {
                        if (block[1] == size) {
                            LeakLib.release(block[0]);
                            return true;
                        }
                        return false;
                    });
                    break;
                }
                case "jni-woven":
                    System.out.println("WOVEN " + callsIntoBridge());
                    break;
                case "agent-classes":
                    System.out.println("AGENT_CLASSES " + agentClassesVisible());
                    break;
                case "exit":
                    System.exit(Integer.parseInt(words[1]));
                    break;
                default:
                    throw new IllegalArgumentException("unknown command " + line);
            }
            System.out.println("DONE " + line.trim());
            System.out.flush();
        }
    }

    private static String agentClassesVisible() {
        try {
            Class.forName("dev.memleak4j.agent.AgentEntry", false, ClassLoader.getSystemClassLoader());
            return "visible";
        } catch (ClassNotFoundException e) {
            return "hidden";
        }
    }

    /**
     * How many threads a zip round trip on a fresh thread registered with the bridge: its advice registers a thread
     * at the first wrapped call. The bridge's registrar is swapped for a counting one that hands on to the agent's
     * (and, while the marks are off, a scratch buffer stands in for theirs so that the advice gets that far).
     */
    private static int callsIntoBridge() throws Exception {
        Class<?> bridge;
        try {
            bridge = Class.forName("dev.memleak4j.agent.jnimarks.JniMarkBridge", false, null);
        } catch (ClassNotFoundException e) {
            return 0; // never attached
        }
        Field marks = bridge.getDeclaredField("marks");
        Field registrar = bridge.getDeclaredField("registrar");
        marks.setAccessible(true);
        registrar.setAccessible(true);
        Object savedMarks = marks.get(null);
        IntSupplier saved = (IntSupplier) registrar.get(null);
        AtomicInteger calls = new AtomicInteger();
        registrar.set(null, (IntSupplier) () -> {
            calls.incrementAndGet();
            return saved != null ? saved.getAsInt() : -1;
        });
        if (savedMarks == null) {
            marks.set(null, ByteBuffer.allocateDirect(16));
        }
        try {
            Thread thread = new Thread(CommandProgram::zipRoundTrip);
            thread.start();
            thread.join();
        } finally {
            marks.set(null, savedMarks);
            registrar.set(null, saved);
        }
        return calls.get();
    }

    private static void zipRoundTrip() {
        byte[] data = new byte[4096];
        byte[] packed = new byte[8192];
        Deflater deflater = new Deflater();
        deflater.setInput(data);
        deflater.finish();
        int length = deflater.deflate(packed);
        deflater.end();
        Inflater inflater = new Inflater();
        inflater.setInput(packed, 0, length);
        try {
            inflater.inflate(data);
        } catch (DataFormatException e) {
            throw new IllegalStateException(e);
        }
        inflater.end();
    }
}
