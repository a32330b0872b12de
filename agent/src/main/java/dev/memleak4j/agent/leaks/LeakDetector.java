package dev.memleak4j.agent.leaks;

import dev.memleak4j.agent.lang.LongObjectMap;
import dev.memleak4j.agent.owners.OwnerCount;
import dev.memleak4j.agent.stacks.Frame;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongFunction;

/**
 * Tells leaks from memory that is merely in use, from a short history of every stack's outstanding allocations over
 * the last reports (not only the top N). Fed once per periodic report, on the reporter thread.
 *
 * <p>A stack is
 * <ul>
 *   <li><b>growing</b> when, over the window, its outstanding bytes rose in at least two intervals and in at least
 *       half of them, most recently in the later half of the window, its allocation count never fell (nothing it
 *       tracked was freed), and its oldest block has been outstanding for at least half the window (old blocks are
 *       not being recycled): a leak suspect;</li>
 *   <li><b>transient</b> when its blocks come and go: its count fell or reached zero in the window while its blocks
 *       stayed young (compiler arenas, buffers in flight);</li>
 *   <li><b>steady</b> otherwise: outstanding, but not growing (pools, caches that have filled);</li>
 *   <li><b>too new to tell</b> while it has fewer than {@link #MIN_POINTS} reports of history.</li>
 * </ul>
 * Under sampling the counts are estimates that change only when a sampled block is allocated or freed, which keeps
 * "never fell" meaningful: an estimate falls only when a tracked block was freed.
 */
public final class LeakDetector {
    /** Reports of history a stack needs before it is classified: two intervals of change. */
    public static final int MIN_POINTS = 3;

    /** What the detector knows of one stack at one report. */
    public record StackTotals(long stackId, long bytes, long count, long oldestAgeNanos) {}

    /**
     * One stack's points, oldest first: its time, bytes, count and oldest block's age at each report, four longs a
     * point in one array. Not a record per point in a list per stack in a boxed map: the histories live as long as
     * the window (a dozen points and more for each stack), and each object in them is one more for every full GC of
     * the application to mark and move.
     */
    private static final class History {
        private static final int WORDS = 4;
        final long stackId;
        private long[] points = new long[WORDS * 4];
        private int size;

        History(long stackId) {
            this.stackId = stackId;
        }

        void add(long timeNanos, long bytes, long count, long oldestAgeNanos) {
            if (WORDS * (size + 1) > points.length) {
                points = Arrays.copyOf(points, points.length * 2);
            }
            int at = WORDS * size++;
            points[at] = timeNanos;
            points[at + 1] = bytes;
            points[at + 2] = count;
            points[at + 3] = oldestAgeNanos;
        }

        void removeFirst() {
            System.arraycopy(points, WORDS, points, 0, WORDS * --size);
        }

        int size() {
            return size;
        }

        long timeNanos(int i) {
            return points[WORDS * i];
        }

        long bytes(int i) {
            return points[WORDS * i + 1];
        }

        long count(int i) {
            return points[WORDS * i + 2];
        }

        long oldestAgeNanos(int i) {
            return points[WORDS * i + 3];
        }
    }

    private final long windowSeconds;
    private LongObjectMap<History> histories = new LongObjectMap<>();

    /** @param windowSeconds how far back growth is judged */
    public LeakDetector(long windowSeconds) {
        this.windowSeconds = windowSeconds;
    }

    public long windowSeconds() {
        return windowSeconds;
    }

    /**
     * Adds one report's totals (every stack with outstanding allocations) and classifies every stack.
     *
     * @param time when the report was taken
     */
    public Verdicts update(Instant time, List<StackTotals> stacks) {
        long now = time.getEpochSecond() * 1_000_000_000L + time.getNano();
        long oldest = now - windowSeconds * 1_000_000_000L;
        LongObjectMap<StackTotals> present = new LongObjectMap<>();
        for (StackTotals stack : stacks) {
            present.put(stack.stackId(), stack);
            History history = histories.get(stack.stackId());
            if (history == null) {
                history = new History(stack.stackId());
                histories.put(stack.stackId(), history);
            }
            history.add(now, stack.bytes(), stack.count(), stack.oldestAgeNanos());
        }
        List<Suspect> growing = new ArrayList<>();
        int steady = 0;
        int transients = 0;
        int tooNew = 0;
        LongObjectMap<History> kept = new LongObjectMap<>();
        for (History points : histories.values()) {
            boolean isPresent = present.get(points.stackId) != null;
            if (!isPresent) {
                points.add(now, 0, 0, -1); // nothing outstanding from it any more
            }
            // Keep one point older than the window (the change across its first interval counts too), and never
            // fewer than MIN_POINTS, whatever the interval.
            while (points.size() > MIN_POINTS && points.timeNanos(1) <= oldest) {
                points.removeFirst();
            }
            if (!anyOutstanding(points)) {
                continue; // forgotten
            }
            kept.put(points.stackId, points);
            if (!isPresent) {
                continue; // nothing outstanding: not counted, but its history shows that it comes and goes
            }
            // If/else rather than a switch: a switch on an enum is one more class in the application's JVM for good.
            Trend trend = classify(points);
            if (trend == Trend.GROWING) {
                growing.add(suspect(points.stackId, points));
            } else if (trend == Trend.STEADY) {
                steady++;
            } else if (trend == Trend.TRANSIENT) {
                transients++;
            } else {
                tooNew++;
            }
        }
        histories = kept;
        growing.sort(FASTEST_FIRST);
        return new Verdicts(List.copyOf(growing), steady, transients, tooNew, windowSeconds);
    }

