package dev.memleak4j.boot;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AgentClassPackTest {
    private static final String MAP = "dev.memleak4j.agent.lang.LongObjectMap";
    private static final String LONG_MAP = "dev.memleak4j.agent.lang.LongLongMap";
    private static final String LAUNCHER = "dev.memleak4j.boot.AgentLauncher";
    private static final String LIBRARY = "native/linux-x86_64/libmemleak4j.so";
    private static final byte[] LIBRARY_BYTES = "\177ELF, compressible compressible compressible".getBytes();

    @TempDir
    Path dir;

    @Test
    void packingMovesTheAgentsClassesAndKeepsEveryOtherEntryAsItWas() throws Exception {
        Path jar = agentLikeJar();

        assertEquals(2, AgentClassPacker.packJar(jar));

        List<String> names = new ArrayList<>();
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            for (Enumeration<? extends ZipEntry> entries = zip.entries(); entries.hasMoreElements(); ) {
                names.add(entries.nextElement().getName());
            }
            assertArrayEquals(classFile(LAUNCHER), zip.getInputStream(zip.getEntry(entryOf(LAUNCHER))).readAllBytes());
            assertArrayEquals("<html/>".getBytes(), zip.getInputStream(zip.getEntry("dev/memleak4j/agent/x.html"))
                    .readAllBytes());
            assertArrayEquals(LIBRARY_BYTES, zip.getInputStream(zip.getEntry(LIBRARY)).readAllBytes());
            // What every start reads whole is stored: no start inflates it. The rest stays deflated.
            assertEquals(ZipEntry.STORED, zip.getEntry(AgentClassPack.ENTRY).getMethod());
            assertEquals(ZipEntry.STORED, zip.getEntry(LIBRARY).getMethod());
            assertEquals(ZipEntry.DEFLATED, zip.getEntry(entryOf(LAUNCHER)).getMethod());
            assertEquals(ZipEntry.DEFLATED, zip.getEntry("dev/memleak4j/agent/x.html").getMethod());
            assertTrue(AgentClassPack.of(zip.getInputStream(zip.getEntry(AgentClassPack.ENTRY)).readAllBytes())
                    .indexOf(MAP) >= 0);
        }
        assertEquals(List.of("META-INF/MANIFEST.MF", AgentClassPack.ENTRY, entryOf(LAUNCHER),
                "dev/memleak4j/agent/x.html", LIBRARY), names);
        try (JarInputStream in = new JarInputStream(Files.newInputStream(jar))) {
            assertEquals("9.9", in.getManifest().getMainAttributes().getValue("Implementation-Version"));
        }
        // A build without `clean` packs the packed jar again: nothing to do, nothing changed.
        byte[] packedJar = Files.readAllBytes(jar);
        assertEquals(0, AgentClassPacker.packJar(jar));
        assertArrayEquals(packedJar, Files.readAllBytes(jar));
    }

    @Test
    void aJarWithAPackAndAgentClassesBesidesIsRefused() throws Exception {
        Path jar = dir.resolve("mixed.jar");
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file)) {
            out.putNextEntry(new JarEntry(AgentClassPack.ENTRY));
            out.write(AgentClassPacker.write(Map.of(MAP, classFile(MAP))));
            out.closeEntry();
            out.putNextEntry(new JarEntry(entryOf(LONG_MAP)));
            out.write(classFile(LONG_MAP));
            out.closeEntry();
        }
        IOException refused = assertThrows(IOException.class, () -> AgentClassPacker.packJar(jar));
        assertTrue(refused.getMessage().contains("holds a class pack and classes of dev.memleak4j.agent."),
                refused.getMessage());
    }

    @Test
    void thePackFindsEachClassByNameAndNothingElse() throws Exception {
        AgentClassPack pack = AgentClassPack.of(AgentClassPacker.write(Map.of(MAP, classFile(MAP), LONG_MAP,
                classFile(LONG_MAP))));

        assertEquals(2, pack.size());
        for (String name : List.of(MAP, LONG_MAP)) {
            int index = pack.indexOf(name);
            assertTrue(index >= 0, name);
            assertEquals(name, pack.name(index));
            byte[] classFile = new byte[pack.classFileLength(index)];
            System.arraycopy(pack.bytes(), pack.classFileOffset(index), classFile, 0, classFile.length);
            assertArrayEquals(classFile(name), classFile);
        }
        for (String absent : List.of("", "a", "dev.memleak4j.agent.lang.Long", MAP + "X", LONG_MAP + "$1", "zzz")) {
            assertEquals(-1, pack.indexOf(absent), absent);
        }
    }

    @Test
    void theLoaderDefinesPackedClassesItselfAndAsksItsParentForTheRest() throws Exception {
        AgentClassPack pack = AgentClassPack.of(AgentClassPacker.write(Map.of(MAP, classFile(MAP))));
        ClassLoader parent = getClass().getClassLoader();
        CodeSource source = getClass().getProtectionDomain().getCodeSource();
        AgentClassLoader loader = new AgentClassLoader(pack, parent, source, "memleak4j", "1.2.3");

        // The parent has the class too (the test class path): the pack's copy wins.
        Class<?> map = loader.loadClass(MAP);
        assertSame(loader, map.getClassLoader());
        assertSame(map, loader.loadClass(MAP));
        assertFalse(map == parent.loadClass(MAP));
        assertEquals("1.2.3", map.getPackage().getImplementationVersion());
        assertEquals("memleak4j", map.getPackage().getImplementationTitle());
        assertSame(source, map.getProtectionDomain().getCodeSource());
        Object instance = map.getConstructor().newInstance();
        map.getMethod("put", long.class, Object.class).invoke(instance, 7L, "seven");
        assertEquals("seven", map.getMethod("get", long.class).invoke(instance, 7L));

        // Not packed: the parent's.
        assertSame(parent.loadClass(LONG_MAP), loader.loadClass(LONG_MAP));
        assertSame(String.class, loader.loadClass("java.lang.String"));

        try (InputStream in = loader.getResourceAsStream(entryOf(MAP))) {
            assertNotNull(in);
            assertArrayEquals(classFile(MAP), in.readAllBytes());
        }
        assertNull(loader.classFile(entryOf(LONG_MAP)));
        assertNull(loader.classFile("dev/memleak4j/agent/lang/LongObjectMap"));
    }

    @Test
    void aDamagedPackIsRefused() throws Exception {
        byte[] good = AgentClassPacker.write(Map.of(MAP, classFile(MAP)));
        byte[] badMagic = good.clone();
        badMagic[0] ^= 1;
        byte[] cutShort = java.util.Arrays.copyOf(good, good.length - 1);
        byte[] tooMany = good.clone();
        tooMany[7] = 100;

        for (byte[] damaged : List.of(badMagic, cutShort, tooMany, new byte[3])) {
            assertThrows(IOException.class, () -> AgentClassPack.of(damaged));
        }
    }

    /** A jar laid out as the shaded agent jar: manifest, the agent's classes, the launcher, a resource. */
    private Path agentLikeJar() throws IOException, URISyntaxException {
        Path jar = dir.resolve("agent.jar");
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.IMPLEMENTATION_VERSION, "9.9");
        try (OutputStream file = Files.newOutputStream(jar);
             JarOutputStream out = new JarOutputStream(file, manifest)) {
            for (String name : List.of(MAP, LAUNCHER, LONG_MAP)) {
                out.putNextEntry(new JarEntry(entryOf(name)));
                out.write(classFile(name));
                out.closeEntry();
            }
            out.putNextEntry(new JarEntry("dev/memleak4j/agent/x.html"));
            out.write("<html/>".getBytes());
            out.closeEntry();
            out.putNextEntry(new JarEntry(LIBRARY));
            out.write(LIBRARY_BYTES);
            out.closeEntry();
        }
        return jar;
    }

    private static String entryOf(String className) {
        return className.replace('.', '/') + ".class";
    }

    private static byte[] classFile(String className) throws IOException, URISyntaxException {
        Path classes = Paths.get(AgentLauncher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        return Files.readAllBytes(classes.resolve(entryOf(className)));
    }
}
