package dev.memleak4j.jfr;

import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.MetadataDefinition;
import jdk.jfr.Name;
import jdk.jfr.SettingControl;

import java.util.Locale;
import java.util.Set;

/**
 * The {@code minSize} setting of {@link AllocationEvent}: a size such as {@code 1 MB}, {@code 65536 bytes} or
 * {@code 64 kB} (JFR's own notation; suffixes k, m, g also work). Several recordings: the smallest wins.
 */
@MetadataDefinition
@Name("dev.memleak4j.jfr.MinSize")
@Label("Minimum Size")
@Description("Smallest allocation recorded")
@DataAmount
public final class MinSizeSetting extends SettingControl {
    static final String DEFAULT = "1 MB";
    private volatile String text = DEFAULT;
    private volatile long bytes = parse(DEFAULT);

    public MinSizeSetting() {}

    /** The threshold in force, in bytes. */
    public long bytes() {
        return bytes;
    }

    @Override
    public String combine(Set<String> values) {
        String smallest = null;
        long smallestBytes = Long.MAX_VALUE;
        for (String value : values) {
            long parsed = parse(value);
            if (parsed < smallestBytes) {
                smallestBytes = parsed;
                smallest = value;
            }
        }
        return smallest == null ? DEFAULT : smallest;
    }

    @Override
    public void setValue(String value) {
        bytes = parse(value);
        text = value;
    }

    @Override
    public String getValue() {
        return text;
    }

    /** Bytes in a size; a size that does not parse means the default, so a typo never floods a recording. */
    static long parse(String value) {
        if (value == null) {
            return parse(DEFAULT);
        }
        String s = value.trim().toLowerCase(Locale.ROOT).replace(" ", "");
        long unit = 1;
        String[][] suffixes = {{"bytes", "1"}, {"byte", "1"}, {"kb", "1024"}, {"mb", "1048576"},
                {"gb", "1073741824"}, {"k", "1024"}, {"m", "1048576"}, {"g", "1073741824"}, {"b", "1"}};
        for (String[] suffix : suffixes) {
            if (s.endsWith(suffix[0])) {
                unit = Long.parseLong(suffix[1]);
                s = s.substring(0, s.length() - suffix[0].length());
                break;
            }
        }
        try {
            long number = Long.parseLong(s);
            return number < 0 ? parse(DEFAULT) : Math.multiplyExact(number, unit);
        } catch (NumberFormatException | ArithmeticException e) {
            return value.equals(DEFAULT) ? 1 << 20 : parse(DEFAULT);
        }
    }
}
