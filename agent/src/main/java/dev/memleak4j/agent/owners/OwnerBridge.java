package dev.memleak4j.agent.owners;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ObjLongConsumer;

/**
 * Called from the advice woven into the owners' constructors ({@code OwnerAdvice}): {@code DirectByteBuffer},
 * Inflater's and Deflater's zstream references, the classes named in {@code owners}. Defined in the bootstrap loader,
 * so that JDK classes can call it; it therefore uses nothing but the JDK. The agent plugs its registry in with
 * {@link #install}.
 */
public final class OwnerBridge {
    private static volatile ObjLongConsumer<Object> sink;
    /** Registrations that threw: their owners stay unknown, counted for the report's losses line. */
    private static final AtomicLong FAILURES = new AtomicLong();

    private OwnerBridge() {}

    /** {@code owner} was made and holds the native block at {@code address}. Never throws into the constructor. */
    public static void created(Object owner, long address) {
        ObjLongConsumer<Object> to = sink;
        if (to != null && address != 0 && owner != null) {
            try {
                to.accept(owner, address);
            } catch (Throwable e) { // an owner's constructor must complete whatever happens here
                FAILURES.incrementAndGet();
            }
        }
    }

    public static void install(ObjLongConsumer<Object> registry) {
        sink = registry;
    }

    public static void uninstall() {
        sink = null;
    }

    public static long failures() {
        return FAILURES.get();
    }
}
