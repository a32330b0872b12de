package dev.memleak4j.agent.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.memleak4j.agent.jnimarks.JavaStack;
import dev.memleak4j.agent.jnimarks.TestJavaStacks;
import dev.memleak4j.agent.report.SnapshotCollector.Group;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The report's second pass: kernel stacks that are one stack in the report, and Java callers the walk has. */
class SnapshotCollectorMergeTest {

    private static Group group(long stackId, JavaStack java, long... sizes) {
        Group group = new Group(stackId, java);
        long age = 1_000;
        for (long size : sizes) {
            group.bytes += size;
            group.count++;
            group.estimatedBytes += 2 * size;
            group.estimatedCountMilli += 1_500;
            group.oldestAgeNanos = Math.max(group.oldestAgeNanos, age);
            group.list(new Allocation(0x1000 * stackId + size, size, age));
            age += 1_000;
        }
        return group;
    }

    private static List<Group> byId(List<Group> groups) {
        return groups.stream().sorted(Comparator.comparingLong((Group g) -> g.stackId)
                .thenComparing(g -> g.java == null ? "" : g.java.frames().get(0).name())).collect(Collectors.toList());
    }

    @Test
    void stacksThatDifferInAGarbageTailAreOneGroup() {
        Group eleven = group(11, null, 100, 300);
        Group twelve = group(12, null, 200);
        Group thirteen = group(13, null, 7);
        Map<Long, Long> canonical = Map.of(11L, 100L, 12L, 100L, 13L, 13L);
        List<Group> merged = byId(SnapshotCollector.merged(List.of(eleven, twelve, thirteen), canonical::get,
                id -> false));
        assertEquals(2, merged.size());
        assertSame(thirteen, merged.get(0), "a group nothing merges into stays as it was");
        Group hundred = merged.get(1);
        assertEquals(100, hundred.stackId);
        assertNull(hundred.java);
        assertEquals(600, hundred.bytes);
        assertEquals(3, hundred.count);
        assertEquals(1_200, hundred.estimatedBytes);
        assertEquals(5, hundred.estimatedCount()); // 3 x 1.5 = 4.5, summed in thousandths, rounded half up
        assertEquals(2_000, hundred.oldestAgeNanos);
        assertEquals(List.of(300L, 200L, 100L), hundred.listed().stream().map(Allocation::size).toList());
    }

    @Test
    void javaCallersAreDroppedWhereTheWalkReachedJava() {
        JavaStack callers = TestJavaStacks.of("app.Service.compress", "app.Main.main");
        Group marked = group(20, callers, 64);
        Group unmarked = group(20, null, 32, 16);
        Group markedElsewhere = group(21, callers, 8);
        List<Group> merged = byId(SnapshotCollector.merged(List.of(marked, unmarked, markedElsewhere), id -> id,
                id -> id == 20));
        assertEquals(2, merged.size());
        assertEquals(20, merged.get(0).stackId);
        assertNull(merged.get(0).java, "the walk of stack 20 has the Java frames itself");
        assertEquals(112, merged.get(0).bytes);
        assertEquals(3, merged.get(0).count);
        assertSame(markedElsewhere, merged.get(1));
        assertSame(callers, merged.get(1).java);
    }

    @Test
    void differentJavaCallersStayApartOnOneNativeStack() {
        JavaStack first = TestJavaStacks.of("app.A.first");
        JavaStack second = TestJavaStacks.of("app.B.second");
        List<Group> merged = byId(SnapshotCollector.merged(List.of(group(30, first, 10), group(31, second, 20),
                group(31, first, 40)), id -> 30, id -> false));
        assertEquals(2, merged.size());
        assertEquals(Set.of(30L), merged.stream().map(g -> g.stackId).collect(Collectors.toSet()));
        assertEquals(first, merged.get(0).java);
        assertEquals(50, merged.get(0).bytes);
        assertEquals(2, merged.get(0).count);
        assertEquals(second, merged.get(1).java);
        assertEquals(20, merged.get(1).bytes);
    }

    @Test
    void groupsWhoseFramesNameTheSameCodeAreOneUnderTheirFramesId() {
        JavaStack callers = TestJavaStacks.of("app.Service.compress", "app.Main.main");
        Group c2 = group(41, null, 100);
        Group c1 = group(40, null, 300, 5);
        Group other = group(42, null, 7);
        Group marked = group(40, callers, 11);
        Map<Long, Long> framesIds = Map.of(40L, 0x1001L, 41L, 0x1001L, 42L, 0x2001L);
        List<Group> merged = SnapshotCollector.byFrames(new java.util.ArrayList<>(List.of(c2, other, marked, c1)),
                g -> g.java == null ? framesIds.get(g.stackId) : 0x3001L);
        merged.sort(Comparator.comparingLong(Group::reportId));
        assertEquals(List.of(0x1001L, 0x2001L, 0x3001L), merged.stream().map(Group::reportId).toList());
        Group leak = merged.get(0);
        assertSame(c1, leak, "the member with the most bytes carries the group (and its frames)");
        assertEquals(405, leak.bytes);
        assertEquals(3, leak.count);
        assertEquals(810, leak.estimatedBytes);
        assertEquals(List.of(300L, 100L, 5L), leak.listed().stream().map(Allocation::size).toList());
        assertSame(other, merged.get(1));
        assertEquals(7, merged.get(1).bytes);
        assertSame(marked, merged.get(2));
        assertEquals(11, merged.get(2).bytes, "no bytes of one path on another");
    }
}
