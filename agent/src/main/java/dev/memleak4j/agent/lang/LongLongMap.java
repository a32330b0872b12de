package dev.memleak4j.agent.lang;

/**
 * A hash map from {@code long} to {@code long}, open addressing with linear probing: for the tables the agent keeps
 * from report to report (a stack id to the id the report uses). Two arrays, however many entries: a
 * {@code HashMap<Long, Long>} keeps three objects per entry, which every full GC of the application marks and moves.
 * Which slots are taken is kept apart from the keys, so that every key, 0 included, can be stored.
 */
public final class LongLongMap {
    private static final int MIN_CAPACITY = 16;
    private long[] keys;
    private long[] values;
    /** One bit per slot: taken. */
    private long[] used;
    private int size;

    public LongLongMap() {
        clear();
    }

    public int size() {
        return size;
    }

    /** The value of {@code key}, or {@code absent} when there is none. */
    public long get(long key, long absent) {
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            if (!taken(i)) {
                return absent;
            }
            if (keys[i] == key) {
                return values[i];
            }
        }
    }

    public boolean containsKey(long key) {
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            if (!taken(i)) {
                return false;
            }
            if (keys[i] == key) {
                return true;
            }
        }
    }

    /** Sets the value of {@code key}. */
    public void put(long key, long value) {
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            if (!taken(i)) {
                keys[i] = key;
                values[i] = value;
                used[i >>> 6] |= 1L << i;
                if (++size > keys.length / 2) {
                    grow();
                }
                return;
            }
            if (keys[i] == key) {
                values[i] = value;
                return;
            }
        }
    }

    /** The keys, in no particular order. */
    public long[] keys() {
        long[] taken = new long[size];
        int n = 0;
        for (int i = 0; i < keys.length; i++) {
            if (taken(i)) {
                taken[n++] = keys[i];
            }
        }
        return taken;
    }

    /** Removes every entry (and gives back the room it had grown to). */
    public void clear() {
        keys = new long[MIN_CAPACITY];
        values = new long[MIN_CAPACITY];
        used = new long[(MIN_CAPACITY + 63) >>> 6];
        size = 0;
    }

    private boolean taken(int i) {
        return (used[i >>> 6] & (1L << i)) != 0;
    }

    private void grow() {
        long[] oldKeys = keys;
        long[] oldValues = values;
        long[] oldUsed = used;
        keys = new long[oldKeys.length * 2];
        values = new long[oldValues.length * 2];
        used = new long[(keys.length + 63) >>> 6];
        int mask = keys.length - 1;
        for (int j = 0; j < oldKeys.length; j++) {
            if ((oldUsed[j >>> 6] & (1L << j)) != 0) {
                int i = slot(oldKeys[j], mask);
                while (taken(i)) {
                    i = (i + 1) & mask;
                }
                keys[i] = oldKeys[j];
                values[i] = oldValues[j];
                used[i >>> 6] |= 1L << i;
            }
        }
    }

    private static int slot(long key, int mask) {
        return LongObjectMap.slot(key, mask);
    }
}
