package dev.memleak4j.agent.sampling;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Keeps the allocations the kernel side tracks under a rate ({@code max-tracked}, per second) by raising the
 * byte-sampling interval above the one asked for ({@code sample-bytes}) while the application allocates faster than
 * that, and lowering it again when it calms down.
 *
 * <p>Why: a tracked allocation costs several times an untracked one (return probe, stack walk, map updates, and the
 * same again when it is freed, where an untracked one costs only its trap; docs/benchmarks.md, "Where the time
 * goes"); an application making 200,000 allocations of a few KB a second would spend most of a CPU on tracking at a
 * fixed 8 KiB interval. JFR throttles its allocation samples to a
 * rate for the same reason. The estimates stay unbiased: every tracked allocation keeps the weight of the interval it
 * was chosen under (the kernel side records the setting with it), so a report mixes weights correctly.
 *
 * <p>The interval only takes values {@code sampleBytes * 2^k} (at most {@link #MAX_SAMPLE_BYTES}), so the kernel's
 * table of settings stays small. It is checked once a second: raised at once by the power of two that brings the
 * last second's rate under the budget, lowered one step at a time when the rate is under a quarter of the budget
 * (after a step down the rate at most doubles, so it stays under half of it: no see-sawing). Not thread-safe: one
 * thread (the reporter) calls {@link #check}, another (JMX) may {@link #reset} it meanwhile: synchronized.
 */
public final class TrackingBudget {
    /** The largest interval it raises to (the kernel side keeps intervals in 31 bits). */
    public static final long MAX_SAMPLE_BYTES = 1L << 30;
    static final long CHECK_PERIOD_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final long maxTrackedPerSecond;
    private long requested;
    private long current;
    private long periodStartNanos;
    private long periodStartTracked = -1;
    private double lastRate;

    /** @param maxTrackedPerSecond the budget; 0 turns it off (the interval stays as asked) */
    public TrackingBudget(long maxTrackedPerSecond) {
        this.maxTrackedPerSecond = maxTrackedPerSecond;
    }

    /** The interval for {@code sampleBytes} asked for now (at start, or changed through JMX): starts over from it. */
    public synchronized long reset(long sampleBytes) {
        requested = sampleBytes;
        current = sampleBytes;
        periodStartTracked = -1;
        return current;
    }

    /**
     * Called often (every few hundred ms); once a period has passed, reads the kernel's count of allocations chosen
     * for tracking since start and decides the interval for the next period. Returns the new interval, or 0 when it
     * stays.
     */
    public synchronized long check(long nowNanos, LongSupplier trackedCounter) {
        if (maxTrackedPerSecond <= 0 || requested <= 0) {
            return 0;
        }
        if (periodStartTracked >= 0 && nowNanos - periodStartNanos < CHECK_PERIOD_NANOS) {
            return 0;
        }
        long trackedSoFar = trackedCounter.getAsLong();
        if (periodStartTracked < 0 || trackedSoFar < periodStartTracked) {
            periodStartNanos = nowNanos;
            periodStartTracked = trackedSoFar;
            return 0;
        }
        long elapsed = nowNanos - periodStartNanos;
        lastRate = (trackedSoFar - periodStartTracked) * 1e9 / elapsed;
        periodStartNanos = nowNanos;
        periodStartTracked = trackedSoFar;
        long next = nextSampleBytes(requested, current, lastRate, maxTrackedPerSecond);
        if (next == current) {
            return 0;
        }
        current = next;
        return next;
    }

    /** The interval in force: {@code sampleBytes} as asked, or raised. */
    public synchronized long current() {
        return current;
    }

    /** Tracked allocations per second measured over the last period (0 before the first). */
    public synchronized double lastRate() {
        return lastRate;
    }

    public long maxTrackedPerSecond() {
        return maxTrackedPerSecond;
    }

    /**
     * The interval after a period in which {@code trackedPerSecond} allocations were tracked at {@code current}:
     * raised by the smallest power of two that brings the rate under {@code budget}, lowered by one step when the
     * rate is under a quarter of it, never below {@code requested} nor above {@link #MAX_SAMPLE_BYTES}.
     */
    static long nextSampleBytes(long requested, long current, double trackedPerSecond, long budget) {
        long next = Math.max(current, requested);
        if (trackedPerSecond > budget) {
            double needed = next * (trackedPerSecond / budget);
            while (next < MAX_SAMPLE_BYTES && next < needed) {
                next <<= 1;
            }
            return Math.max(Math.min(next, MAX_SAMPLE_BYTES), current);
        }
        if (trackedPerSecond * 4 < budget && next > requested) {
            return Math.max(requested, next >> 1);
        }
        return next;
    }
}
