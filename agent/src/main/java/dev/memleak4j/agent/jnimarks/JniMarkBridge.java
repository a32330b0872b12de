package dev.memleak4j.agent.jnimarks;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import java.util.function.LongConsumer;

/**
 * The hot path of the JNI marks, called from every wrapped JNI method (see {@link JniAdvice}). This class (and its
 * nested {@link ThreadSlot}) is injected into the bootstrap class loader, so that JDK classes such as
 * {@code java.util.zip.Inflater} can call it; it therefore uses nothing but the JDK. The agent plugs in through
 * {@link #install} and {@link #uninstall}.
 *
 * <p>Each Java thread that enters a wrapped method gets a slot in the kernel side's mmap-ed {@code jni_marks} array
 * (once: the registrar binds its thread id to the slot). Entering writes a fresh non-zero mark for this call into the
 * slot; leaving restores the caller's mark (nesting), and when the kernel side has set the slot's {@code hit} to this
 * call's mark (a tracked allocation was made under it), hands the mark to the capture hook, on this thread, while the
 * Java callers are still on the stack. No allocation and no lock on the path: a few nanoseconds per call.
 */
public final class JniMarkBridge {
    /** {@link #enter} returns this when nothing was marked; never a mark (slots are below 2^23). */
    public static final long NOT_MARKED = -1L;
    /** The slot's mark while the agent captures the thread's Java callers (bpf/memleak.h JNI_MARK_AGENT). */
    public static final long AGENT_MARK = -1L;
    /** A mark is {@code slot << SLOT_SHIFT | counter}; the counter is never 0, so neither is a mark. */
    public static final int SLOT_SHIFT = 40;
    private static final long COUNTER_MASK = (1L << SLOT_SHIFT) - 1;
    private static final int SLOT_BYTES = 16;
    private static final ThreadLocal<ThreadSlot> SLOTS = new ThreadLocal<>();

    /** Non-null while the marks are on. */
    private static volatile ByteBuffer marks;
    private static volatile int generation;
    private static volatile IntSupplier registrar;
    private static volatile LongConsumer onHit;
    /** Captures and registrations that threw: Java callers lost, counted for the report's losses line. */
    private static final AtomicLong FAILURES = new AtomicLong();

    private JniMarkBridge() {}

    /**
     * Turns the marks on: {@code buffer} is the mapped array (16 bytes a slot, native order), {@code registrar}
     * gives the calling thread a slot (or -1), {@code onHit} binds a hit mark to the calling thread's Java stack.
     */
    public static synchronized void install(ByteBuffer buffer, IntSupplier registrar, LongConsumer onHit) {
        JniMarkBridge.registrar = registrar;
        JniMarkBridge.onHit = onHit;
        generation++;
        marks = buffer;
    }

    /** Turns the marks off; calls in progress finish against the buffer they started with. */
    public static synchronized void uninstall() {
        marks = null;
        generation++;
        registrar = null;
        onHit = null;
    }

    /** Captures of Java callers and thread registrations that failed so far (the calls ran on without marks). */
    public static long failures() {
        return FAILURES.get();
    }

    /** The state of one thread: its slot in one buffer (one generation of the marks). */
    static final class ThreadSlot {
        final ByteBuffer buffer;
        final int generation;
        final int offset;
        final long base;
        long last;
        boolean busy;

        ThreadSlot(ByteBuffer buffer, int generation, int slot) {
            this.buffer = buffer;
            this.generation = generation;
            this.offset = slot * SLOT_BYTES;
            this.base = slot < 0 ? 0 : (long) slot << SLOT_SHIFT;
        }
    }

    /** At the start of a wrapped method: marks this call; returns the mark to restore, or {@link #NOT_MARKED}. */
    public static long enter() {
        ByteBuffer buffer = marks;
        if (buffer == null) {
            return NOT_MARKED;
        }
        ThreadSlot slot = SLOTS.get();
        if (slot == null || slot.generation != generation) {
            slot = register(buffer);
        }
        if (slot.offset < 0 || slot.busy) {
            return NOT_MARKED;
        }
        long counter = (slot.last + 1) & COUNTER_MASK;
        long mark = slot.base | (counter == 0 ? 1 : counter);
        slot.last = mark;
        long previous = slot.buffer.getLong(slot.offset);
        slot.buffer.putLong(slot.offset, mark);
        return previous;
    }

    /** At every exit of a wrapped method (return or throw), with what {@link #enter} returned. */
    public static void exit(long previous) {
        if (previous == NOT_MARKED) {
            return;
        }
        ThreadSlot slot = SLOTS.get();
        // A call begun before the marks stopped: its slot may belong to another thread in a later session.
        if (slot == null || slot.offset < 0 || slot.generation != generation) {
            return;
        }
        ByteBuffer buffer = slot.buffer;
        long mark = buffer.getLong(slot.offset);
        boolean hit = mark != 0 && buffer.getLong(slot.offset + 8) == mark;
        // Restored before the hook runs: what the hook allocates is not this call's.
        buffer.putLong(slot.offset, previous);
        if (hit) {
            LongConsumer hook = onHit;
            if (hook != null) {
                slot.busy = true;
                // What the capture allocates natively (JVMTI's resource chunks) is the agent's, not this call's
                // or the application's: the kernel side records nothing under this mark.
                buffer.putLong(slot.offset, AGENT_MARK);
                try {
                    hook.accept(mark);
                } catch (Throwable e) {
                    // never the application's problem: the allocation is reported without its Java callers
                    FAILURES.incrementAndGet();
                } finally {
                    buffer.putLong(slot.offset, previous);
                    slot.busy = false;
                }
            }
        }
    }

    private static ThreadSlot register(ByteBuffer buffer) {
        int current = generation;
        IntSupplier supplier = registrar;
        int index = -1;
        ThreadSlot blocked = new ThreadSlot(buffer, current, -1);
        blocked.busy = true;
        SLOTS.set(blocked); // wrapped methods the registrar might call are not marked
        if (supplier != null) {
            try {
                index = supplier.getAsInt();
            } catch (Throwable e) {
                index = -1;
                FAILURES.incrementAndGet();
            }
        }
        ThreadSlot slot = new ThreadSlot(buffer, current, index);
        SLOTS.set(slot);
        return slot;
    }
}
