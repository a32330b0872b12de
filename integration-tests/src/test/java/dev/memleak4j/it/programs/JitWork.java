package dev.memleak4j.it.programs;

import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;

/** Java work that the JIT compiles while it runs, and that deflates a little (zlib's arenas come and go). */
final class JitWork {
    private JitWork() {}

    static void run() {
        List<String> words = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            words.add(Integer.toString(i * 31, 7));
        }
        byte[] input = String.join(",", words).getBytes();
        Deflater deflater = new Deflater();
        deflater.setInput(input);
        deflater.finish();
        byte[] out = new byte[input.length];
        while (!deflater.finished()) {
            deflater.deflate(out);
        }
        deflater.end();
    }
}
