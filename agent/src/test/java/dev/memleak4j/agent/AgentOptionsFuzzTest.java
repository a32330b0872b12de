package dev.memleak4j.agent;

import dev.memleak4j.agent.AgentOptions.OptionException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Option strings of any kind: each one parses or throws {@link OptionException} with a one-line printable message;
 * nothing else is thrown and nothing hangs. Seeded, so a failure is reproducible from the printed input.
 */
class AgentOptionsFuzzTest {
    private static final String[] KEYS = AgentOptions.names().toArray(new String[0]);
    private static final String[] VALUES = {"", "0", "1", "-1", "5", "10k", "2m", "1g", "4g", "-0", "+7", "0x10",
            "9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999999999",
            "1e3", "1.5", " 3 ", "true", "false", "on", "maybe", "k", "m", "8589934592g", "17179869184k", "/",
            "/does/not/exist", "a=b", "=", "\u0000", "\u00e9\u4e2d", "\ud800", "\t", "classic", "auto", "je_"};

    @Test
    void randomOptionStringsParseOrGiveOneClearLine() {
        SplittableRandom random = new SplittableRandom(20_240_611L);
        List<String> inputs = new ArrayList<>();
        for (int i = 0; i < 30_000; i++) {
            inputs.add(switch (i % 5) {
                case 0 -> randomBytes(random);
                case 1 -> randomChars(random);
                case 2 -> knownKeysRandomValues(random);
                case 3 -> mutated(knownKeysRandomValues(random), random);
                default -> numbers(random);
            });
        }
        inputs.add("x".repeat(1 << 20));
        inputs.add("interval=" + "9".repeat(100_000));
        inputs.add(",".repeat(100_000));
        inputs.add("top=1,".repeat(10_000));
        inputs.add("obj=" + "/a".repeat(50_000));
        int[] outcomes = new int[2];
        String[] current = new String[1];
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (String input : inputs) {
                current[0] = input;
                long started = System.nanoTime();
                outcomes[parseOrReject(input) ? 0 : 1]++;
                long millis = (System.nanoTime() - started) / 1_000_000;
                assertTrue(millis < 2_000, () -> millis + " ms for " + describe(input));
            }
        }, () -> "hangs on " + describe(current[0]));
        int parsed = outcomes[0];
        int rejected = outcomes[1];
        // Both outcomes occur: the generator reaches valid and invalid strings alike.
        assertTrue(parsed > 1_000, "parsed " + parsed);
        assertTrue(rejected > 1_000, "rejected " + rejected);
    }

    @Test
    void duplicateAndUnknownKeysAreRejectedWhateverTheirSpelling() {
        for (String key : KEYS) {
            String line = message(() -> AgentOptions.parse(key + "=1," + key.toUpperCase() + "=2"));
            assertTrue(line.contains("'" + key + "' is given twice"), line);
        }
        String line = message(() -> AgentOptions.parse("interval=1,\u0000\u0001bogus\u00ff=3"));
        assertTrue(line.startsWith("unknown option '"), line);
    }

    /** True when it parsed; false when rejected properly; fails the test otherwise. */
    private static boolean parseOrReject(String input) {
        try {
            AgentOptions options = AgentOptions.parse(input);
            options.warnings();
            return true;
        } catch (OptionException e) {
            String message = e.getMessage();
            assertFalse(message == null || message.isBlank(), () -> "empty message for " + describe(input));
            assertTrue(message.length() < 800, () -> "message of " + message.length() + " chars for "
                    + describe(input));
            for (char c : message.toCharArray()) {
                if (c < 0x20 || c >= 0x7f) {
                    fail("unprintable char " + (int) c + " in message '" + message + "' for " + describe(input));
                }
            }
            return false;
        } catch (Throwable e) {
            fail("parse threw " + e + " for " + describe(input), e);
            return false;
        }
    }

    private static String message(Runnable parse) {
        try {
            parse.run();
        } catch (OptionException e) {
            return e.getMessage();
        }
        fail("was accepted");
        return "";
    }

    private static String randomBytes(SplittableRandom random) {
        byte[] bytes = new byte[random.nextInt(64)];
        random.nextBytes(bytes);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    private static String randomChars(SplittableRandom random) {
        StringBuilder out = new StringBuilder();
        int length = random.nextInt(80);
        String alphabet = "=,=, -_kmgtrue0123456789abcdefghijklmnopqrstuvwxyz/.";
        for (int i = 0; i < length; i++) {
            out.append(random.nextInt(8) == 0 ? (char) random.nextInt(0x10000)
                    : alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return out.toString();
    }

    private static String knownKeysRandomValues(SplittableRandom random) {
        List<String> items = new ArrayList<>();
        int count = random.nextInt(6);
        for (int i = 0; i < count; i++) {
            String key = KEYS[random.nextInt(KEYS.length)];
            if (key.equals("help") || key.equals("output")) {
                key = "top";
            }
            items.add(random.nextInt(6) == 0 ? key : key + "=" + VALUES[random.nextInt(VALUES.length)]);
        }
        return String.join(",", items);
    }

    private static String mutated(String input, SplittableRandom random) {
        StringBuilder out = new StringBuilder(input);
        int edits = 1 + random.nextInt(3);
        for (int i = 0; i < edits; i++) {
            int at = out.length() == 0 ? 0 : random.nextInt(out.length());
            switch (random.nextInt(3)) {
                case 0 -> out.insert(at, ",=-".charAt(random.nextInt(3)));
                case 1 -> {
                    if (out.length() > 0) {
                        out.deleteCharAt(at);
                    }
                }
                default -> out.insert(at, (char) random.nextInt(0x10000));
            }
        }
        return out.toString();
    }

    private static String numbers(SplittableRandom random) {
        String key = KEYS[random.nextInt(KEYS.length)];
        long value = switch (random.nextInt(4)) {
            case 0 -> random.nextLong();
            case 1 -> -random.nextInt(1000);
            case 2 -> Long.MAX_VALUE - random.nextInt(3);
            default -> random.nextInt(1 << 30);
        };
        String suffix = random.nextInt(4) == 0 ? "kmgKMG".charAt(random.nextInt(6)) + "" : "";
        return key + "=" + value + suffix;
    }

    private static String describe(String input) {
        StringBuilder out = new StringBuilder("input of " + input.length() + " chars: \"");
        for (int i = 0; i < Math.min(input.length(), 200); i++) {
            char c = input.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        }
        return out.append('"').toString();
    }
}
