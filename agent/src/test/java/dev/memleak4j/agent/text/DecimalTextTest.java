package dev.memleak4j.agent.text;

import org.junit.jupiter.api.Test;

import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DecimalTextTest {

    @Test
    void printsWhatStringFormatPrintsForTheValuesTheAgentShows() {
        double[] values = {0, 0.04, 0.05, 0.95, 1, 1.25, 3.14159, 12.34, 99.96, 1234.5, 5_168.4, 1e9 / 3,
                -1.25, -12.34};
        for (double value : values) {
            for (int decimals = 0; decimals <= 2; decimals++) {
                assertEquals(String.format(Locale.ROOT, "%." + decimals + "f", value), DecimalText.of(value, decimals),
                        value + " with " + decimals + " decimals");
            }
            assertEquals(String.format(Locale.ROOT, "%+.1f", value), DecimalText.signed(value, 1), "signed " + value);
        }
    }

    @Test
    void aNegativeValueThatRoundsToZeroHasNoMinus() {
        assertEquals("0.0", DecimalText.of(-0.04, 1));
        assertEquals("+0.0", DecimalText.signed(-0.04, 1));
    }

    @Test
    void padsTheFractionAndRejectsDecimalsItCannotPrint() {
        assertEquals("7.05", DecimalText.of(7.05, 2));
        assertEquals("2.007", DecimalText.of(2.007, 3));
        assertEquals("NaN", DecimalText.of(Double.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> DecimalText.of(1, 4));
    }
}
