package dev.memleak4j.agent;

import dev.memleak4j.agent.report.ReportSettings;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The agent's options: {@code -javaagent:memleak4j-agent.jar=key=value,key=value,flag}. Names mirror bcc's memleak.
 * Parsing is strict: an unknown or repeated key, a value out of range or a malformed number is an
 * {@link OptionException} whose message names the option and what it accepts.
 */
public final class AgentOptions {
    /**
     * Default sampling: allocations of 8 KiB and more are tracked exactly, smaller ones in proportion to their size,
     * so that most calls (small ones) never trap (hooks) or skip the return probe and the stack walk (uprobes). What
     * an application pays for the sampled ones is bounded by max-tracked, which raises the interval under churn; a
     * leak of 4 KiB blocks at 1 MiB a minute inside 100 MiB/s of churn stays within ±25% after 3 minutes at the
     * interval max-tracked raises it to there (32 KiB: ~10% expected error). See docs/probe-modes.md.
     */
    public static final long DEFAULT_SAMPLE_BYTES = 8192;

    /**
     * Default budget of tracked allocations per second (see {@code sampling.TrackingBudget}). A tracked allocation
     * costs two traps (its own, with the stack walk, and its free's), ~6 µs of CPU together where stacks are deep, so
     * tracking stays near 3% of one CPU however fast the application allocates. See docs/sampling.md, "The budget".
     */
    public static final long DEFAULT_MAX_TRACKED = 5_000;

    /** The documented options, in the order {@code help} lists them. */
    private static final String[] NAMES = {
            "interval", "count", "top", "show-allocs", "older", "min-size", "max-size", "sample-bytes", "max-tracked",
            "sample-rate", "probe-mode", "combined-only", "obj", "symbols-prefix", "output", "json", "flamegraph",
            "pprof", "jfr-file", "max-allocs", "max-stacks", "max-threads", "jni-classes", "owners", "leak-window",
            "exit-report", "verbose", "help"};

    /**
     * An option's value name, default and range, made when asked (parsing, help, an error's text, JMX's checks)
     * rather than kept in a table: a table with every option's help text would stay in the application's JVM for good.
     * The help texts are in {@link #description}, whose strings the JVM only resolves once one is printed. Null for
     * a name that is no option.
     */
    private static Spec spec(String name) {
        return switch (name) {
            case "interval" -> numeric("SECONDS", 5, 1, 86_400);
            case "count" -> numeric("N", 0, 1, Long.MAX_VALUE);
            case "top" -> numeric("N", 10, 1, 10_000);
            case "show-allocs" -> text(null, "off");
            case "older" -> numeric("MS", 500, 0, 365L * 24 * 3600 * 1000);
            case "min-size" -> numeric("BYTES", 0, 0, Long.MAX_VALUE);
            case "max-size" -> numeric("BYTES", Long.MAX_VALUE, 0, Long.MAX_VALUE);
            // The kernel side keeps the interval in 31 bits per allocation.
            case "sample-bytes" -> numeric("BYTES", DEFAULT_SAMPLE_BYTES, 0, (1L << 31) - 1);
            case "max-tracked" -> numeric("N", DEFAULT_MAX_TRACKED, 0, 1_000_000_000);
            case "sample-rate" -> numeric("N", 1, 1, (1L << 31) - 1);
            case "probe-mode" -> text("MODE", "auto");
            case "combined-only" -> text(null, "off");
            case "obj" -> text("PATH", "the libc this JVM maps");
            case "symbols-prefix" -> text("PREFIX", "none");
            case "output" -> text("FILE", "stderr");
            case "json" -> text("FILE", "none");
            case "flamegraph" -> text("FILE", "none");
            case "pprof" -> text("FILE", "none");
            case "jfr-file" -> text("FILE", "none");
            case "max-allocs" -> numeric("N", 1 << 20, 1, 1 << 28);
            case "max-stacks" -> numeric("N", 1 << 14, 1, 1 << 22);
            case "max-threads" -> numeric("N", 4096, 16, 1 << 20);
            case "jni-classes" -> text("GLOBS", DEFAULT_JNI_CLASSES);
            case "owners" -> text("CLASSES", "none");
            case "leak-window" -> numeric("SECONDS", 60, 10, 86_400);
            case "exit-report" -> text(null, "on");
            case "verbose" -> text(null, "off");
            case "help" -> text(null, "");
            default -> null;
        };
    }

