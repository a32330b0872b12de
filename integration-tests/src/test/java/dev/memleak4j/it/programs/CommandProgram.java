package dev.memleak4j.it.programs;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * A JVM driven line by line from stdin, for tests that attach the agent at run time. Commands: {@code leak N SIZE}
 * (N blocks of SIZE through malloc, kept), {@code free SIZE} (frees every kept block of SIZE), {@code exit CODE}.
 * Prints {@code READY} at start and {@code DONE <command>} after each command.
 */
public final class CommandProgram {
    private CommandProgram() {}

    public static void main(String[] args) throws Exception {
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
}
