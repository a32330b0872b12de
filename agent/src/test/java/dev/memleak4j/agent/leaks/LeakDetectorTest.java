package dev.memleak4j.agent.leaks;

import dev.memleak4j.agent.leaks.LeakDetector.StackTotals;
import dev.memleak4j.agent.leaks.LeakDetector.Suspect;
import dev.memleak4j.agent.leaks.LeakDetector.Verdicts;
import dev.memleak4j.agent.stacks.Frame;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LeakDetectorTest {
    private static final Instant START = Instant.parse("2026-12-04T12:00:00Z");
    private static final long SECOND = 1_000_000_000L;
    private static final long KIB = 1024;

    private final LeakDetector detector = new LeakDetector(60);

    /** One report every 5 s: {@code stacks} as they are at report {@code index}. */
    private Verdicts report(int index, StackTotals... stacks) {
        return detector.update(START.plusSeconds(5L * index), List.of(stacks));
    }

    /** A stack leaking 64 KiB per 5-s interval since report 0: nothing freed, the oldest block as old as the leak. */
    private static StackTotals leak(long id, int index, long bytesPerInterval) {
        return new StackTotals(id, bytesPerInterval * (index + 1), 16L * (index + 1), 5L * index * SECOND + SECOND);
    }

    @Test
    void aLeakIsTooNewForTwoReportsThenTheFirstSuspectWithItsRateAndStart() {
        assertEquals(1, report(0, leak(7, 0, 64 * KIB)).tooNew());
        assertEquals(1, report(1, leak(7, 1, 64 * KIB)).tooNew());
        Verdicts third = report(2, leak(7, 2, 64 * KIB));
        assertEquals(1, third.suspects().size(), third.toString());
        Suspect suspect = third.suspects().get(0);
        assertEquals(7, suspect.stackId());
        assertEquals(192 * KIB, suspect.bytes());
        assertEquals(48, suspect.count());
        assertEquals(64 * KIB * 12, suspect.bytesPerMinute(), 1e-6, "64 KiB per 5 s");
        assertEquals(START.minusSeconds(1), suspect.since(), "when its oldest block was made");
        assertEquals(LeakDetector.Confidence.LOW, suspect.confidence());
        assertEquals("grew in 2 of 2 intervals, none freed", suspect.evidence());
        Verdicts later = null;
        for (int i = 3; i <= 5; i++) {
            later = report(i, leak(7, i, 64 * KIB));
        }
        assertEquals(LeakDetector.Confidence.HIGH, later.suspects().get(0).confidence());
    }

    @Test
    void theJitsOwnGrowthIsHeldBackUntilItHasGrownOverAWholeWindow() {
        List<Frame> jit = List.of(new Frame(0x1000, Frame.Kind.NATIVE, "os::malloc(unsigned long)", "libjvm.so", 9),
                new Frame(0x2000, Frame.Kind.NATIVE, "nmethod::new_nmethod(methodHandle const&)", "libjvm.so", 4));
        List<Frame> jni = List.of(new Frame(0x3000, Frame.Kind.NATIVE, "Java_Leaky_leak", "libleaky.so", 12));
        Verdicts named = null;
        for (int i = 0; i < 3; i++) {
            named = detector.name(report(i, leak(1, i, KIB), leak(2, i, KIB)), id -> id == 1 ? jit : jni, false);
        }
        assertEquals(List.of(2L), named.suspects().stream().map(Suspect::stackId).toList());
        assertEquals(jni, named.suspects().get(0).frames());
        assertEquals(1, named.tooNew(), "the JIT's stack waits");
        for (int i = 3; i <= 13; i++) {
            named = detector.name(report(i, leak(1, i, KIB), leak(2, i, KIB)), id -> id == 1 ? jit : jni, true);
        }
        assertEquals(1, named.suspects().size(), "not while the JVM compiles or loads classes");
        named = detector.name(report(14, leak(1, 14, KIB), leak(2, 14, KIB)), id -> id == 1 ? jit : jni, false);
        assertEquals(2, named.suspects().size(), "after a whole window of growth, with the JIT idle, it is one");
    }

    @Test
    void suspectsAreRankedByGrowthRate() {
        Verdicts verdicts = null;
        for (int i = 0; i < 4; i++) {
            verdicts = report(i, leak(1, i, 4 * KIB), leak(2, i, 400 * KIB), leak(3, i, 40 * KIB));
        }
        assertEquals(List.of(2L, 3L, 1L), verdicts.suspects().stream().map(Suspect::stackId).toList());
    }

    @Test
    void growthInBurstsWithRestsBetweenIsNoSuspect() {
        // Like the JIT's metadata for newly compiled code: grows in 2 of 5 intervals, never freed.
        long[] bytes = {1000, 1000, 3000, 3000, 3000, 5000};
        Verdicts verdicts = null;
        for (int i = 0; i < bytes.length; i++) {
            verdicts = report(i, new StackTotals(11, bytes[i], bytes[i] / 100, 5L * i * SECOND + SECOND));
        }
        assertEquals(List.of(), verdicts.suspects());
        assertEquals(1, verdicts.steady());
    }

    @Test
    void aFilledCacheIsSteadyAndNoSuspect() {
        StackTotals cache = new StackTotals(5, 10_000_000, 1000, 0);
        Verdicts verdicts = null;
        for (int i = 0; i < 6; i++) {
            verdicts = report(i, new StackTotals(5, cache.bytes(), cache.count(), 5L * i * SECOND + SECOND));
        }
        assertEquals(List.of(), verdicts.suspects());
        assertEquals(1, verdicts.steady());
    }

    @Test
    void blocksThatComeAndGoAreTransient() {
        long[] counts = {3, 1, 4, 0, 2, 5};
        Verdicts verdicts = null;
        for (int i = 0; i < counts.length; i++) {
            List<StackTotals> stacks = new ArrayList<>();
            if (counts[i] > 0) {
                stacks.add(new StackTotals(9, counts[i] * 65536, counts[i], SECOND / 10));
            }
            verdicts = detector.update(START.plusSeconds(5L * i), stacks);
        }
        assertEquals(List.of(), verdicts.suspects());
        assertEquals(1, verdicts.transients(), verdicts.toString());
    }

    @Test
    void growthWhoseOldBlocksAreFreedIsNoSuspect() {
        // Count and bytes rise, but the oldest block is always young: old blocks are freed, new ones made.
        Verdicts verdicts = null;
        for (int i = 0; i < 6; i++) {
            verdicts = report(i, new StackTotals(4, 1000L * (i + 1), i + 1, SECOND));
        }
        assertEquals(List.of(), verdicts.suspects());
    }

    @Test
    void aFreedBlockClearsTheSuspicion() {
        for (int i = 0; i < 4; i++) {
            report(i, leak(8, i, 64 * KIB));
        }
        StackTotals shrunk = new StackTotals(8, 4 * 64 * KIB - 100, 16 * 4 - 1, 20 * SECOND);
        assertEquals(List.of(), report(4, shrunk).suspects());
    }

    @Test
    void aLeakThatStoppedGrowingForHalfTheWindowIsSteady() {
        for (int i = 0; i < 4; i++) {
            report(i, leak(6, i, 64 * KIB));
        }
        Verdicts verdicts = null;
        for (int i = 4; i < 12; i++) {
            verdicts = report(i, new StackTotals(6, 4 * 64 * KIB, 64, 5L * i * SECOND + SECOND));
        }
        assertEquals(List.of(), verdicts.suspects());
        assertEquals(1, verdicts.steady());
    }

    @Test
    void aStackThatIsGoneIsNotCountedButWhenItReturnsItIsTransient() {
        report(0, leak(3, 0, KIB));
        report(1, leak(3, 1, KIB));
        Verdicts gone = report(2);
        assertEquals(0, gone.transients() + gone.steady() + gone.tooNew() + gone.suspects().size());
        Verdicts back = report(3, new StackTotals(3, KIB, 1, SECOND / 2));
        assertEquals(1, back.transients(), back.toString());
    }

    @Test
    void unknownAgesFromTheCountersStillShowALeak() {
        Verdicts verdicts = null;
        for (int i = 0; i < 3; i++) {
            verdicts = report(i, new StackTotals(2, 1000L * (i + 1), i + 1, -1));
        }
        assertEquals(1, verdicts.suspects().size());
        assertTrue(verdicts.suspects().get(0).bytesPerMinute() > 0);
    }

    @Test
    void jvmWarmUpIsACompilerOrClassLoadingFunctionOfLibjvm() {
        assertTrue(LeakDetector.isJvmWarmUp(List.of(native_("os::malloc(unsigned long)", "libjvm.so"),
                native_("CompileBroker::invoke_compiler_on_method(CompileTask*)", "libjvm.so"))));
        assertTrue(LeakDetector.isJvmWarmUp(List.of(native_("ClassLoaderData::add_handle(Handle)", "libjvm.so"))));
        assertTrue(LeakDetector.isJvmWarmUp(List.of(native_("Compile::Compile(ciEnv*)", "libjvm.so"))));
        assertEquals(false, LeakDetector.isJvmWarmUp(List.of(native_("CompileBroker::x()", "libfoo.so"),
                native_("CompileBrokerX::x()", "libjvm.so"), native_("Compile", "libjvm.so"),
                native_("JNI_CompileBroker::x()", "libjvm.so"), new Frame(1, Frame.Kind.NATIVE, null, "libjvm.so", 0))));
    }

    private static Frame native_(String name, String module) {
        return new Frame(0x1000, Frame.Kind.NATIVE, name, module, 0x10);
    }
}