    /** What an option does, as help and error texts say it. */
    private static String description(String name) {
        return switch (name) {
            case "interval" -> "print a report every SECONDS seconds (1-86400)";
            case "count" -> "stop after N reports: probes are detached, the application runs on";
            case "top" -> "show the N stacks with the most outstanding bytes (1-10000)";
            case "show-allocs" -> "list the address and size of every outstanding allocation per stack";
            case "older" -> "report only allocations at least MS milliseconds old (hides short-lived ones)";
            case "min-size" -> "track only allocations of at least BYTES (suffixes k, m, g)";
            case "max-size" -> "track only allocations of at most BYTES (suffixes k, m, g)";
            case "sample-bytes" -> "an allocation of s bytes is tracked with probability s/BYTES, always when s >= "
                    + "BYTES, and then counts for BYTES bytes and BYTES/s allocations: unbiased estimates; 0 tracks "
                    + "every allocation exactly (suffixes k, m, g)";
            case "max-tracked" -> "allocations tracked per second at most, on average: above it sample-bytes is "
                    + "raised (x2, x4, ...) until the rate fits, and lowered again when it falls; estimates stay "
                    + "unbiased; 0: sample-bytes stays as given";
            case "sample-rate" -> "sample by count instead: track one allocation in N, chosen at random; totals are "
                    + "scaled back and marked as estimates (turns sample-bytes off)";
            case "probe-mode" -> "hooks: in-process hooks in every loaded library's import table decide which calls "
                    + "are sampled, and only those enter the kernel (nanoseconds per unsampled call); uprobes: a "
                    + "uprobe on the allocator itself traps every call (sees calls the import tables do not show: "
                    + "static or dlsym'd allocator calls), as uprobe sessions where the kernel has them (6.13+), "
                    + "else entry and return probes; classic: uprobes, always entry and return probes; auto: hooks";
            case "combined-only" -> "report from the per-stack counters only (no per-address listing, cheaper "
                    + "reports; 'older' and 'show-allocs' do not apply)";
            case "obj" -> "probe the allocator in this library instead (e.g. a jemalloc .so)";
            case "symbols-prefix" -> "prefix of the allocator's symbols in 'obj' (e.g. je_)";
            case "output" -> "write reports to FILE instead of stderr";
            case "json" -> "also write each report as a JSON document to FILE (replaced atomically)";
            case "flamegraph" -> "also write each report as an HTML flame graph of the outstanding bytes to FILE "
                    + "(self-contained; replaced atomically)";
            case "pprof" -> "also write each report as a gzipped pprof profile (inuse_space, inuse_objects) to FILE, "
                    + "for go tool pprof, Pyroscope, Speedscope (replaced atomically)";
            case "jfr-file" -> "also write each report as a JFR recording to FILE: one event per outstanding stack "
                    + "with the allocation's own stack trace, for JMC (replaced atomically)";
            case "max-allocs" -> "outstanding allocations tracked at most; more are counted as dropped (the first "
                    + "32768 in a table allocated at start, 3.4 MB; beyond, 96 bytes of kernel memory each, allocated as "
                    + "used)";
            case "max-stacks" -> "distinct stacks stored at most; from half full on, reports forget stacks that hold "
                    + "nothing; allocations beyond a full map are tracked without a stack and counted";
            case "max-threads" -> "threads inside the allocator at the same moment, at most";
            case "jni-classes" -> "classes whose JNI methods mark the calling thread, so that allocations in native "
                    + "code without frame pointers still show their Java callers where the walk from the thread's "
                    + "frame anchor cannot start: globs separated by ':' (* any characters); '*' is every "
                    + "application class, JDK classes only when named (java.util.zip.*); none: off";
            case "owners" -> "for leak suspects, count the Java objects that own the blocks: still reachable "
                    + "(retained by live objects), unreachable without releasing them (leaked), or awaiting their "
                    + "Cleaner; jdk: DirectByteBuffer, Inflater and Deflater; or those and the JNI classes named: "
                    + "CLASS#FIELD separated by ':', FIELD its long native-handle field (the only long field when "
                    + "left out), e.g. org.rocksdb.RocksObject#nativeHandle_; none: off (probe-mode=hooks only)";
            case "leak-window" -> "how far back leak suspects look: a stack is growing when its outstanding bytes "
                    + "rose over this window with nothing freed (at least 3 reports; 10-86400)";
            case "exit-report" -> "when the JVM exits (end of main, System.exit, SIGTERM), report what is still "
                    + "outstanding, however young ('older' does not apply), in every output, marked as the exit "
                    + "report; off: only the periodic reports";
            case "verbose" -> "print libbpf's messages and where each probe was placed";
            case "help" -> "print this help; memleak4j does not start";
            default -> throw new IllegalArgumentException("no option " + name);
        };
    }

