package dev.memleak4j.agent.owners;

import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongPredicate;
import java.util.function.LongSupplier;
import java.util.function.ObjLongConsumer;
import java.util.function.Predicate;

/**
 * Which Java object owns which tracked native block: filled by the owners' constructors (through
 * {@link OwnerBridge}), read by the report's pass over the outstanding blocks.
 *
 * <p>An owner is registered only when its block is tracked (in hooks mode: one of the sampled addresses the hooks
 * keep in the process), with a {@link WeakReference}: the registry never keeps an owner alive, and a cleared
 * reference with the block still outstanding is exactly what tells "leaked by an unreachable object" (or "awaiting
 * its Cleaner") from "retained by a live one". An entry is forgotten at the first pass that no longer finds its block
 * outstanding, or that finds its address holding a block allocated after the owner was made (freed, then the address
 * came back). Bounded: beyond {@code capacity} entries, owners are not registered and are counted.
 */
public final class OwnerRegistry implements ObjLongConsumer<Object> {
    /** 256 Ki owners: ~100 bytes each (entry, weak reference, map node) at most ~26 MB of heap. */
    public static final int DEFAULT_CAPACITY = 1 << 18;

    /** What became of an owner. */
    public enum State { LIVE, UNREACHABLE, AWAITING_CLEANER }

    private record Type(String name, boolean cleanerManaged) {}

    private static final class Entry {
        final WeakReference<Object> owner;
        final Type type;
        final long registeredNanos;
        long seenInPass;

        Entry(Object owner, Type type, long registeredNanos) {
            this.owner = new WeakReference<>(owner);
            this.type = type;
            this.registeredNanos = registeredNanos;
        }
    }

    private final int capacity;
    private final LongPredicate tracked;
    private final LongSupplier clock;
    private final ClassValue<Type> types;
    /** Guarded by this: the owners' constructors run on any thread. */
    private final Map<Long, Entry> entries = new HashMap<>();
    private final AtomicLong dropped = new AtomicLong();
    private long passes;

    /**
     * @param tracked        whether an address is a tracked block now (owners of other blocks are not kept)
     * @param clock          the clock of the blocks' allocation times (System::nanoTime, CLOCK_MONOTONIC)
     * @param cleanerManaged whether a class's objects free their block through a Cleaner once unreachable
     */
    public OwnerRegistry(int capacity, LongPredicate tracked, LongSupplier clock,
                         Predicate<Class<?>> cleanerManaged) {
        this.capacity = capacity;
        this.tracked = tracked;
        this.clock = clock;
        this.types = new ClassValue<>() {
            @Override
            protected Type computeValue(Class<?> type) {
                return new Type(type.getName(), cleanerManaged.test(type));
            }
        };
    }

    /** {@code owner} holds the block at {@code address} (called at the end of its constructor). */
    @Override
    public void accept(Object owner, long address) {
        if (address == 0 || !tracked.test(address)) {
            return;
        }
        Entry entry = new Entry(owner, types.get(owner.getClass()), clock.getAsLong());
        synchronized (this) {
            if (entries.size() >= capacity && !entries.containsKey(address)) {
                dropped.incrementAndGet();
                return;
            }
            entries.put(address, entry);
        }
    }

    /** Owners not registered because the registry was full. */
    public long dropped() {
        return dropped.get();
    }

    public synchronized int size() {
        return entries.size();
    }

    /** Whether no owner is registered: the report's pass then skips the lookups. */
    public synchronized boolean isEmpty() {
        return entries.isEmpty();
    }

    /**
     * Forgets the owners whose block is no longer tracked (freed: released, or cleaned), between reports. Why not
     * only at the reports: under churn (a direct buffer a microsecond) the entries of freed blocks would pile up for a
     * whole interval, and every GC would trace them and process their weak references; with full GCs as frequent as
     * direct-memory churn makes them, that cost the application more than the lookups themselves.
     */
    public void forgetFreed() {
        synchronized (this) {
            entries.keySet().removeIf(address -> !tracked.test(address));
        }
    }

    /** Starts a report's pass over every outstanding block; {@link Pass#finish} forgets the owners of freed blocks. */
    public synchronized Pass beginPass() {
        return new Pass(++passes, clock.getAsLong());
    }

    /** One pass over the outstanding blocks, on one thread. */
    public final class Pass {
        private final long id;
        private final long startedNanos;

        private Pass(long id, long startedNanos) {
            this.id = id;
            this.startedNanos = startedNanos;
        }

        /**
         * Counts the owner of the outstanding block at {@code address}, allocated at {@code allocatedNanos}, into
         * {@code tally} (made when null); returns the tally, or null when the block has no known owner.
         */
        public OwnerTally count(long address, long allocatedNanos, OwnerTally tally) {
            Type type;
            Object owner;
            synchronized (OwnerRegistry.this) {
                Entry entry = entries.get(address);
                if (entry == null) {
                    return tally;
                }
                if (allocatedNanos > entry.registeredNanos) {
                    // A newer block at the owner's old address: the owner's own block was freed.
                    entries.remove(address);
                    return tally;
                }
                entry.seenInPass = id;
                type = entry.type;
                owner = entry.owner.get();
            }
            State state = owner != null ? State.LIVE : type.cleanerManaged ? State.AWAITING_CLEANER : State.UNREACHABLE;
            OwnerTally into = tally != null ? tally : new OwnerTally();
            into.add(type.name, state);
            return into;
        }

        /** An outstanding block the report leaves out (younger than 'older'): its owner is kept, not counted. */
        public void keep(long address) {
            synchronized (OwnerRegistry.this) {
                Entry entry = entries.get(address);
                if (entry != null) {
                    entry.seenInPass = id;
                }
            }
        }

        /**
         * Forgets the owners whose block was not outstanding in this pass (freed: released, or cleaned), except
         * those registered while the pass ran.
         */
        public void finish() {
            synchronized (OwnerRegistry.this) {
                for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
                    Entry entry = it.next();
                    if (entry.seenInPass != id && entry.registeredNanos < startedNanos) {
                        it.remove();
                    }
                }
            }
        }
    }
}
