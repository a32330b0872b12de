package dev.memleak4j.agent.jmx;

import dev.memleak4j.agent.jnimarks.JniWrapping;
import dev.memleak4j.agent.nativelib.NativeLibraryLoader;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Field;
import java.util.function.Consumer;
import javax.management.MBeanServer;
import javax.management.MBeanServerFactory;

/**
 * Gets the agent's MBean into the platform MBeanServer when somebody makes that server, instead of making it at start:
 * the platform server loads hundreds of JMX, logging and cgroup classes and keeps their objects for the JVM's life, and
 * every full GC of a JVM that never uses JMX would mark them.
 *
 * <p>How: {@code MBeanServerFactory} makes every server through the builder named by the system property
 * {@value #PROPERTY}, read again at each creation. While the platform server is not made yet, the property names
 * {@link PlatformServerBuilder}, whose hook registers the MBean right after ManagementFactory made the server; then
 * the property is cleared, and later servers are made as without the agent. Where the property names a builder of
 * the application's own (an application server's), it stays, and the MBean is registered at start as before.
 *
 * <p>Races: the property is set before the agent looks for an existing server, and it looks holding
 * ManagementFactory's lock, which {@code getPlatformMBeanServer} holds while it makes the server: a server is either
 * made before (found) or after (made through the builder). Registering twice in the same server is a no-op.
 */
final class LazyRegistration {
    static final String PROPERTY = "javax.management.builder.initial";
    /** By name: a class literal would load the agent jar's copy through the application's loader. */
    static final String BUILDER = "dev.memleak4j.agent.jmx.PlatformServerBuilder";

    /** {@link PlatformServerBuilder#onPlatformServer} of the bootstrap loader's class; null until first armed. */
    private static Field hook;

    private LazyRegistration() {}

    /**
     * Calls {@code onCreated} with the platform server when somebody makes it; false when it cannot (a builder of
     * the application's own is set, or the builder cannot be defined in the bootstrap loader): register now then.
     */
    static synchronized boolean arm(Consumer<MBeanServer> onCreated) {
        String property = System.getProperty(PROPERTY);
        if (property != null && !property.equals(BUILDER)) {
            return false;
        }
        try {
            if (hook == null) {
                NativeLibraryLoader.load();
                JniWrapping.defineInBootstrap(BUILDER);
                hook = Class.forName(BUILDER, false, null).getField("onPlatformServer");
            }
            hook.set(null, onCreated);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return false;
        }
        if (property == null) {
            System.setProperty(PROPERTY, BUILDER);
        }
        return true;
    }

    /** Whether the hook waits for the platform server and the property still names its builder. */
    static synchronized boolean armed() {
        return hook != null && hookValue() != null && BUILDER.equals(System.getProperty(PROPERTY));
    }

    /** No hook any more; the property as it was before {@link #arm} (unless somebody else changed it since). */
    static synchronized void disarm() {
        if (hook != null) {
            try {
                hook.set(null, null);
            } catch (ReflectiveOperationException e) {
                // a public static field of a class of our own: cannot happen
            }
        }
        if (BUILDER.equals(System.getProperty(PROPERTY))) {
            System.clearProperty(PROPERTY);
        }
    }

    /**
     * Whether an MBeanServer exists already (the platform one, or one the application made with MBeanServerFactory).
     * Holding ManagementFactory's lock: none is half made while this looks.
     */
    static boolean serverExists() {
        synchronized (ManagementFactory.class) {
            return !MBeanServerFactory.findMBeanServer(null).isEmpty();
        }
    }

    private static Object hookValue() {
        try {
            return hook.get(null);
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }
}
