package dev.memleak4j.bench;

import java.math.BigInteger;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The targets of the in-process hooks (docs/benchmarks.md, "Targets"), judged from the rounds of one run of the bench.
 *
 * <p>Rounds of one configuration scatter by several percent on the machines the bench runs on, as much as some
 * targets leave to spare, so the median of one run can fall on either side of a target from run to run. A verdict
 * therefore looks at the interval that holds the true median with at least {@link #CONFIDENCE} confidence, taken from
 * the rounds' own order (the distribution-free interval of a median: [the k-th smallest, the k-th largest], whose
 * coverage follows from the binomial distribution with p = 1/2): the target is met when the whole interval is on its
 * side, not met when the whole interval is on the other, and undecided when the interval spans it (more rounds narrow
 * the interval). Five rounds give [min–max] at 94%; with fewer there is no verdict.
 */
final class Targets {
    /** The least coverage of the interval a verdict is given on. */
    static final double CONFIDENCE = 0.90;

    private Targets() {}

    /** One target: the row it judges, its text, its limit, and which side of the limit is good. */
    enum Target {
        JNI_PAIR("jni-malloc-free", "JNI malloc/free pair ≤ +60 ns", 60, false, " ns", 0),
        DIRECT_BUFFER("direct-buffer", "direct-buffer ≥ 0.90", 0.90, true, "", 3),
        GZIP("gzip", "gzip ≥ 0.99", 0.99, true, "", 3),
        MIX("mix", "mix ≥ 0.85", 0.85, true, "", 3),
        GC_HEAVY("gc-heavy", "gc-heavy ≥ 0.80", 0.80, true, "", 3),
        STARTUP("startup", "1-second program ≤ ×1.10 wall", 1.10, false, "", 3),
        JAVAC("javac", "javac ≤ ×1.10 wall", 1.10, false, "", 3),
        MILLION("million", "1,000,000 outstanding allocations (sample-bytes=0) ≤ 150 MiB", 150, false, " MiB", 1);

        /** The workload's id, or the row's name (startup, javac, million). */
        final String row;
        final String text;
        final double limit;
        final boolean higherIsBetter;
        final String unit;
        final int decimals;

        Target(String row, String text, double limit, boolean higherIsBetter, String unit, int decimals) {
            this.row = row;
            this.text = text;
            this.limit = limit;
            this.higherIsBetter = higherIsBetter;
            this.unit = unit;
            this.decimals = decimals;
        }

        static Target forRow(String row) {
            for (Target target : values()) {
                if (target.row.equals(row)) {
                    return target;
                }
            }
            return null;
        }

        boolean holds(double value) {
            return higherIsBetter ? value >= limit : value <= limit;
        }
    }

    /** [low, high] holds the true median with probability {@code coverage} (0 where there are no values). */
    record Interval(double low, double high, double coverage) {}

    /**
     * The narrowest interval of order statistics [x(k), x(n+1-k)] of {@code values} whose coverage of the median is
     * at least {@link #CONFIDENCE}; [min, max] with its lesser coverage where even that one falls short.
     */
    static Interval ofMedian(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = sorted.length;
        if (n == 0) {
            return new Interval(Double.NaN, Double.NaN, 0);
        }
        int k = 1;
        while (k + 1 <= (n + 1) / 2 && coverage(n, k + 1) >= CONFIDENCE) {
            k++;
        }
        return new Interval(sorted[k - 1], sorted[n - k], coverage(n, k));
    }

    /** P(x(k) ≤ median ≤ x(n+1-k)) = 1 - 2 P(Binomial(n, 1/2) ≤ k - 1), for any continuous distribution. */
    static double coverage(int n, int k) {
        BigInteger below = BigInteger.ZERO;
        BigInteger choose = BigInteger.ONE; // C(n, 0)
        for (int i = 0; i < k; i++) {
            below = below.add(choose);
            choose = choose.multiply(BigInteger.valueOf(n - i)).divide(BigInteger.valueOf(i + 1));
        }
        double tail = below.doubleValue() / BigInteger.TWO.pow(n).doubleValue();
        return Math.max(0, 1 - 2 * tail);
    }

    /**
     * The verdict on {@code values}, one per round: "met", "not met", or why there is none. A target with one value
     * by design (the million row's memory, which does not scatter as times do) is judged on that value.
     */
    static String verdict(Target target, List<Double> values) {
        if (values.isEmpty()) {
            return "no values (the row failed)";
        }
        if (values.size() == 1 && target == Target.MILLION) {
            return target.holds(values.get(0)) ? "met (one run)" : "not met (one run)";
        }
        Interval interval = ofMedian(values);
        if (interval.coverage() < CONFIDENCE) {
            return "no verdict: a " + percent(CONFIDENCE) + " interval of the median needs 5 rounds at least, this row "
                    + "has " + values.size();
        }
        if (target.holds(interval.low()) && target.holds(interval.high())) {
            return "met";
        }
        if (!target.holds(interval.low()) && !target.holds(interval.high())) {
            return "not met";
        }
        return "undecided: the interval spans the target (more rounds narrow it)";
    }

    /**
     * The targets' table, in the order of {@link Target}, for the targets that have values; {@code agentOptions}: the
     * options of the column judged.
     */
    static String table(Map<Target, List<Double>> samples, String agentOptions) {
        StringBuilder table = new StringBuilder();
        table.append("Targets, judged on memleak4j `").append(agentOptions).append("` (a ratio to no tool, or a "
                + "figure, per round; their median; the interval that holds the true median with the confidence "
                + "given, from the rounds' order):\n\n");
        table.append("| target | rounds | median | interval of the median | verdict |\n");
        table.append("|---|---:|---:|---|---|\n");
        for (Target target : Target.values()) {
            List<Double> values = samples.get(target);
            if (values == null) {
                continue;
            }
            Interval interval = ofMedian(values);
            table.append("| ").append(target.text).append(" | ").append(values.size()).append(" | ")
                    .append(values.isEmpty() ? "" : format(target, Numbers.median(values))).append(" | ")
                    .append(values.size() < 2 ? "" : "[" + format(target, interval.low()) + "–"
                            + format(target, interval.high()) + "] (" + percent(interval.coverage()) + ")")
                    .append(" | ").append(verdict(target, values)).append(" |\n");
        }
        return table.toString();
    }

    private static String format(Target target, double value) {
        String number = String.format(Locale.ROOT, "%,." + target.decimals + "f", value);
        if (target == Target.STARTUP || target == Target.JAVAC) {
            return "×" + number;
        }
        if (target == Target.JNI_PAIR) {
            return (value >= 0 ? "+" : "") + number + target.unit;
        }
        return number + target.unit;
    }

    private static String percent(double fraction) {
        return String.format(Locale.ROOT, "%.0f%%", 100 * fraction);
    }
}
