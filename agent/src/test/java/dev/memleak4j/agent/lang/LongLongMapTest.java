package dev.memleak4j.agent.lang;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LongLongMapTest {

    /** Random keys and values (and the ones stack ids really are: 0, negative, colliding low bits) against a HashMap. */
    @Test
    void agreesWithHashMapThroughGrowth() {
        SplittableRandom random = new SplittableRandom(7);
        LongLongMap map = new LongLongMap();
        Map<Long, Long> expected = new HashMap<>();
        List<Long> keys = new ArrayList<>(List.of(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 32, 2L << 32, 0L));
        for (int i = 0; i < 50_000; i++) {
            keys.add(random.nextInt(4) == 0 ? (long) random.nextInt(1000) << 40 : random.nextLong());
        }
        for (long key : keys) {
            long value = random.nextInt(8) == 0 ? 0 : random.nextLong();
            expected.put(key, value);
            map.put(key, value);
        }
        assertEquals(expected.size(), map.size());
        for (Map.Entry<Long, Long> entry : expected.entrySet()) {
            assertEquals(entry.getValue(), map.get(entry.getKey(), 12345), "get " + entry.getKey());
            assertTrue(map.containsKey(entry.getKey()));
        }
        for (int i = 0; i < 10_000; i++) {
            long absent = random.nextLong();
            if (!expected.containsKey(absent)) {
                assertEquals(-7, map.get(absent, -7), "absent " + absent);
                assertFalse(map.containsKey(absent));
            }
        }
    }

    @Test
    void zeroIsAKeyAndAValueLikeAnyOther() {
        LongLongMap map = new LongLongMap();
        assertFalse(map.containsKey(0));
        assertEquals(-1, map.get(0, -1));
        map.put(0, 0);
        assertTrue(map.containsKey(0));
        assertEquals(0, map.get(0, -1));
        map.put(0, 9);
        assertEquals(9, map.get(0, -1));
        assertEquals(1, map.size());
    }

    @Test
    void clearForgetsEveryKeyAndTheMapFillsAgain() {
        LongLongMap map = new LongLongMap();
        for (long key = 0; key < 1000; key++) {
            map.put(key << 12, key);
        }
        map.clear();
        assertEquals(0, map.size());
        assertFalse(map.containsKey(0));
        assertFalse(map.containsKey(999L << 12));
        map.put(5L << 12, 55);
        assertEquals(55, map.get(5L << 12, -1));
        assertEquals(1, map.size());
    }
}
