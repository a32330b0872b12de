package dev.memleak4j.agent;

import dev.memleak4j.agent.bpf.BpfTracker;
import dev.memleak4j.agent.bpf.Stat;
import dev.memleak4j.agent.report.ReportSettings;
import dev.memleak4j.agent.sampling.TrackingBudget;
import dev.memleak4j.agent.text.DecimalText;

import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * What the kernel side samples, for one attach of the probes: the settings asked for (options, JMX) and the
 * max-tracked budget, which raises the byte-sampling interval while the application allocates fast. The interval in
 * force is kept here only (in the budget).
 */
final class SamplingTuning implements LongSupplier {
    private final BpfTracker tracker;
    private final TrackingBudget budget;
    private final Consumer<String> verbose;
    private ReportSettings settings;

    SamplingTuning(BpfTracker tracker, long maxTrackedPerSecond, ReportSettings settings, Consumer<String> verbose) {
        this.tracker = tracker;
        this.budget = new TrackingBudget(maxTrackedPerSecond);
        this.verbose = verbose;
        apply(settings);
    }

    /** New settings (at start, or from JMX): sampling and the size range reach the kernel side at once. */
    synchronized void apply(ReportSettings changed) {
        settings = changed;
        tracker.tune(changed.sampleRate(), budget.reset(changed.sampleBytes()), changed.minSize(), changed.maxSize(),
                true);
    }

    /**
     * The byte-sampling interval new allocations are chosen under: sample-bytes, or more while max-tracked holds the
     * tracked rate down; 0 when not sampling by bytes.
     */
    long sampleBytesNow() {
        return budget.current();
    }

    /**
     * max-tracked: raises or lowers the interval for new allocations when the rate of tracked ones says so. Runs on
     * the reporter thread between reports; never undoes a change {@link #apply} made meanwhile.
     */
    void keepWithinBudget() {
        long next = budget.check(System.nanoTime(), this);
        if (next == 0) {
            return;
        }
        synchronized (this) {
            if (budget.current() != next) {
                return;
            }
            tracker.tune(settings.sampleRate(), next, settings.minSize(), settings.maxSize(), true);
        }
        // Not String.format: this runs whenever max-tracked moves the interval, verbose or not.
        verbose.accept("sampling new allocations 1 per " + next + " bytes (" + DecimalText.of(budget.lastRate(), 0)
                + " tracked/s in the last second, max-tracked=" + budget.maxTrackedPerSecond() + ")");
    }

    /**
     * The kernel side's count of allocations sampled so far, which the budget reads when it checks (this object, not
     * a lambda: that would be a hidden class in the application's JVM for good).
     */
    @Override
    public long getAsLong() {
        return tracker.readStats()[Stat.ALLOC_SAMPLED.ordinal()];
    }
}
