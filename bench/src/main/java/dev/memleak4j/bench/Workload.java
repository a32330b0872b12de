package dev.memleak4j.bench;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.Inflater;

/**
 * The workloads. Each thread of a workload calls {@link Batch#run()} in a loop; a batch does a few milliseconds of
 * work and returns how many operations it did.
 */
enum Workload {
    /** JNI: malloc(64) then free, in a C loop. One operation = one pair. */
    JNI_MALLOC_FREE("jni-malloc-free", 1, "malloc(64)/free pair in a JNI C loop") {
        @Override
        Batch newBatch() {
            NativeBench.load();
            return () -> {
                int done = NativeBench.mallocFreePairs(20_000);
                if (done < 0) {
                    throw new IllegalStateException("malloc returned NULL");
                }
                return done;
            };
        }
    },
    /** ByteBuffer.allocateDirect(4096), touched and dropped; the Cleaner frees it after a GC. */
    DIRECT_BUFFER("direct-buffer", 1, "ByteBuffer.allocateDirect(4096), dropped (freed by the Cleaner after GC)") {
        @Override
        Batch newBatch() {
            return () -> {
                for (int i = 0; i < 256; i++) {
                    ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
                    buffer.put(i & 4095, (byte) i);
                    sink = buffer;
                }
                return 256;
            };
        }
    },
    /**
     * Garbage and direct buffers with an explicit full GC every 1,024 buffers: what full GCs cost with a tool in the
     * JVM (its classes, its live objects, its compiled code are all part of every full GC). One operation = one
     * buffer with its garbage.
     */
    GC_HEAVY("gc-heavy", 1, "allocateDirect(4096) + 64 short-lived objects each, System.gc() every 1,024 buffers") {
        @Override
        Batch newBatch() {
            long[] buffers = {0};
            return () -> {
                for (int i = 0; i < 256; i++) {
                    ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
                    buffer.put(i & 4095, (byte) i);
                    Object[] garbage = new Object[64];
                    for (int j = 0; j < garbage.length; j++) {
                        garbage[j] = j % 2 == 0 ? new byte[48] : Integer.toString(i * 64 + j);
                    }
                    sink = garbage;
                    sink = buffer;
                    if (++buffers[0] % 1024 == 0) {
                        System.gc();
                    }
                }
                return 256;
            };
        }
    },
    /** GZIPOutputStream then GZIPInputStream over 64 KiB of text; both closed (their zlib state ended). */
    GZIP("gzip", 1, "gzip round trip of 64 KiB (GZIPOutputStream + GZIPInputStream, closed)") {
        @Override
        Batch newBatch() {
            byte[] input = text(64 * 1024, 42);
            byte[] buffer = new byte[8192];
            return () -> {
                ByteArrayOutputStream compressed = new ByteArrayOutputStream(input.length);
                try (GZIPOutputStream out = new GZIPOutputStream(compressed, 8192)) {
                    out.write(input);
                }
                long total = 0;
                try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed.toByteArray()), 8192)) {
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        total += n;
                    }
                }
                if (total != input.length) {
                    throw new IllegalStateException("gzip round trip gave " + total + " bytes, not " + input.length);
                }
                return 1;
            };
        }
    },
    /** Four threads: a JSON-like document built, deflated, copied through a direct buffer, inflated. */
    MIX("mix", 4, "4 threads: ~1 KiB JSON-like string, Deflater+Inflater (ended), allocateDirect(8192)") {
        @Override
        Batch newBatch() {
            Random random = new Random(Thread.currentThread().getId());
            StringBuilder json = new StringBuilder(4096);
            byte[] compressed = new byte[16384];
            byte[] copy = new byte[16384];
            byte[] inflated = new byte[16384];
            return () -> {
                for (int op = 0; op < 32; op++) {
                    json.setLength(0);
                    json.append("{\"id\":").append(random.nextLong()).append(",\"user\":\"user-")
                            .append(random.nextInt(100_000)).append("\",\"items\":[");
                    for (int i = 0; i < 12; i++) {
                        json.append(i == 0 ? "" : ",").append("{\"sku\":\"SKU-").append(random.nextInt(5000))
                                .append("\",\"qty\":").append(1 + random.nextInt(9)).append(",\"price\":")
                                .append(random.nextInt(100_000) / 100.0).append('}');
                    }
                    json.append("],\"note\":\"").append(WORDS[random.nextInt(WORDS.length)]).append("\"}");
                    byte[] bytes = json.toString().getBytes(StandardCharsets.UTF_8);
                    Deflater deflater = new Deflater();
                    int length;
                    try {
                        deflater.setInput(bytes);
                        deflater.finish();
                        length = deflater.deflate(compressed);
                    } finally {
                        deflater.end();
                    }
                    ByteBuffer direct = ByteBuffer.allocateDirect(8192);
                    direct.put(compressed, 0, length).flip();
                    direct.get(copy, 0, length);
                    sink = direct;
                    Inflater inflater = new Inflater();
                    try {
                        inflater.setInput(copy, 0, length);
                        if (inflater.inflate(inflated) != bytes.length) {
                            throw new IllegalStateException("inflate gave the wrong length");
                        }
                    } catch (DataFormatException e) {
                        throw new IllegalStateException(e);
                    } finally {
                        inflater.end();
                    }
                }
                return 32;
            };
        }
    },
    /** Not timed: allocates blocks through JNI and keeps them (the agent-memory mode). */
    MILLION("million", 1, "blocks malloc'd through JNI and kept") {
        @Override
        Batch newBatch() {
            throw new UnsupportedOperationException("million is not a timed workload");
        }
    };

    static volatile Object sink;

    private static final String[] WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
        "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
        "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "memory", "native", "buffer", "allocation"};

    final String id;
    final int threads;
    final String description;

    Workload(String id, int threads, String description) {
        this.id = id;
        this.threads = threads;
        this.description = description;
    }

    /** The per-thread state and loop of this workload; called on the thread that will run it. */
    abstract Batch newBatch();

    static Workload byId(String id) {
        for (Workload workload : values()) {
            if (workload.id.equals(id)) {
                return workload;
            }
        }
        throw new IllegalArgumentException("unknown workload: " + id);
    }

    /** Deterministic text of {@code length} bytes, compressing about 3:1 like logs or JSON. */
    static byte[] text(int length, long seed) {
        Random random = new Random(seed);
        StringBuilder builder = new StringBuilder(length + 32);
        while (builder.length() < length) {
            builder.append(WORDS[random.nextInt(WORDS.length)]).append(' ').append(random.nextInt(1000))
                    .append(random.nextInt(8) == 0 ? '\n' : ' ');
        }
        return builder.substring(0, length).getBytes(StandardCharsets.US_ASCII);
    }

    interface Batch {
        long run() throws IOException;
    }
}
