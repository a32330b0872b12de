package dev.memleak4j.agent.jmx;

import java.util.function.Consumer;
import javax.management.MBeanServer;
import javax.management.MBeanServerBuilder;
import javax.management.MBeanServerDelegate;

/**
 * The JDK's default MBeanServer builder, plus a hook that sees the platform MBeanServer as soon as it is made: the
 * agent names this class in {@code javax.management.builder.initial} so that its MBean is registered when somebody
 * creates the platform server (a JMX client's local attach, {@code -Dcom.sun.management.jmxremote}, the application),
 * instead of the agent creating that server in every JVM ({@link LazyRegistration}).
 *
 * <p>Defined in the bootstrap class loader: {@code MBeanServerFactory} loads the builder by name through the context
 * class loader of the thread that creates the server, or through the bootstrap loader when that thread has none (the
 * Attach Listener, which starts the local JMX agent for jconsole); every loader sees the bootstrap loader's classes.
 * So it uses JDK classes only, and the agent reaches its hook by reflection.
 */
public final class PlatformServerBuilder extends MBeanServerBuilder {
    /** Called with the platform MBeanServer right after it is made, before ManagementFactory returns it; or null. */
    public static volatile Consumer<MBeanServer> onPlatformServer;

    public PlatformServerBuilder() {}

    @Override
    public MBeanServer newMBeanServer(String defaultDomain, MBeanServer outer, MBeanServerDelegate delegate) {
        MBeanServer server = super.newMBeanServer(defaultDomain, outer, delegate);
        Consumer<MBeanServer> hook = onPlatformServer;
        if (hook != null && outer == null && forPlatform()) {
            try {
                hook.accept(server);
            } catch (Throwable e) {
                // the hook says what failed itself; the server is made either way
            }
        }
        return server;
    }

    /** Whether the server is being made by ManagementFactory.getPlatformMBeanServer, not an application's own. */
    private static boolean forPlatform() {
        for (StackTraceElement frame : new Throwable().getStackTrace()) {
            if (frame.getMethodName().equals("getPlatformMBeanServer")
                    && frame.getClassName().equals("java.lang.management.ManagementFactory")) {
                return true;
            }
        }
        return false;
    }
}
