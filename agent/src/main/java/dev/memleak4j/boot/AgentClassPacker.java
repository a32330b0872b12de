package dev.memleak4j.boot;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The build's step that makes the {@link AgentClassPack}: {@code java -cp target/classes
 * dev.memleak4j.boot.AgentClassPacker JAR} moves every class of the agent's packages in the (shaded) jar into the
 * pack. Never loaded in the application's JVM.
 */
public final class AgentClassPacker {
    private AgentClassPacker() {}

    /** The pack of {@code classes} (binary name to class file), in {@link AgentClassPack}'s layout. */
    static byte[] write(Map<String, byte[]> classes) throws IOException {
        TreeMap<String, byte[]> sorted = new TreeMap<>(classes);
        List<byte[]> names = new ArrayList<>();
        int namesLength = 0;
        for (String name : sorted.keySet()) {
            for (int i = 0; i < name.length(); i++) {
                if (name.charAt(i) > 127) {
                    throw new IOException("a class name that is not ASCII: " + name);
                }
            }
            byte[] ascii = name.getBytes(StandardCharsets.US_ASCII);
            names.add(ascii);
            namesLength += ascii.length;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt(AgentClassPack.MAGIC);
        out.writeInt(sorted.size());
        int nameAt = AgentClassPack.HEADER + sorted.size() * AgentClassPack.RECORD;
        int dataAt = nameAt + namesLength;
        int i = 0;
        for (byte[] classFile : sorted.values()) {
            out.writeInt(nameAt);
            out.writeInt(names.get(i).length);
            out.writeInt(dataAt);
            out.writeInt(classFile.length);
            nameAt += names.get(i).length;
            dataAt += classFile.length;
            i++;
        }
        for (byte[] name : names) {
            out.write(name);
        }
        for (byte[] classFile : sorted.values()) {
            out.write(classFile);
        }
        out.flush();
        return bytes.toByteArray();
    }

    /**
     * Rewrites {@code jar} with the classes of {@link AgentClassPack#PACKAGE} moved into the pack, every other entry
     * as it was, in its order (the manifest first, as JarInputStream expects). Returns how many classes it packed: 0
     * when the jar holds its pack already and no class to pack.
     */
    static int packJar(Path jar) throws IOException {
        Map<String, byte[]> classes = new TreeMap<>();
        List<ZipEntry> kept = new ArrayList<>();
        Path packed = jar.resolveSibling(jar.getFileName() + ".packing");
        try (ZipFile in = new ZipFile(jar.toFile())) {
            boolean packedBefore = in.getEntry(AgentClassPack.ENTRY) != null;
            for (Enumeration<? extends ZipEntry> entries = in.entries(); entries.hasMoreElements(); ) {
                ZipEntry entry = entries.nextElement();
                String name = entry.getName();
                if (!entry.isDirectory() && name.endsWith(".class")
                        && name.replace('/', '.').startsWith(AgentClassPack.PACKAGE)) {
                    try (InputStream data = in.getInputStream(entry)) {
                        classes.put(name.substring(0, name.length() - ".class".length()).replace('/', '.'),
                                data.readAllBytes());
                    }
                } else {
                    kept.add(entry);
                }
            }
            if (packedBefore) {
                // A build without `clean` re-shades the jar it shaded before, which is packed already.
                if (!classes.isEmpty()) {
                    throw new IOException(jar + " holds a class pack and classes of " + AgentClassPack.PACKAGE
                            + " besides");
                }
                return 0;
            }
            if (classes.isEmpty()) {
                throw new IOException(jar + " holds no classes of " + AgentClassPack.PACKAGE);
            }
            try (OutputStream file = Files.newOutputStream(packed);
                 JarOutputStream out = new JarOutputStream(file)) {
                boolean packWritten = false;
                for (ZipEntry entry : kept) {
                    if (!packWritten && !entry.getName().startsWith("META-INF/")) {
                        writePack(out, classes);
                        packWritten = true;
                    }
                    try (InputStream data = in.getInputStream(entry)) {
                        if (readWholeAtStart(entry.getName())) {
                            putStored(out, entry.getName(), data.readAllBytes());
                        } else {
                            out.putNextEntry(new JarEntry(entry.getName()));
                            data.transferTo(out);
                            out.closeEntry();
                        }
                    }
                }
                if (!packWritten) {
                    writePack(out, classes);
                }
            }
        }
        Files.move(packed, jar, StandardCopyOption.REPLACE_EXISTING);
        return classes.size();
    }

    private static void writePack(JarOutputStream out, Map<String, byte[]> classes) throws IOException {
        putStored(out, AgentClassPack.ENTRY, write(classes));
    }

    /**
     * Whether the agent reads the entry whole at every start: the class pack (on the application's main thread, before
     * main) and the native library (on the start thread). Those are stored, not deflated, so that no start inflates
     * them (~1.5 MB); the jar grows by what deflating them saved.
     */
    static boolean readWholeAtStart(String name) {
        return name.equals(AgentClassPack.ENTRY) || name.endsWith(".so");
    }

    private static void putStored(JarOutputStream out, String name, byte[] data) throws IOException {
        JarEntry entry = new JarEntry(name);
        CRC32 crc = new CRC32();
        crc.update(data);
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(data.length);
        entry.setCompressedSize(data.length);
        entry.setCrc(crc.getValue());
        out.putNextEntry(entry);
        out.write(data);
        out.closeEntry();
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: AgentClassPacker AGENT_JAR");
            System.exit(2);
        }
        int packed = packJar(Paths.get(args[0]));
        System.out.println(packed == 0 ? "memleak4j: " + args[0] + " holds its class pack already"
                : "memleak4j: " + packed + " agent classes packed into " + args[0] + "!/" + AgentClassPack.ENTRY);
    }
}