    /*
     * Loops and a written-out order, not streams and Comparator chains: each lambda's first use leaves a hidden class
     * and its method handles in the application's JVM for good (every full GC walks them).
     */
    /** The fastest growth first, then by stack id. */
    private static final Comparator<Suspect> FASTEST_FIRST = new Comparator<>() {
        @Override
        public int compare(Suspect a, Suspect b) {
            int byRate = Double.compare(b.bytesPerMinute(), a.bytesPerMinute());
            return byRate != 0 ? byRate : Long.compare(a.stackId(), b.stackId());
        }
    };

    private static boolean anyNothingOutstanding(History points) {
        for (int i = 0; i < points.size(); i++) {
            if (points.count(i) == 0) {
                return true;
            }
        }
        return false;
    }

    private static boolean anyOutstanding(History points) {
        for (int i = 0; i < points.size(); i++) {
            if (points.count(i) != 0) {
                return true;
            }
        }
        return false;
    }

    private static Trend classify(History points) {
        int n = points.size();
        if (n < MIN_POINTS) {
            return Trend.TOO_NEW;
        }
        int last = n - 1;
        boolean fell = false;
        int increases = 0;
        int lastIncrease = -1;
        for (int i = 1; i < n; i++) {
            if (points.count(i) < points.count(i - 1) || points.count(i) == 0) {
                fell = true;
            }
            if (points.bytes(i) > points.bytes(i - 1)) {
                increases++;
                lastIncrease = i;
            }
        }
        long span = points.timeNanos(last) - points.timeNanos(0);
        long lastAge = points.oldestAgeNanos(last);
        // Unknown ages (combined-only: per-stack counters) cannot tell old blocks from new ones; the count must do.
        boolean oldBlocksStay = lastAge < 0 || lastAge >= span / 2;
        // Growth in most intervals: what grows in bursts and then rests (the JIT's metadata for the code it compiles,
        // class loading) is not a leak's steady drip.
        boolean mostIntervals = 2 * increases >= n - 1;
        if (!fell && increases >= 2 && mostIntervals && lastIncrease >= n / 2 && points.bytes(last) > points.bytes(0)
                && oldBlocksStay) {
            return Trend.GROWING;
        }
        long typicalInterval = span / (n - 1);
        if (fell && (lastAge >= 0 && lastAge < 2 * typicalInterval || anyNothingOutstanding(points))) {
            return Trend.TRANSIENT;
        }
        return Trend.STEADY;
    }

    private static Suspect suspect(long stackId, History points) {
        int last = points.size() - 1;
        int increases = 0;
        for (int i = 1; i <= last; i++) {
            if (points.bytes(i) > points.bytes(i - 1)) {
                increases++;
            }
        }
        int intervals = last;
        long spanNanos = points.timeNanos(last) - points.timeNanos(0);
        double minutes = spanNanos / 60e9;
        double perMinute = minutes > 0 ? (points.bytes(last) - points.bytes(0)) / minutes : 0;
        Confidence confidence = increases >= 4 && intervals >= 4 ? Confidence.HIGH
                : increases >= 3 ? Confidence.MEDIUM : Confidence.LOW;
        long sinceNanos = points.timeNanos(last) - Math.max(0, points.oldestAgeNanos(last));
        Instant since = Instant.ofEpochSecond(0, sinceNanos);
        return new Suspect(stackId, points.bytes(last), points.count(last), perMinute, since, confidence, increases,
                intervals, spanNanos, List.of());
    }

