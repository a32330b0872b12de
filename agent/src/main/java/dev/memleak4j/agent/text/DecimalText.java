package dev.memleak4j.agent.text;

/**
 * A number with a fixed count of decimals, as the start line and the memory verdict print it ({@code 12.3}).
 * Written out rather than with {@code String.format}: the first use of {@code java.util.Formatter} loads its parser,
 * the locale providers and the floating-point printers into the application's JVM (dozens of classes, and tens of
 * milliseconds interpreted on the agent's start), for a handful of numbers.
 */
public final class DecimalText {
    private static final long[] POWERS = {1, 10, 100, 1_000};

    private DecimalText() {}

    /** {@code value} rounded half up to {@code decimals} (0 to 3) digits after the point. */
    public static String of(double value, int decimals) {
        return text(value, decimals, false);
    }

    /** As {@link #of}, with a sign always: {@code +1.5}, {@code -0.2}, {@code +0.0}. */
    public static String signed(double value, int decimals) {
        return text(value, decimals, true);
    }

    private static String text(double value, int decimals, boolean plus) {
        if (decimals < 0 || decimals >= POWERS.length) {
            throw new IllegalArgumentException("decimals: " + decimals);
        }
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            return Double.toString(value);
        }
        long scaled = Math.round(Math.abs(value) * POWERS[decimals]);
        boolean negative = value < 0 && scaled != 0;
        StringBuilder out = new StringBuilder(24);
        if (negative) {
            out.append('-');
        } else if (plus) {
            out.append('+');
        }
        out.append(scaled / POWERS[decimals]);
        if (decimals > 0) {
            String fraction = Long.toString(scaled % POWERS[decimals]);
            out.append('.');
            for (int i = fraction.length(); i < decimals; i++) {
                out.append('0');
            }
            out.append(fraction);
        }
        return out.toString();
    }
}