    /**
     * Off: the kernel side walks each Java thread's frames from its frame anchor, which names the Java callers of any
     * native call; the marks only help where that walk cannot start (the agent says so at start).
     */
    public static final String DEFAULT_JNI_CLASSES = "none";

    private final Map<String, String> given;
    private final int intervalSeconds;
    private final long count;
    private final int top;
    private final boolean showAllocs;
    private final long olderMillis;
    private final long minSize;
    private final long maxSize;
    private final long sampleRate;
    private final long sampleBytes;
    private final long maxTracked;
    private final boolean classicProbes;
    private final boolean hooks;
    private final boolean combinedOnly;
    private final Path obj;
    private final String symbolsPrefix;
    private final Path output;
    private final Path json;
    private final Path flamegraph;
    private final Path pprof;
    private final Path jfrFile;
    private final long maxAllocs;
    private final long maxStacks;
    private final long maxThreads;
    private final String jniClasses;
    private final String owners;
    private final boolean exitReport;
    private final long leakWindowSeconds;
    private final boolean verbose;
    private final boolean help;

    private AgentOptions(Map<String, String> given) {
        this.given = given;
        intervalSeconds = (int) number("interval");
        count = number("count");
        top = (int) number("top");
        showAllocs = flag("show-allocs");
        olderMillis = number("older");
        minSize = bytes("min-size", spec("min-size").defaultValue);
        maxSize = bytes("max-size", spec("max-size").defaultValue);
        if (minSize > maxSize) {
            throw new OptionException("min-size=" + given.get("min-size") + " is larger than max-size="
                    + given.get("max-size"));
        }
        sampleRate = number("sample-rate");
        // Sampling by count replaces the default sampling by bytes; asking for both at once is an error.
        sampleBytes = bytes("sample-bytes", given.containsKey("sample-rate") ? 0 : DEFAULT_SAMPLE_BYTES);
        if (sampleBytes > 0 && sampleRate > 1) {
            throw new OptionException("sample-rate and sample-bytes are two ways to sample: give one of them");
        }
        maxTracked = number("max-tracked");
        String probeMode = choice("probe-mode", "auto", "auto", "hooks", "uprobes", "classic");
        classicProbes = probeMode.equals("classic");
        hooks = probeMode.equals("hooks") || probeMode.equals("auto");
        combinedOnly = flag("combined-only");
        obj = given.containsKey("obj") ? path("obj") : null;
        symbolsPrefix = given.containsKey("symbols-prefix")
                ? requireValue("symbols-prefix", given.get("symbols-prefix"))
                : "";
        output = given.containsKey("output") ? path("output") : null;
        json = given.containsKey("json") ? path("json") : null;
        flamegraph = given.containsKey("flamegraph") ? path("flamegraph") : null;
        pprof = given.containsKey("pprof") ? path("pprof") : null;
        jfrFile = given.containsKey("jfr-file") ? path("jfr-file") : null;
        maxAllocs = number("max-allocs");
        maxStacks = number("max-stacks");
        maxThreads = number("max-threads");
        jniClasses = given.containsKey("jni-classes") ? classGlobs("jni-classes") : DEFAULT_JNI_CLASSES;
        owners = given.containsKey("owners") ? ownerClasses("owners") : "none";
        exitReport = !given.containsKey("exit-report") || flag("exit-report");
        leakWindowSeconds = number("leak-window");
        verbose = flag("verbose");
        help = flag("help");
    }

