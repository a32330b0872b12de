package dev.memleak4j.bench;

import java.util.List;
import java.util.Locale;

/**
 * How the bench writes numbers (Locale.ROOT, thousands grouped) and sums up a figure's rounds (median, min–max): the
 * tables, the progress lines and the machine lines share them.
 */
final class Numbers {
    private Numbers() {}

    static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    static String spread(List<Double> values, int decimals) {
        if (values.isEmpty()) {
            return "failed";
        }
        double min = values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
        double max = values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        return format(median(values), decimals) + " [" + format(min, decimals) + "–" + format(max, decimals) + "]";
    }

    static String format(double value, int decimals) {
        return String.format(Locale.ROOT, "%,." + decimals + "f", value);
    }

    static String formatRate(double perSecond) {
        if (perSecond >= 1e6) {
            return format(perSecond / 1e6, 2) + " M";
        }
        if (perSecond >= 1e3) {
            return format(perSecond / 1e3, 1) + " k";
        }
        return format(perSecond, 1);
    }

    static String mib(long bytes) {
        return format(bytes / 1048576.0, 1);
    }

    static String seconds(long millis) {
        return millis % 1000 == 0 ? String.valueOf(millis / 1000) : format(millis / 1000.0, 1);
    }
}
