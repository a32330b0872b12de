package dev.memleak4j.agent.lang;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LongObjectMapTest {

    /** Random keys (and the ones stack ids really are: 0, negative, colliding low bits) against a HashMap. */
    @Test
    void agreesWithHashMapThroughGrowth() {
        SplittableRandom random = new SplittableRandom(42);
        LongObjectMap<String> map = new LongObjectMap<>();
        Map<Long, String> expected = new HashMap<>();
        List<Long> keys = new ArrayList<>(List.of(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 32, 2L << 32));
        for (int i = 0; i < 50_000; i++) {
            keys.add(random.nextInt(4) == 0 ? (long) random.nextInt(1000) << 40 : random.nextLong());
        }
        for (long key : keys) {
            String value = "v" + key + "/" + expected.size();
            assertEquals(expected.put(key, value), map.put(key, value), "put " + key);
        }
        assertEquals(expected.size(), map.size());
        for (Map.Entry<Long, String> entry : expected.entrySet()) {
            assertEquals(entry.getValue(), map.get(entry.getKey()), "get " + entry.getKey());
        }
        for (int i = 0; i < 10_000; i++) {
            long absent = random.nextLong();
            if (!expected.containsKey(absent)) {
                assertNull(map.get(absent), "absent " + absent);
            }
        }
        List<String> values = map.values();
        values.sort(null);
        List<String> expectedValues = new ArrayList<>(expected.values());
        expectedValues.sort(null);
        assertEquals(expectedValues, values);
    }

    @Test
    void clearForgetsEveryKeyAndTheMapFillsAgain() {
        LongObjectMap<String> map = new LongObjectMap<>();
        for (long key = 0; key < 1000; key++) {
            map.put(key << 12, "v" + key);
        }
        map.clear();
        assertEquals(0, map.size());
        assertNull(map.get(0));
        assertNull(map.get(999L << 12));
        assertEquals(List.of(), map.values());
        map.put(5L << 12, "again");
        assertEquals("again", map.get(5L << 12));
        assertEquals(1, map.size());
    }

    @Test
    void replacingKeepsTheSizeAndReturnsTheOldValue() {
        LongObjectMap<Object> map = new LongObjectMap<>();
        Object first = new Object();
        Object second = new Object();
        assertNull(map.put(0, first));
        assertSame(first, map.put(0, second));
        assertSame(second, map.get(0));
        assertEquals(1, map.size());
        assertEquals(List.of(second), map.values());
    }

    @Test
    void nullValuesAreRefused() {
        assertThrows(NullPointerException.class, () -> new LongObjectMap<>().put(7, null));
    }
}