    /** Parses the agent argument string; null or blank gives the defaults. */
    public static AgentOptions parse(String arguments) {
        Map<String, String> given = new LinkedHashMap<>();
        if (arguments != null) {
            for (String item : arguments.split(",", -1)) {
                String trimmed = item.trim();
                if (trimmed.isEmpty()) {
                    continue;
                }
                int eq = trimmed.indexOf('=');
                String key = (eq < 0 ? trimmed : trimmed.substring(0, eq)).trim().toLowerCase(Locale.ROOT);
                String value = eq < 0 ? null : trimmed.substring(eq + 1).trim();
                if (spec(key) == null) {
                    throw new OptionException("unknown option '" + printable(key) + "'" + suggestion(key)
                            + "; known: " + String.join(", ", NAMES));
                }
                if (given.containsKey(key)) {
                    throw new OptionException("option '" + key + "' is given twice");
                }
                given.put(key, value);
            }
        }
        return new AgentOptions(given);
    }

    /** A whole-number option: its default and range come from its spec. */
    private long number(String key) {
        Spec spec = spec(key);
        if (!given.containsKey(key)) {
            return spec.defaultValue;
        }
        String value = given.get(key);
        long parsed;
        try {
            parsed = Long.parseLong(requireValue(key, value));
        } catch (NumberFormatException e) {
            throw new OptionException(key + "=" + printable(value) + " is not a whole number; " + describe(key));
        }
        return checkRange(key, value, parsed);
    }

    /** A size in bytes with an optional k, m or g suffix: its range comes from its spec. */
    private long bytes(String key, long fallback) {
        if (!given.containsKey(key)) {
            return fallback;
        }
        String value = requireValue(key, given.get(key)).toLowerCase(Locale.ROOT);
        int shift = 0;
        String digits = value;
        if (!value.isEmpty()) {
            switch (value.charAt(value.length() - 1)) {
                case 'k': shift = 10; break;
                case 'm': shift = 20; break;
                case 'g': shift = 30; break;
                default: break;
            }
            if (shift > 0) {
                digits = value.substring(0, value.length() - 1);
            }
        }
        long parsed;
        try {
            parsed = Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new OptionException(key + "=" + printable(value) + " is not a size in bytes (e.g. 4096, 64k, "
                    + "2m); " + describe(key));
        }
        if (parsed < 0 || (shift > 0 && parsed > (Long.MAX_VALUE >> shift))) {
            throw new OptionException(key + "=" + printable(value) + " is out of range; " + describe(key));
        }
        return checkRange(key, value, parsed << shift);
    }

    private static long checkRange(String key, String value, long parsed) {
        Spec spec = spec(key);
        if (parsed < spec.min || parsed > spec.max) {
            throw new OptionException(key + "=" + printable(value) + " is out of range " + rangeText(spec) + "; "
                    + describe(key));
        }
        return parsed;
    }

    private static String rangeText(Spec spec) {
        return spec.min + ".." + (spec.max == Long.MAX_VALUE ? "" : String.valueOf(spec.max));
    }

    /**
     * The check of a whole-number option for a value set at run time (JMX): the same range as on the command line.
     *
     * @throws OptionException naming the option and its range
     */
    public static long checkValue(String key, long value) {
        Spec spec = spec(key);
        if (spec == null || spec.max < spec.min) {
            throw new IllegalArgumentException("no whole-number option " + key);
        }
        if (value < spec.min || value > spec.max) {
            throw new OptionException(key + "=" + value + " is out of range " + rangeText(spec));
        }
        return value;
    }

    private String choice(String key, String fallback, String... allowed) {
        if (!given.containsKey(key)) {
            return fallback;
        }
        String value = requireValue(key, given.get(key)).toLowerCase(Locale.ROOT);
        for (String option : allowed) {
            if (option.equals(value)) {
                return option;
            }
        }
        throw new OptionException(key + "=" + printable(value) + " is not one of " + String.join(", ", allowed)
                + "; " + describe(key));
    }

    private boolean flag(String key) {
        if (!given.containsKey(key)) {
            return false;
        }
        String value = given.get(key);
        if (value == null || value.equalsIgnoreCase("true") || value.equals("1") || value.equalsIgnoreCase("on")) {
            return true;
        }
        if (value.equalsIgnoreCase("false") || value.equals("0") || value.equalsIgnoreCase("off")) {
            return false;
        }
        throw new OptionException(key + "=" + printable(value) + ": a flag takes no value, or true/false");
    }

