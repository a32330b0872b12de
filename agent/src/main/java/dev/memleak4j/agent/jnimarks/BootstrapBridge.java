package dev.memleak4j.agent.jnimarks;

import java.lang.reflect.InvocationTargetException;

/**
 * A bridge class that the agent put into the bootstrap loader ({@link JniWrapping#defineInBootstrap}), where the
 * advice woven into JDK classes calls it, seen from the agent's side: its {@code install}, {@code uninstall} and
 * {@code failures}, called by reflection. Not through a class literal: in the agent's code that would name a copy of
 * the agent's own class loader, defined again from the agent's class pack (dev.memleak4j.boot.AgentClassLoader), not
 * the copy the woven code calls.
 */
public final class BootstrapBridge {
    private final Class<?> type;

    private BootstrapBridge(Class<?> type) {
        this.type = type;
    }

    /** The bridge {@code className}, defined in the bootstrap loader before; throws IllegalStateException if not. */
    public static BootstrapBridge of(String className) {
        try {
            return new BootstrapBridge(Class.forName(className, false, null));
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(className + " is not in the bootstrap class loader", e);
        }
    }

    public Class<?> type() {
        return type;
    }

    /** Hands the bridge what it calls ({@code install(registrar...)}), whose types are the JDK's. */
    public void install(Class<?>[] parameterTypes, Object... arguments) {
        call("install", parameterTypes, arguments);
    }

    public void uninstall() {
        call("uninstall", new Class<?>[0]);
    }

    /** The calls the bridge could not hand on (what its {@code failures()} counts). */
    public long failures() {
        return (Long) call("failures", new Class<?>[0]);
    }

    private Object call(String method, Class<?>[] parameterTypes, Object... arguments) {
        try {
            return type.getMethod(method, parameterTypes).invoke(null, arguments);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof RuntimeException ? (RuntimeException) e.getCause()
                    : new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(type.getName() + "." + method + " cannot be called: " + e, e);
        }
    }
}
