package dev.memleak4j.agent.owners;

import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The owners' bookkeeping: what a report's pass counts, what it forgets, and what a full registry loses. */
class OwnerRegistryTest {
    /** A class that frees its block with a Cleaner (as DirectByteBuffer), and one that must be closed (as RocksDB's). */
    static final class Cleaned {}

    static final class Closeable {}

    private final AtomicLong clock = new AtomicLong(1_000);

    private OwnerRegistry registry(int capacity) {
        return new OwnerRegistry(capacity, address -> address % 2 == 0, clock::get, type -> type == Cleaned.class);
    }

    /** Counts the blocks as a report's pass over the outstanding allocations does; each allocated at time 500. */
    private List<OwnerCount> pass(OwnerRegistry registry, long... outstanding) {
        clock.incrementAndGet(); // the pass starts after the owners were registered
        OwnerRegistry.Pass pass = registry.beginPass();
        OwnerTally tally = null;
        for (long address : outstanding) {
            tally = pass.count(address, 500, tally);
        }
        pass.finish();
        return tally == null ? List.of() : tally.counts();
    }

    /** Drops the only strong reference the caller had, and collects until the owner is gone. */
    private static void collect(WeakReference<?> canary) throws InterruptedException {
        for (int i = 0; i < 100 && canary.get() != null; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertNull(canary.get(), "the owner was not collected");
    }

    @Test
    void liveOwnersAreRetainedUnreachableOnesLeakedOrAwaitingTheirCleaner() throws Exception {
        OwnerRegistry registry = registry(100);
        Closeable live = new Closeable();
        registry.accept(live, 0x1000);
        Object dropped = new Closeable();
        registry.accept(dropped, 0x2000);
        Object cleaned = new Cleaned();
        registry.accept(cleaned, 0x3000 + 2);
        WeakReference<Object> canary = new WeakReference<>(dropped);
        WeakReference<Object> cleanedCanary = new WeakReference<>(cleaned);
        dropped = null;
        cleaned = null;
        collect(canary);
        collect(cleanedCanary);
        String closeable = Closeable.class.getName();
        assertEquals(List.of(new OwnerCount(Cleaned.class.getName(), 0, 0, 1), new OwnerCount(closeable, 1, 1, 0)),
                pass(registry, 0x1000, 0x2000, 0x3002, 0x4000));
        assertEquals(List.of(new OwnerCount(closeable, 1, 0, 0)), pass(registry, 0x1000),
                "the other blocks were not outstanding: their owners are forgotten");
        assertEquals(List.of(), pass(registry, 0x2000, 0x3002), "and are not counted when the addresses come back");
        assertEquals(0, registry.size(), "the live owner's block was not outstanding in the last pass either");
        assertTrue(live.hashCode() != 0); // kept reachable until here
    }

    @Test
    void ownersOfUntrackedBlocksAreNotKept() {
        OwnerRegistry registry = registry(100);
        registry.accept(new Closeable(), 0x1001); // odd: not tracked in this test
        registry.accept(new Closeable(), 0);
        assertTrue(registry.isEmpty());
        assertEquals(List.of(), pass(registry, 0x1001));
    }

    @Test
    void aNewerBlockAtTheOwnersAddressIsNotItsBlock() {
        OwnerRegistry registry = registry(100);
        Closeable owner = new Closeable();
        registry.accept(owner, 0x1000); // registered at 1000
        OwnerRegistry.Pass pass = registry.beginPass();
        assertNull(pass.count(0x1000, 1_001, null), "allocated after the owner was made: freed and reused");
        pass.finish();
        assertTrue(registry.isEmpty());
        assertTrue(owner.hashCode() != 0);
    }

    @Test
    void ownersOfYoungBlocksAndOwnersMadeDuringAPassAreKept() {
        OwnerRegistry registry = registry(100);
        Closeable young = new Closeable();
        registry.accept(young, 0x1000);
        clock.set(2_000);
        OwnerRegistry.Pass pass = registry.beginPass();
        pass.keep(0x1000); // younger than 'older': left out of the report
        Closeable during = new Closeable();
        clock.set(2_500);
        registry.accept(during, 0x2000);
        pass.finish();
        assertEquals(2, registry.size());
        assertEquals(List.of(new OwnerCount(Closeable.class.getName(), 2, 0, 0)), pass(registry, 0x1000, 0x2000));
        assertTrue(young.hashCode() + during.hashCode() != 1);
    }

    @Test
    void betweenReportsTheOwnersOfFreedBlocksAreForgotten() {
        java.util.Set<Long> trackedNow = new java.util.HashSet<>(List.of(0x1000L, 0x2000L));
        OwnerRegistry registry = new OwnerRegistry(100, trackedNow::contains, clock::get, type -> false);
        Closeable[] owners = {new Closeable(), new Closeable()};
        registry.accept(owners[0], 0x1000);
        registry.accept(owners[1], 0x2000);
        trackedNow.remove(0x1000L); // freed
        registry.forgetFreed();
        assertEquals(1, registry.size());
        assertEquals(List.of(new OwnerCount(Closeable.class.getName(), 1, 0, 0)), pass(registry, 0x1000, 0x2000));
    }

    @Test
    void aFullRegistryCountsWhatItLoses() {
        OwnerRegistry registry = registry(2);
        Closeable[] owners = {new Closeable(), new Closeable(), new Closeable()};
        registry.accept(owners[0], 0x1000);
        registry.accept(owners[1], 0x2000);
        registry.accept(owners[2], 0x3000);
        registry.accept(owners[0], 0x1000); // the same address again replaces, loses nothing
        assertEquals(2, registry.size());
        assertEquals(1, registry.dropped());
    }

    @Test
    void theTextSaysWhichBugEachCountIs() {
        assertEquals("3 live Deflater (retained by live objects); 2 unreachable WriteBatch (leaked by unreachable "
                        + "objects); 1 unreachable DirectByteBuffer awaiting Cleaner",
                OwnerCount.text(List.of(new OwnerCount("java.util.zip.Deflater", 3, 0, 0),
                        new OwnerCount("org.rocksdb.WriteBatch", 0, 2, 0),
                        new OwnerCount("java.nio.DirectByteBuffer", 0, 0, 1))));
        assertEquals("", OwnerCount.text(List.of()), "no owner known: nothing said");
    }

    @Test
    void tallyOfTwoStacksShownAsOneAddsUp() {
        OwnerTally a = new OwnerTally();
        a.add("A", OwnerRegistry.State.LIVE);
        OwnerTally b = new OwnerTally();
        b.add("A", OwnerRegistry.State.UNREACHABLE);
        b.add("B", OwnerRegistry.State.AWAITING_CLEANER);
        assertEquals(List.of(new OwnerCount("A", 1, 1, 0), new OwnerCount("B", 0, 0, 1)),
                a.absorb(b).absorb(null).counts());
    }
}