    /** A ':'-separated list of class name globs, or none. */
    private String classGlobs(String key) {
        String value = nonEmpty(key);
        if (value.equalsIgnoreCase("none")) {
            return "none";
        }
        for (String glob : value.split(":", -1)) {
            if (glob.isBlank()) {
                throw new OptionException(key + "=" + printable(value) + " has an empty glob; " + describe(key));
            }
            for (char c : glob.trim().toCharArray()) {
                if (!(Character.isJavaIdentifierPart(c) || c == '.' || c == '*' || c == '?')) {
                    throw new OptionException(key + "=" + printable(value) + ": '" + printable(String.valueOf(c))
                            + "' is not part of a class name or glob; " + describe(key));
                }
            }
        }
        return value;
    }

    /** A ':'-separated list of CLASS or CLASS#FIELD, or jdk, or none. */
    private String ownerClasses(String key) {
        String value = nonEmpty(key);
        if (value.equalsIgnoreCase("none") || value.equalsIgnoreCase("jdk")) {
            return value.toLowerCase(Locale.ROOT);
        }
        for (String item : value.split(":", -1)) {
            String[] parts = item.trim().split("#", -1);
            boolean ok = parts.length <= 2 && isName(parts[0], true) && (parts.length == 1 || isName(parts[1], false));
            if (!ok && !item.trim().equalsIgnoreCase("jdk")) {
                throw new OptionException(key + "=" + printable(value) + ": '" + printable(item.trim())
                        + "' is not CLASS or CLASS#FIELD; " + describe(key));
            }
        }
        return value;
    }

    private static boolean isName(String name, boolean dotted) {
        if (name.isEmpty() || name.startsWith(".") || name.endsWith(".") || name.contains("..")) {
            return false;
        }
        for (char c : name.toCharArray()) {
            if (!(Character.isJavaIdentifierPart(c) || (dotted && (c == '.' || c == '$')))) {
                return false;
            }
        }
        return true;
    }

    private Path path(String key) {
        String value = nonEmpty(key);
        try {
            return Paths.get(value);
        } catch (java.nio.file.InvalidPathException e) {
            throw new OptionException(key + "=" + printable(value) + " is not a usable path; " + describe(key));
        }
    }

    private String nonEmpty(String key) {
        String value = requireValue(key, given.get(key));
        if (value.isEmpty()) {
            throw new OptionException(key + " needs a value; " + describe(key));
        }
        return value;
    }

    private static String requireValue(String key, String value) {
        if (value == null) {
            throw new OptionException("option '" + key + "' needs a value: " + key + "=" + spec(key).value);
        }
        return value;
    }

    private static String describe(String key) {
        Spec spec = spec(key);
        return key + "=" + spec.value + ": " + description(key);
    }

