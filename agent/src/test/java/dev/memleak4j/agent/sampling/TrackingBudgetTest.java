package dev.memleak4j.agent.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class TrackingBudgetTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final long K8 = 8192;

    @Test
    void raisesByThePowerOfTwoThatBringsTheRateUnderTheBudget() {
        assertEquals(16 * K8, TrackingBudget.nextSampleBytes(K8, K8, 84_229, 10_000), "8.4x over: x16");
        assertEquals(2 * K8, TrackingBudget.nextSampleBytes(K8, K8, 10_001, 10_000), "just over: x2");
        assertEquals(8 * K8, TrackingBudget.nextSampleBytes(K8, 4 * K8, 15_000, 10_000), "from a raised one: x2 more");
    }

    @Test
    void staysWhileTheRateIsBetweenAQuarterOfTheBudgetAndTheBudget() {
        assertEquals(16 * K8, TrackingBudget.nextSampleBytes(K8, 16 * K8, 10_000, 10_000));
        assertEquals(16 * K8, TrackingBudget.nextSampleBytes(K8, 16 * K8, 2_500, 10_000));
        assertEquals(K8, TrackingBudget.nextSampleBytes(K8, K8, 9_000, 10_000));
    }

    @Test
    void lowersOneStepAtATimeAndNeverBelowWhatWasAskedFor() {
        assertEquals(8 * K8, TrackingBudget.nextSampleBytes(K8, 16 * K8, 2_499, 10_000));
        assertEquals(K8, TrackingBudget.nextSampleBytes(K8, 2 * K8, 0, 10_000));
        assertEquals(K8, TrackingBudget.nextSampleBytes(K8, K8, 0, 10_000));
    }

    @Test
    void neverAboveTheLargestInterval() {
        assertEquals(TrackingBudget.MAX_SAMPLE_BYTES, TrackingBudget.nextSampleBytes(K8, K8, 1e12, 1));
        assertEquals(TrackingBudget.MAX_SAMPLE_BYTES,
                TrackingBudget.nextSampleBytes(K8, TrackingBudget.MAX_SAMPLE_BYTES, 1e12, 1));
        long huge = (1L << 31) - 1; // sample-bytes may be asked for above the largest raise
        assertEquals(huge, TrackingBudget.nextSampleBytes(huge, huge, 1e12, 1));
    }

    @Test
    void checksOncePerSecondFromTheKernelsCounter() {
        TrackingBudget budget = new TrackingBudget(10_000);
        assertEquals(K8, budget.reset(K8));
        long[] reads = {0};
        long[] counter = {1_000};
        java.util.function.LongSupplier kernel = () -> {
            reads[0]++;
            return counter[0];
        };
        assertEquals(0, budget.check(0, kernel), "the first call starts a period");
        counter[0] += 50_000;
        assertEquals(0, budget.check(SECOND / 2, kernel), "half a period: nothing decided");
        assertEquals(1, reads[0], "and the kernel's counter not read");
        assertEquals(8 * K8, budget.check(SECOND, kernel), "50,000 in a second, budget 10,000: x8");
        assertEquals(50_000, budget.lastRate(), 1e-6);
        assertEquals(8 * K8, budget.current());
        counter[0] += 6_000;
        assertEquals(0, budget.check(2 * SECOND, kernel), "6,000/s at the raised interval: stays");
        counter[0] += 1_000;
        assertEquals(4 * K8, budget.check(3 * SECOND, kernel), "1,000/s: one step down");
        assertEquals(K8, budget.reset(K8), "a new setting (JMX) starts over");
        assertEquals(K8, budget.current());
    }

    @Test
    void offWhenNoBudgetOrNotSamplingByBytes() {
        TrackingBudget none = new TrackingBudget(0);
        none.reset(K8);
        TrackingBudget exact = new TrackingBudget(10_000);
        exact.reset(0);
        for (long t = 0; t <= 3 * SECOND; t += SECOND) {
            long now = t;
            assertEquals(0, none.check(now, () -> now * 1_000));
            assertEquals(0, exact.check(now, () -> now * 1_000));
        }
        assertEquals(K8, none.current());
        assertEquals(0, exact.current());
    }

    @Test
    void aCounterThatWentBackStartsANewPeriod() {
        TrackingBudget budget = new TrackingBudget(10);
        budget.reset(K8);
        budget.check(0, () -> 1_000_000);
        assertEquals(0, budget.check(SECOND, () -> 5), "probes re-attached: counters start at 0 again");
        assertTrue(budget.check(2 * SECOND, () -> 1_000) > K8, "then measured from there");
    }
}
