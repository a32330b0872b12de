package dev.memleak4j.boot;

import java.io.IOException;
import java.io.InputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The agent's classes in one entry of its jar ({@value #ENTRY}), which {@link AgentClassLoader} defines them from.
 *
 * <p>Why not ordinary jar entries: the application's class loader would then load them, one jar look-up, inflation,
 * code source and lock object each, and the JDK code doing that becomes hot and JIT-compiled in the application's
 * JVM for good; every full collection walks those classes and that code (docs/benchmarks.md, "The agent's classes in
 * a loader of its own"). Kept out of the class path, the classes are also out of the application's sight.
 *
 * <p>Layout, big-endian: the magic, the count, then one index record per class sorted by name (name offset, name
 * length, class file offset, class file length; offsets from the pack's start), the names (binary names, ASCII), the
 * class files. One array holds it all: a look-up is a binary search over the index, a class is defined from a slice.
 *
 * <p>The build makes it ({@link AgentClassPacker}).
 */
public final class AgentClassPack {
    /** The jar entry holding the pack. */
    public static final String ENTRY = "META-INF/memleak4j/agent-classes.pack";
    /** The classes packed: the agent's own (the launcher's package stays in the jar, loaded as usual). */
    static final String PACKAGE = "dev.memleak4j.agent.";
    static final int MAGIC = 0x4d4c3443; // "ML4C"
    static final int HEADER = 8;
    static final int RECORD = 16;

    private final byte[] pack;
    private final int count;

    private AgentClassPack(byte[] pack) throws IOException {
        if (pack.length < HEADER || readInt(pack, 0) != MAGIC) {
            throw new IOException("not a class pack");
        }
        int classes = readInt(pack, 4);
        if (classes < 0 || (long) HEADER + (long) classes * RECORD > pack.length) {
            throw new IOException("a class pack cut short");
        }
        for (int i = 0; i < classes; i++) {
            int record = HEADER + i * RECORD;
            if (!inside(pack, readInt(pack, record), readInt(pack, record + 4))
                    || !inside(pack, readInt(pack, record + 8), readInt(pack, record + 12))) {
                throw new IOException("a class pack with an entry out of bounds");
            }
        }
        this.pack = pack;
        this.count = classes;
    }

    /** The pack in {@code jar}, or null when the jar has none (the classes are then ordinary entries). */
    static AgentClassPack read(ZipFile jar) throws IOException {
        ZipEntry entry = jar.getEntry(ENTRY);
        if (entry == null) {
            return null;
        }
        try (InputStream in = jar.getInputStream(entry)) {
            long size = entry.getSize();
            // Read into an array of its size where the jar says it (it does for the jars the build writes).
            byte[] pack = size >= 0 && size < Integer.MAX_VALUE ? in.readNBytes((int) size) : in.readAllBytes();
            if (in.read() != -1) {
                throw new IOException("a class pack longer than its jar entry says");
            }
            return new AgentClassPack(pack);
        }
    }

    /** For tests: a pack from its bytes. */
    static AgentClassPack of(byte[] pack) throws IOException {
        return new AgentClassPack(pack);
    }

    int size() {
        return count;
    }

    /** The index of the class with binary name {@code name}, or -1. */
    int indexOf(String name) {
        int lo = 0;
        int hi = count - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int order = compareName(mid, name);
            if (order == 0) {
                return mid;
            }
            if (order < 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return -1;
    }

    /** The pack itself: classes are defined from slices of it. */
    byte[] bytes() {
        return pack;
    }

    int classFileOffset(int index) {
        return readInt(pack, HEADER + index * RECORD + 8);
    }

    int classFileLength(int index) {
        return readInt(pack, HEADER + index * RECORD + 12);
    }

    String name(int index) {
        int record = HEADER + index * RECORD;
        int at = readInt(pack, record);
        char[] name = new char[readInt(pack, record + 4)];
        for (int i = 0; i < name.length; i++) {
            name[i] = (char) (pack[at + i] & 0xff);
        }
        return new String(name);
    }

    /** The name at {@code index} against {@code name}, as {@link String#compareTo} would order them (ASCII). */
    private int compareName(int index, String name) {
        int record = HEADER + index * RECORD;
        int at = readInt(pack, record);
        int length = readInt(pack, record + 4);
        int common = Math.min(length, name.length());
        for (int i = 0; i < common; i++) {
            int difference = (pack[at + i] & 0xff) - name.charAt(i);
            if (difference != 0) {
                return difference;
            }
        }
        return length - name.length();
    }

    private static boolean inside(byte[] pack, int offset, int length) {
        return offset >= 0 && length >= 0 && (long) offset + length <= pack.length;
    }

    private static int readInt(byte[] bytes, int at) {
        return (bytes[at] & 0xff) << 24 | (bytes[at + 1] & 0xff) << 16 | (bytes[at + 2] & 0xff) << 8
                | (bytes[at + 3] & 0xff);
    }
}