    /**
     * Names the suspects ({@code frames} gives a stack id's frames) and holds back those that are the JVM's own
     * bookkeeping: the JIT's metadata for the code it compiles and the data of the classes it loads grow, never
     * freed, for as long as compilation and class loading go on, which in the first minutes (longer on a busy host,
     * where the JIT falls behind) looks like a leak. Such a stack is a suspect only once it has grown over a whole
     * window, and not while the JVM compiled or loaded classes in the last interval ({@code jvmBusy}): growth while
     * the JIT and the class loaders are idle is what would be a JVM leak. Held back, it counts as too new.
     */
    public Verdicts name(Verdicts verdicts, LongFunction<List<Frame>> frames, boolean jvmBusy) {
        List<Suspect> named = new ArrayList<>(verdicts.suspects().size());
        int heldBack = 0;
        for (Suspect suspect : verdicts.suspects()) {
            Suspect withFrames = suspect.withFrames(frames.apply(suspect.stackId()));
            boolean wholeWindow = withFrames.observedNanos() >= windowSeconds * 1_000_000_000L;
            if (isJvmWarmUp(withFrames.frames()) && (jvmBusy || !wholeWindow)) {
                heldBack++;
            } else {
                named.add(withFrames);
            }
        }
        return new Verdicts(List.copyOf(named), verdicts.steady(), verdicts.transients(), verdicts.tooNew() + heldBack,
                verdicts.windowSeconds());
    }

    /**
     * HotSpot's compilers and class loading, by the functions of libjvm on the stack: a name that starts with one of
     * these classes and "::". Compared by hand, not with a regular expression, which would bring java.util.regex into
     * the application's JVM for good.
     */
    private static final String[] JVM_WARM_UP = {"CompileBroker", "ciEnv", "nmethod", "Compile", "C2Compiler",
            "Compilation", "ClassFileParser", "SystemDictionary", "ClassLoader", "ClassLoaderData", "Metaspace"};

    static boolean isJvmWarmUp(List<Frame> frames) {
        for (Frame frame : frames) {
            String name = frame.name();
            if (name != null && "libjvm.so".equals(frame.module()) && isWarmUpFunction(name)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isWarmUpFunction(String name) {
        for (String type : JVM_WARM_UP) {
            if (name.startsWith(type) && name.startsWith("::", type.length())) {
                return true;
            }
        }
        return false;
    }

    /** How a stack's outstanding allocations behave over the window. */
    public enum Trend { GROWING, STEADY, TRANSIENT, TOO_NEW }

    /** How sure the detector is that a growing stack leaks: the more intervals it grew in, the surer. */
    public enum Confidence {
        HIGH, MEDIUM, LOW;

        public String text() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * A growing stack.
     *
     * @param bytes          outstanding now (estimate when sampled)
     * @param count          outstanding allocations now
     * @param bytesPerMinute growth over the window
     * @param since          when its oldest outstanding block was allocated
     * @param grewIn         intervals of the window in which it grew
     * @param intervals      intervals in the window
     * @param observedNanos  how long its history covers (at most the window and one interval)
     * @param frames         the stack, the allocator's direct caller first (empty until the collector names it)
     * @param owners         the Java objects owning its outstanding blocks, by class; empty when none is known
     */
    public record Suspect(long stackId, long bytes, long count, double bytesPerMinute, Instant since,
                          Confidence confidence, int grewIn, int intervals, long observedNanos, List<Frame> frames,
                          List<OwnerCount> owners) {
        public Suspect(long stackId, long bytes, long count, double bytesPerMinute, Instant since,
                       Confidence confidence, int grewIn, int intervals, long observedNanos, List<Frame> frames) {
            this(stackId, bytes, count, bytesPerMinute, since, confidence, grewIn, intervals, observedNanos, frames,
                    List.of());
        }

        public Suspect withFrames(List<Frame> named) {
            return new Suspect(stackId, bytes, count, bytesPerMinute, since, confidence, grewIn, intervals,
                    observedNanos, List.copyOf(named), owners);
        }

        public Suspect withOwners(List<OwnerCount> known) {
            return new Suspect(stackId, bytes, count, bytesPerMinute, since, confidence, grewIn, intervals,
                    observedNanos, frames, List.copyOf(known));
        }

        /** Why it is suspected, in a few words. */
        public String evidence() {
            return "grew in " + grewIn + " of " + intervals + " intervals, none freed";
        }
    }

    /** One report's classification: the suspects, fastest-growing first, and how many stacks are of each kind. */
    public record Verdicts(List<Suspect> suspects, int steady, int transients, int tooNew, long windowSeconds) {
        /** The same, each suspect with the owners of its blocks ({@code owners} gives a stack id's). */
        public Verdicts withOwners(LongFunction<List<OwnerCount>> owners) {
            List<Suspect> with = new ArrayList<>(suspects.size());
            for (Suspect suspect : suspects) {
                with.add(suspect.withOwners(owners.apply(suspect.stackId())));
            }
            return new Verdicts(List.copyOf(with), steady, transients, tooNew, windowSeconds);
        }
    }
}
