package dev.memleak4j.boot;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.security.CodeSource;
import java.security.ProtectionDomain;

/**
 * Defines the agent's classes from its {@link AgentClassPack}; asks its parent (the application's class loader, which
 * has the agent jar on its class path) for everything else: the JDK, and the jar's other entries (the JFR events,
 * the shaded libraries, resources).
 *
 * <p>Not parallel-capable on purpose: a parallel-capable loader keeps a lock object per class name it was ever asked
 * for, objects every full collection marks; the agent's classes load on few threads, mostly its own.
 */
final class AgentClassLoader extends ClassLoader {
    private final AgentClassPack pack;
    private final ProtectionDomain domain;
    private final String title;
    private final String version;

    /**
     * {@code codeSource}: the agent jar's, so that code asking where its classes come from finds the jar;
     * {@code title} and {@code version}: the jar manifest's, for the packages defined here.
     */
    AgentClassLoader(AgentClassPack pack, ClassLoader parent, CodeSource codeSource, String title, String version) {
        super("memleak4j", parent);
        this.pack = pack;
        this.domain = new ProtectionDomain(codeSource, null, this, null);
        this.title = title;
        this.version = version;
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        int index = pack.indexOf(name);
        if (index < 0) {
            return super.loadClass(name, resolve);
        }
        synchronized (getClassLoadingLock(name)) {
            Class<?> type = findLoadedClass(name);
            if (type == null) {
                definePackageOf(name);
                type = defineClass(name, pack.bytes(), pack.classFileOffset(index), pack.classFileLength(index),
                        domain);
            }
            if (resolve) {
                resolveClass(type);
            }
            return type;
        }
    }

    private void definePackageOf(String className) {
        int dot = className.lastIndexOf('.');
        String packageName = dot < 0 ? "" : className.substring(0, dot);
        if (getDefinedPackage(packageName) == null) {
            definePackage(packageName, null, null, null, title, version, null, null);
        }
    }

    /** A packed class's file, as {@code x/y/Z.class}; other resources from the parent. */
    @Override
    public InputStream getResourceAsStream(String name) {
        byte[] classFile = classFile(name);
        return classFile != null ? new ByteArrayInputStream(classFile) : super.getResourceAsStream(name);
    }

    /** The class file of resource {@code name} ({@code x/y/Z.class}) when it is packed here, else null. */
    byte[] classFile(String name) {
        if (!name.endsWith(".class")) {
            return null;
        }
        int index = pack.indexOf(name.substring(0, name.length() - ".class".length()).replace('/', '.'));
        if (index < 0) {
            return null;
        }
        byte[] classFile = new byte[pack.classFileLength(index)];
        System.arraycopy(pack.bytes(), pack.classFileOffset(index), classFile, 0, classFile.length);
        return classFile;
    }
}
