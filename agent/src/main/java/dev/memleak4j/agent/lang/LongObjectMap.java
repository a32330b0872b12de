package dev.memleak4j.agent.lang;

import java.util.ArrayList;
import java.util.List;

/**
 * A hash map from {@code long} to non-null values, open addressing with linear probing, for the report's loop over
 * every outstanding allocation, and the caches that name a stack's values.
 *
 * <p>Why not {@code HashMap<Long, V>}: that loop runs once per allocation (a million and more), and a boxed key is an
 * object per lookup. The agent's own code is compiled by C1 only ({@code OwnCodeCompilation}), which does not
 * eliminate those allocations the way C2 can. With a million outstanding allocations, most of a report's CPU went to
 * that loop (boxed keys, a capturing lambda and a method reference made per allocation, a record's method-handle
 * hashCode); the figures are in docs/benchmarks.md ("Figures behind design choices").
 */
public final class LongObjectMap<V> {
    private static final int MIN_CAPACITY = 16;
    private long[] keys;
    private Object[] values;
    private int size;

    public LongObjectMap() {
        keys = new long[MIN_CAPACITY];
        values = new Object[MIN_CAPACITY];
    }

    public int size() {
        return size;
    }

    /** The value of {@code key}, or null. */
    @SuppressWarnings("unchecked")
    public V get(long key) {
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            Object value = values[i];
            if (value == null) {
                return null;
            }
            if (keys[i] == key) {
                return (V) value;
            }
        }
    }

    /** Sets the value of {@code key} (not null); returns the one it replaced, or null. */
    @SuppressWarnings("unchecked")
    public V put(long key, V value) {
        if (value == null) {
            throw new NullPointerException("null value for key " + key);
        }
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            Object old = values[i];
            if (old == null) {
                keys[i] = key;
                values[i] = value;
                if (++size > keys.length / 2) {
                    grow();
                }
                return null;
            }
            if (keys[i] == key) {
                values[i] = value;
                return (V) old;
            }
        }
    }

    /** The values, in no particular order. */
    @SuppressWarnings("unchecked")
    public List<V> values() {
        List<V> list = new ArrayList<>(size);
        for (Object value : values) {
            if (value != null) {
                list.add((V) value);
            }
        }
        return list;
    }

    /** Removes every entry (and gives back the room it had grown to). */
    public void clear() {
        keys = new long[MIN_CAPACITY];
        values = new Object[MIN_CAPACITY];
        size = 0;
    }

    private void grow() {
        long[] oldKeys = keys;
        Object[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new Object[oldValues.length * 2];
        int mask = keys.length - 1;
        for (int j = 0; j < oldKeys.length; j++) {
            if (oldValues[j] != null) {
                int i = slot(oldKeys[j], mask);
                while (values[i] != null) {
                    i = (i + 1) & mask;
                }
                keys[i] = oldKeys[j];
                values[i] = oldValues[j];
            }
        }
    }

    /** Spreads the key's bits (stack ids are hashes, but tests and id 0 are not). */
    static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    @Override
    public String toString() {
        return "LongObjectMap" + values();
    }
}
