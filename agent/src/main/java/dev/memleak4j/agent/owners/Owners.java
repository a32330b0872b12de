package dev.memleak4j.agent.owners;

import dev.memleak4j.agent.bpf.AllocHooks;
import dev.memleak4j.agent.jnimarks.BootstrapBridge;
import dev.memleak4j.agent.jnimarks.JniWrapping;

import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.ObjLongConsumer;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Who owns the tracked blocks: for the JDK's owners of native memory ({@code DirectByteBuffer}, {@code Inflater},
 * {@code Deflater}) and the classes named in {@code owners}, advice at the end of their constructors registers the
 * new object, weakly, under the address of the block it holds, when that block is tracked; the report's pass over
 * the outstanding blocks then says, per stack, how many owners are still reachable (retained by live objects), how
 * many became unreachable without releasing their block (leaked), and how many unreachable ones wait for their
 * Cleaner.
 *
 * <p>Why the address at the end of the constructor: the block is allocated by the constructor (or handed to it, as
 * RocksDB's {@code nativeHandle_}, which C++'s {@code new} got from malloc), so by then it is outstanding and, in hooks
 * mode, already in the hooks' set of sampled addresses, which answers "is it tracked?" without a system call; only
 * then does the constructor pay for a weak reference. An untracked (unsampled) block costs the lookup and nothing
 * else.
 */
public final class Owners {
    private static OwnerRegistry registry;
    /** {@link OwnerBridge} in the bootstrap loader, which the woven code calls; set with {@link #registry}. */
    private static BootstrapBridge bridge;
    private static ClassFileTransformer transformer;
    private static List<Class<?>> wovenClasses = List.of();

    private Owners() {}

    /** The classes of an {@code owners} value ({@code CLASS[#FIELD]:...}) to their field ("" for the only long one). */
    public static Map<String, String> parse(String value) {
        Map<String, String> named = new LinkedHashMap<>();
        if (value == null || value.isBlank() || value.trim().equalsIgnoreCase("none")) {
            return named;
        }
        for (String item : value.split(":")) {
            String spec = item.trim();
            if (spec.isEmpty() || spec.equalsIgnoreCase("jdk")) {
                continue;
            }
            int hash = spec.indexOf('#');
            named.put(hash < 0 ? spec : spec.substring(0, hash), hash < 0 ? "" : spec.substring(hash + 1));
        }
        return named;
    }

    /** Whether an {@code owners} value turns the owners off (the JDK's too). */
    public static boolean off(String value) {
        return value != null && value.trim().equalsIgnoreCase("none");
    }

    /** The registry while the owners are on, else null. */
    public static synchronized OwnerRegistry registry() {
        return registry;
    }

    /** Objects of these classes free their block through a Cleaner once unreachable. */
    static boolean cleanerManaged(Class<?> type) {
        return Inflater.class.isAssignableFrom(type) || Deflater.class.isAssignableFrom(type)
                || type.getName().equals(OwnerWeaver.DIRECT_BUFFER);
    }

    /**
     * Weaves the owners' constructors and turns the registry on; owners are registered only when the hooks sampled
     * their block, so only with {@code hooks}. Returns false, after one line through {@code log}, when the JVM does
     * not allow it or the probes are not the hooks.
     */
    public static synchronized boolean start(Instrumentation instrumentation, String value, boolean hooks,
                                             Consumer<String> log) {
        if (registry != null || off(value)) {
            return registry != null;
        }
        if (!hooks) {
            // Without the hooks' set there is no cheap "is this block tracked?": registering every owner (a weak
            // reference per direct buffer, millions a second) would cost more than the tracking itself.
            if (!parse(value).isEmpty()) { // said when the user asked for classes; the default is documented
                log.accept("note: owners=" + value + " has no effect: owners of leak suspects' blocks are known "
                        + "only with probe-mode=hooks (the default)");
            }
            return false;
        }
        if (instrumentation == null || !instrumentation.isRetransformClassesSupported()) {
            log.accept("note: owners of native blocks will not be known: this JVM does not allow retransformation");
            return false;
        }
        String bridgeName = Owners.class.getPackageName() + ".OwnerBridge";
        JniWrapping.defineInBootstrap(bridgeName);
        BootstrapBridge ownerBridge = BootstrapBridge.of(bridgeName);
        List<Class<?>> jdk = new ArrayList<>();
        for (String name : List.of(OwnerWeaver.DIRECT_BUFFER, OwnerWeaver.INFLATER_REF, OwnerWeaver.DEFLATER_REF)) {
            try {
                Class<?> type = Class.forName(name, false, null);
                if (instrumentation.isModifiableClass(type)) {
                    jdk.add(type);
                }
            } catch (ClassNotFoundException | LinkageError e) {
                log.accept("note: " + name + " is not in this JDK: its owners will not be known");
            }
        }
        Map<String, String> named = parse(value);
        List<Class<?>> loaded = new ArrayList<>(jdk);
        if (!named.isEmpty()) { // attached at run time: named classes already loaded are woven now too
            for (Class<?> type : instrumentation.getAllLoadedClasses()) {
                if (named.containsKey(type.getName()) && instrumentation.isModifiableClass(type)) {
                    loaded.add(type);
                }
            }
        }
        OwnerRegistry made = new OwnerRegistry(OwnerRegistry.DEFAULT_CAPACITY,
                AllocHooks::isSampledQuick, System::nanoTime, Owners::cleanerManaged);
        ownerBridge.install(new Class<?>[] {ObjLongConsumer.class}, made);
        try {
            Method weave = JniWrapping.weaverLoader().loadClass(Owners.class.getPackageName() + ".OwnerWeaver")
                    .getMethod("weave", Instrumentation.class, Map.class, Class.class, List.class, Consumer.class);
            transformer = (ClassFileTransformer) weave.invoke(null, instrumentation, named, ownerBridge.type(), loaded,
                    log);
        } catch (InvocationTargetException e) {
            ownerBridge.uninstall();
            log.accept("note: owners of native blocks will not be known: " + e.getCause());
            return false;
        } catch (ReflectiveOperationException e) {
            ownerBridge.uninstall();
            throw new IllegalStateException("the owners' weaver did not load: " + e, e);
        }
        bridge = ownerBridge;
        wovenClasses = loaded;
        registry = made;
        return true;
    }

    /**
     * Takes the advice out again (detach): the transformer is removed and the classes it wove at the start are
     * retransformed without it. Named classes loaded later keep it until they are retransformed; it finds the registry
     * off and does nothing. Never throws.
     */
    public static synchronized void stop(Instrumentation instrumentation, Consumer<String> log) {
        if (registry == null) {
            return;
        }
        bridge.uninstall();
        registry = null;
        if (transformer != null) {
            instrumentation.removeTransformer(transformer);
            transformer = null;
        }
        JniWrapping.unweave(instrumentation, wovenClasses, log, "the owners' advice", "it stays, switched off");
        wovenClasses = List.of();
    }

    /** Between reports (on the reporter thread): forgets the owners of freed blocks. */
    public static void forgetFreed() {
        OwnerRegistry current = registry();
        if (current != null) {
            current.forgetFreed();
        }
    }

    /** Owners not registered (registry full) and registrations that failed, for the losses line. */
    public static synchronized long lost() {
        return registry == null ? 0 : registry.dropped() + bridge.failures();
    }
}
