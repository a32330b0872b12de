package dev.memleak4j.it.programs;

import com.github.luben.zstd.ZstdCompressCtx;
import com.sun.jna.Native;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.WriteBatch;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Leaks made under native calls whose native code may have no frame pointers, each from a method of its own:
 * {@code AnchorWalkProgram SLEEP_MS SCENARIO...}, SCENARIO one of
 * <ul>
 *   <li>{@code nofp}: {@link #NOFP_LEAKS} blocks of {@link #NOFP_SIZE} bytes through the JNI library built without
 *       frame pointers, from {@link #leakNoFp}, after {@link #WARM_UP_CALLS} calls of it that leak 0 bytes each (so
 *       that the leaking calls come from JIT-compiled code, unless -Xint);</li>
 *   <li>{@code jna}: {@link #JNA_LEAKS} blocks of {@link #JNA_SIZE} bytes from JNA's {@code Native.malloc}, in
 *       {@link #leakJna};</li>
 *   <li>{@code zstd}: {@link #CONTEXTS} zstd-jni compression contexts that compressed some data and were never
 *       closed, made in {@link #leakZstd};</li>
 *   <li>{@code inflater}: {@link #CONTEXTS} Inflaters that inflated some data and were never ended
 *       ({@link #leakInflaters});</li>
 *   <li>{@code deflater}: {@link #CONTEXTS} Deflaters that deflated some data and were never ended
 *       ({@link #leakDeflaters});</li>
 *   <li>{@code direct}: {@link #DIRECT_BUFFERS} direct buffers of {@link #DIRECT_SIZE} bytes kept
 *       ({@link #leakDirectBuffers});</li>
 *   <li>{@code rocksdb}: {@link #ROCKS_LEAKS} RocksDB {@code WriteBatch}es (each reserving {@link #ROCKS_RESERVED}
 *       bytes) from {@link #leakWriteBatches} and as many {@code ReadOptions} from {@link #leakReadOptions}, never
 *       closed.</li>
 * </ul>
 * Everything leaked is kept reachable. Prints {@code LEAKS DONE}, waits for the reports after it (at most
 * {@code args[0]} ms, see {@link AwaitTracking#periodicReportsAfter}), exits 0.
 */
public final class AnchorWalkProgram {
    public static final long NOFP_SIZE = 1_777_777;
    public static final int NOFP_LEAKS = 3;
    public static final int WARM_UP_CALLS = 3_000;
    public static final long JNA_SIZE = 1_234_567;
    public static final int JNA_LEAKS = 2;
    public static final int CONTEXTS = 4;
    /** A multiple of 8: the JDK rounds a direct buffer's native block up to one. */
    public static final int DIRECT_SIZE = 777_776;
    public static final int ROCKS_LEAKS = 300;
    public static final int ROCKS_RESERVED = 4096;
    public static final int DIRECT_BUFFERS = 3;
    private static final List<Object> KEPT = new ArrayList<>();
    /** Made before the leaks, so that what the JVM allocates for the code that makes them is not among them. */
    private static byte[] sample;
    private static byte[] deflatedSample;

    private AnchorWalkProgram() {}

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        sample = sample();
        deflatedSample = JniMarkProgram.compressed();
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "nofp" -> {
                    for (int call = 0; call < WARM_UP_CALLS; call++) {
                        leakNoFp(0);
                    }
                    for (int leak = 0; leak < NOFP_LEAKS; leak++) {
                        leakNoFp(NOFP_SIZE);
                    }
                }
                case "jna" -> {
                    Class.forName("com.sun.jna.Native"); // loads its library: not the leak
                    leakJna();
                }
                case "zstd" -> {
                    Class.forName("com.github.luben.zstd.ZstdCompressCtx");
                    leakZstd();
                }
                case "inflater" -> leakInflaters();
                case "deflater" -> leakDeflaters();
                case "direct" -> leakDirectBuffers();
                case "rocksdb" -> {
                    RocksDB.loadLibrary();
                    leakWriteBatches();
                    leakReadOptions();
                }
                default -> throw new IllegalArgumentException(args[i]);
            }
        }
        System.out.println("LEAKS DONE");
        System.out.flush();
        AwaitTracking.periodicReportsAfter(Long.parseLong(args[0]));
        System.exit(0);
    }

    static void leakNoFp(long size) {
        if (NoFpLib.leak(size) == 0 && size > 0) {
            throw new OutOfMemoryError("malloc(" + size + ")");
        }
    }

    static void leakJna() {
        for (int i = 0; i < JNA_LEAKS; i++) {
            KEPT.add(Native.malloc(JNA_SIZE));
        }
    }

    static void leakZstd() {
        for (int i = 0; i < CONTEXTS; i++) {
            ZstdCompressCtx context = new ZstdCompressCtx();
            context.setLevel(3);
            KEPT.add(context.compress(sample));
            KEPT.add(context);
        }
    }

    static void leakInflaters() {
        byte[] out = new byte[1024]; // not all at once: zlib then keeps a window for the rest
        for (int i = 0; i < CONTEXTS; i++) {
            Inflater inflater = new Inflater();
            inflater.setInput(deflatedSample);
            try {
                inflater.inflate(out);
            } catch (java.util.zip.DataFormatException e) {
                throw new IllegalStateException(e);
            }
            KEPT.add(inflater);
        }
    }

    static void leakDeflaters() {
        for (int i = 0; i < CONTEXTS; i++) {
            Deflater deflater = new Deflater();
            deflater.setInput(sample);
            deflater.finish();
            deflater.deflate(new byte[sample.length]);
            KEPT.add(deflater);
        }
    }

    static void leakDirectBuffers() {
        for (int i = 0; i < DIRECT_BUFFERS; i++) {
            KEPT.add(ByteBuffer.allocateDirect(DIRECT_SIZE));
        }
    }

    static void leakWriteBatches() {
        for (int i = 0; i < ROCKS_LEAKS; i++) {
            KEPT.add(new WriteBatch(ROCKS_RESERVED));
        }
    }

    static void leakReadOptions() {
        for (int i = 0; i < ROCKS_LEAKS; i++) {
            KEPT.add(new ReadOptions());
        }
    }

    private static byte[] sample() {
        byte[] data = new byte[64 * 1024];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) ("anchor walk ".charAt(i % 12) + i / 4096);
        }
        return data;
    }
}
