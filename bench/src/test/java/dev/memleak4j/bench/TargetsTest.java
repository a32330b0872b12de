package dev.memleak4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class TargetsTest {
    @Test
    void theMediansIntervalIsTheNarrowestPairOfOrderStatisticsWithNinetyPercent() {
        // 5 rounds: only [min, max] reaches 90% (1 - 2/32 = 93.75%)
        Targets.Interval five = Targets.ofMedian(List.of(0.93, 0.86, 0.91, 0.88, 0.95));
        assertEquals(new Targets.Interval(0.86, 0.95, 1 - 2.0 / 32), five);
        // 9 rounds: [x(2), x(8)] at 1 - 2 * 10/512 = 96.1%; [x(3), x(7)] would be 82%
        Targets.Interval nine = Targets.ofMedian(List.of(9.0, 1.0, 8.0, 2.0, 7.0, 3.0, 6.0, 4.0, 5.0));
        assertEquals(2.0, nine.low());
        assertEquals(8.0, nine.high());
        assertEquals(1 - 2 * 10.0 / 512, nine.coverage(), 1e-12);
        // 15 rounds: [x(4), x(12)] at 96.5%; [x(5), x(11)] would be 88%
        Targets.Interval fifteen = Targets.ofMedian(List.of(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0,
                11.0, 12.0, 13.0, 14.0, 15.0));
        assertEquals(4.0, fifteen.low());
        assertEquals(12.0, fifteen.high());
        assertEquals(1 - 2 * 576.0 / 32768, fifteen.coverage(), 1e-12);
    }

    @Test
    void coverageFollowsTheBinomialTail() {
        assertEquals(0.0, Targets.coverage(1, 1));
        assertEquals(0.5, Targets.coverage(2, 1));
        assertEquals(0.875, Targets.coverage(4, 1));
        assertEquals(1 - 2 * 46.0 / 512, Targets.coverage(9, 3), 1e-12);
    }

    @Test
    void aTargetIsMetOnlyWhenTheWholeIntervalIsOnItsSide() {
        Targets.Target db = Targets.Target.DIRECT_BUFFER; // ≥ 0.90
        assertEquals("met", Targets.verdict(db, List.of(0.91, 0.93, 0.95, 0.92, 0.90)));
        assertEquals("not met", Targets.verdict(db, List.of(0.85, 0.88, 0.86, 0.89, 0.87)));
        assertTrue(Targets.verdict(db, List.of(0.85, 0.88, 0.92, 0.89, 0.95)).startsWith("undecided"));
        Targets.Target javac = Targets.Target.JAVAC; // ≤ ×1.10
        assertEquals("met", Targets.verdict(javac, List.of(1.05, 1.08, 1.10, 1.07, 1.06)));
        assertEquals("not met", Targets.verdict(javac, List.of(1.11, 1.15, 1.12, 1.13, 1.2)));
        assertTrue(Targets.verdict(javac, List.of(1.05, 1.08, 1.12, 1.07, 1.06)).startsWith("undecided"));
    }

    @Test
    void fewerThanFiveRoundsGiveNoVerdictButTheMillionRowIsOneRunByDesign() {
        assertTrue(Targets.verdict(Targets.Target.GZIP, List.of(1.0, 1.01, 1.02, 1.0)).startsWith("no verdict"));
        assertEquals("met (one run)", Targets.verdict(Targets.Target.MILLION, List.of(133.4)));
        assertEquals("not met (one run)", Targets.verdict(Targets.Target.MILLION, List.of(151.0)));
        assertEquals("no values (the row failed)", Targets.verdict(Targets.Target.MIX, List.of()));
    }

    @Test
    void theTableListsTheTargetsThatRanInTheirOrder() {
        Map<Targets.Target, List<Double>> samples = new EnumMap<>(Targets.Target.class);
        samples.put(Targets.Target.JAVAC, List.of(1.05, 1.08, 1.12, 1.07, 1.06));
        samples.put(Targets.Target.JNI_PAIR, List.of(3.0, 4.0, 2.0, 5.0, 3.0));
        String table = Targets.table(samples, "interval=5,probe-mode=hooks");
        String[] lines = table.split("\n");
        assertTrue(lines[0].contains("`interval=5,probe-mode=hooks`"), lines[0]);
        assertEquals("| JNI malloc/free pair ≤ +60 ns | 5 | +3 ns | [+2 ns–+5 ns] (94%) | met |", lines[4]);
        assertEquals("| javac ≤ ×1.10 wall | 5 | ×1.070 | [×1.050–×1.120] (94%) | undecided: the interval spans the "
                + "target (more rounds narrow it) |", lines[5]);
        assertEquals(6, lines.length);
    }

    @Test
    void theTargetsAreJudgedOnTheHooksColumnNotOnVariantsOrUprobes() {
        assertTrue(Column.memleak4j("memleak4j-hooks", "hooks", "interval=5,probe-mode=hooks").judged());
        assertFalse(Column.memleak4j("memleak4j", "uprobes", "interval=5,probe-mode=uprobes").judged());
        assertFalse(Column.memleak4j(Column.VARIANT_PREFIX + 1, "variant",
                "probe-mode=hooks,sample-bytes=1g").judged());
        assertFalse(Column.BASELINE.judged());
    }
}
