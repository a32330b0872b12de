package dev.memleak4j.bench;

import java.util.List;

/** One configuration as a column of the tables; memleak4j's columns carry the agent options they run with. */
final class Column {
    /** What a child JVM runs with. */
    enum Config { BASELINE, EMPTY_AGENT, MEMLEAK4J, ASYNC_PROFILER, COUNT }

    static final Column BASELINE = new Column(Config.BASELINE, "baseline", "no tool", null);
    /** The bench jar as a Java agent that does nothing ({@link EmptyAgent}): what any -javaagent costs. */
    static final Column EMPTY_AGENT = new Column(Config.EMPTY_AGENT, "empty-agent", "a do-nothing -javaagent",
            null);
    static final Column ASYNC_PROFILER = new Column(Config.ASYNC_PROFILER, "async-profiler",
            "async-profiler nativemem", null);
    static final Column COUNT = new Column(Config.COUNT, "count", "allocator-call counter (LD_PRELOAD)", null);
    /** The ids of the --variant columns start so. */
    static final String VARIANT_PREFIX = "memleak4j-v";

    final Config config;
    /** In log file names. */
    final String id;
    final String label;
    /** memleak4j's options, the probe mode included; null for the other configurations. */
    final String agentOptions;

    Column(Config config, String id, String label, String agentOptions) {
        this.config = config;
        this.id = id;
        this.label = label;
        this.agentOptions = agentOptions;
    }

    static Column memleak4j(String id, String label, String agentOptions) {
        return new Column(Config.MEMLEAK4J, id, label, agentOptions);
    }

    /**
     * The column the targets are judged on ({@link Targets}): memleak4j in its default probe mode, hooks, and not
     * a --variant.
     */
    boolean judged() {
        return config == Config.MEMLEAK4J && !id.startsWith(VARIANT_PREFIX)
                && agentOptions.contains("probe-mode=hooks");
    }

    /** memleak4j with uprobes: every allocator call traps (else, with hooks, only the sampled ones). */
    boolean trapsEveryCall() {
        return agentOptions != null && (agentOptions.contains("probe-mode=uprobes")
                || agentOptions.contains("probe-mode=classic"));
    }

    /**
     * memleak4j's columns for {@code agentOptions}: one per probe mode, or the one mode the options name (labelled
     * {@code singleLabel}). The workloads' tables and the agent-memory row (the hooks' set of sampled addresses is
     * memory the uprobes do not need) both run them.
     */
    static List<Column> memleak4jColumns(String agentOptions, String singleLabel) {
        if (agentOptions.contains("probe-mode=")) {
            return List.of(memleak4j("memleak4j", singleLabel, agentOptions));
        }
        String uprobes = withProbeMode(agentOptions, "uprobes");
        String hooks = withProbeMode(agentOptions, "hooks");
        return List.of(memleak4j("memleak4j", "memleak4j probe-mode=uprobes", uprobes),
                memleak4j("memleak4j-hooks", "memleak4j probe-mode=hooks", hooks));
    }

    /** The agent's options with this probe mode, unless they name one themselves. */
    private static String withProbeMode(String agentOptions, String mode) {
        if (agentOptions.contains("probe-mode=")) {
            return agentOptions;
        }
        return agentOptions.isEmpty() ? "probe-mode=" + mode : agentOptions + ",probe-mode=" + mode;
    }
}