    /** Keeps error lines on one line and readable whatever bytes the user passed. */
    private static String printable(String text) {
        if (text == null) {
            return "";
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length() && out.length() < 60; i++) {
            char c = text.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return text.length() > 60 ? out + "..." : out.toString();
    }

    private static String suggestion(String key) {
        String best = null;
        int bestDistance = 3;
        for (String known : NAMES) {
            int d = editDistance(key, known);
            if (d < bestDistance) {
                bestDistance = d;
                best = known;
            }
        }
        return best == null ? "" : " (did you mean '" + best + "'?)";
    }

    private static int editDistance(String a, String b) {
        if (a.length() > 40) {
            return Integer.MAX_VALUE;
        }
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    /** The text {@code help} prints. */
    public static String helpText() {
        StringBuilder out = new StringBuilder();
        out.append("memleak4j: outstanding native allocations of this JVM, with their stacks.\n");
        out.append("usage: -javaagent:memleak4j-agent.jar[=option,option,...]   options are key=value or flags:\n");
        for (String name : NAMES) {
            Spec spec = spec(name);
            String left = name + (spec.value == null ? "" : "=" + spec.value);
            out.append(String.format("  %-24s %s%s%n", left, description(name),
                    spec.fallback.isEmpty() ? "" : " [default: " + spec.fallback + "]"));
        }
        return out.toString();
    }

    /** The option names, for tests and documentation. */
    public static Set<String> names() {
        return new TreeSet<>(Arrays.asList(NAMES));
    }

    /** The settings a report starts with: what these options ask for. */
    public ReportSettings reportSettings() {
        return new ReportSettings(intervalSeconds, top, showAllocs, olderMillis, combinedOnly, sampleRate, sampleBytes,
                minSize, maxSize);
    }

    /** Options the user gave that have no effect together with others, as one warning each. */
    public List<String> warnings() {
        List<String> warnings = new ArrayList<>();
        if (combinedOnly && given.containsKey("older")) {
            warnings.add("'older' does not apply with combined-only (the per-stack counters carry no ages)");
        }
        if (combinedOnly && showAllocs) {
            warnings.add("'show-allocs' does not apply with combined-only (no per-address state is read)");
        }
        if (!symbolsPrefix.isEmpty() && obj == null) {
            warnings.add("'symbols-prefix' is meant for 'obj': libc's allocator has no prefix");
        }
        return warnings;
    }

    public int intervalSeconds() { return intervalSeconds; }
    /** 0 for unlimited. */
    public long count() { return count; }
    public int top() { return top; }
    public boolean showAllocs() { return showAllocs; }
    public long olderMillis() { return olderMillis; }
    public long minSize() { return minSize; }
    public long maxSize() { return maxSize; }
    public long sampleRate() { return sampleRate; }
    /** 0 when not sampling by bytes. */
    public long sampleBytes() { return sampleBytes; }

    /** Tracked allocations per second at most (raising sample-bytes); 0: no limit. */
    public long maxTracked() { return maxTracked; }
    /** In-process hooks (probe-mode=hooks): only sampled calls enter the kernel. */
    public boolean hooks() { return hooks; }

    /** Entry and return probes even where the kernel has uprobe sessions. */
    public boolean classicProbes() { return classicProbes; }
    public boolean combinedOnly() { return combinedOnly; }
    /** null for the libc the process maps. */
    public Path obj() { return obj; }
    public String symbolsPrefix() { return symbolsPrefix; }
    /** null for stderr. */
    public Path output() { return output; }
    /** null for no JSON file. */
    public Path json() { return json; }

    /** How far back the leak detector looks. */
    public long leakWindowSeconds() { return leakWindowSeconds; }

    /** Whether the JVM's exit takes one more report of what is still outstanding. */
    public boolean exitReport() { return exitReport; }

    /** null for no flame graph file. */
    public Path flamegraph() { return flamegraph; }
    /** null for no pprof file. */
    public Path pprof() { return pprof; }
    /** null for no JFR file. */
    public Path jfrFile() { return jfrFile; }

    /** Whether a view that draws every stack (not only the top ones) is written each report. */
    public boolean wantsAllStacks() {
        return flamegraph != null || pprof != null || jfrFile != null;
    }

    public long maxAllocs() { return maxAllocs; }
    public long maxStacks() { return maxStacks; }
    public long maxThreads() { return maxThreads; }
    /** Class name globs separated by ':', or "none" (see {@code jni-classes}). */
    public String jniClasses() { return jniClasses; }
    /** CLASS[#FIELD] separated by ':', "jdk" (the JDK's owners only) or "none" (see {@code owners}). */
    public String owners() { return owners; }
    public boolean verbose() { return verbose; }
    public boolean help() { return help; }

    private static Spec text(String value, String fallback) {
        return new Spec(value, fallback, 0, 0, -1);
    }

    /** A whole-number option, its default and its range: parsing, JMX's setters and help all read them here. */
    private static Spec numeric(String value, long fallback, long min, long max) {
        String fallbackText = fallback == 0 && min > 0 || fallback == Long.MAX_VALUE ? "unlimited"
                : value.equals("BYTES") && fallback >= 1024 && fallback % 1024 == 0 ? fallback / 1024 + "k"
                : String.valueOf(fallback);
        return new Spec(value, fallbackText, fallback, min, max);
    }

    /** {@code min..max} for whole-number options; {@code max < min} for the others. */
    private record Spec(String value, String fallback, long defaultValue, long min, long max) {}

    /** A bad option: the message is shown to the user as it is. */
    public static final class OptionException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        OptionException(String message) {
            super(message);
        }
    }
}
