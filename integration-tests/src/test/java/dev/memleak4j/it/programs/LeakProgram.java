package dev.memleak4j.it.programs;

import java.util.concurrent.TimeUnit;

/**
 * The application the integration tests run under the agent. {@code LeakProgram SCENARIO SLEEP_MS [EXIT_CODE]}
 * (SLEEP_MS -1: commands from stdin, see {@link #commands()}):
 * makes the scenario's allocations, prints each block still outstanding as {@code LEAK <hex address> <size>
 * <function>}, prints {@code LEAKS DONE}, waits at most SLEEP_MS for the agent's reports (see
 * {@link AwaitTracking#reportsDone}), and exits with EXIT_CODE (default 0).
 */
public final class LeakProgram {
    private LeakProgram() {}

    public static void main(String[] args) throws Exception {
        AwaitTracking.start();
        String scenario = args[0];
        long sleepMillis = Long.parseLong(args[1]);
        int exitCode = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        switch (scenario) {
            case "all-functions":
                allFunctions();
                break;
            case "many":
                int made = LeakLib.mallocMany(10_000, 4099);
                System.out.println("MADE " + made);
                break;
            case "300k":
                // More outstanding blocks than a report's first read buffer grows to at once.
                System.out.println("MADE " + LeakLib.mallocMany(300_000, 23));
                break;
            case "100k-keep-tenth":
                // More blocks than the kernel side's preallocated table holds, 9 in 10 freed again.
                System.out.println("KEPT " + LeakLib.fragment(100_000, 23, 10));
                break;
            case "nothing":
                break;
            case "budget":
                budget();
                break;
            case "churn-and-leak":
                // 1,000 blocks of 4 KiB made and freed from one stack, 10 leaked from another.
                System.out.println("CHURNED " + LeakLib.churn(1000, 4096));
                System.out.println("MADE " + LeakLib.mallocMany(10, 4096));
                break;
            case "idle-stacks":
                idleStacks();
                break;
            case "dropped-stacks":
                droppedStacks();
                break;
            case "three-leaks":
                for (int i = 0; i < 3; i++) {
                    leak(LeakLib.viaMalloc(1_999_993), 1_999_993, "viaMalloc");
                }
                break;
            default:
                throw new IllegalArgumentException("unknown scenario " + scenario);
        }
        System.out.println("LEAKS DONE");
        System.out.flush();
        if (sleepMillis < 0) {
            commands();
        }
        AwaitTracking.reportsDone(sleepMillis);
        System.exit(exitCode);
    }

    /**
     * For max-tracked: 5 s of malloc(4096)/free churn, far more than the budget would track, with blocks of 4099
     * bytes leaked from their own stack in between. Prints how many pairs were churned and blocks leaked.
     */
    private static void budget() {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        long churned = 0;
        long leaked = 0;
        while (System.nanoTime() < end) {
            churned += LeakLib.churn(2000, 4096);
            leaked += LeakLib.mallocMany(10, 4099);
        }
        System.out.println("CHURNED " + churned);
        System.out.println("MADE " + leaked);
        // How high the churn raised the interval depends on how fast it ran (with the in-process hooks, far faster
        // than with uprobes), and it comes down one step a second: wait for it, then for reports at 8 KiB.
        try {
            javax.management.MBeanServer server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
            javax.management.ObjectName agent = new javax.management.ObjectName("memleak4j:type=NativeMemory");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while ((Long) server.getAttribute(agent, "SampleBytesNow") != 8192 && System.nanoTime() < deadline) {
                TimeUnit.MILLISECONDS.sleep(100);
            }
        } catch (javax.management.JMException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The block size of the idle-stacks scenario: no JVM allocation has it. */
    public static final long IDLE_STACKS_SIZE = 777_773;

    /**
     * For forgetting idle stacks: a block from depth 1 (mallocAtDepth) kept; then 8 rounds of 12 blocks, each from a
     * stack of its own (depths 2 to 97) and freed at once, each round followed by two reports; then 3 blocks from
     * depth 98, kept. 98 stacks in all.
     */
    private static void idleStacks() throws Exception {
        leak(LeakLib.mallocAtDepth(1, IDLE_STACKS_SIZE), IDLE_STACKS_SIZE, "mallocAtDepth");
        for (int round = 0; round < 8; round++) {
            for (int depth = 2 + 12 * round; depth < 14 + 12 * round; depth++) {
                LeakLib.release(LeakLib.mallocAtDepth(depth, IDLE_STACKS_SIZE));
            }
            if (!AwaitTracking.reportReadAfterNow(15_000)) {
                throw new IllegalStateException("no report read round " + round + " in 15 s");
            }
        }
        for (int i = 0; i < 3; i++) {
            leak(LeakLib.mallocAtDepth(98, IDLE_STACKS_SIZE), IDLE_STACKS_SIZE, "mallocAtDepth");
        }
    }

    /**
     * For stacks stored for allocations that were not tracked (run with max-allocs=1): a block from depth 1 kept,
     * filling the agent's table; then 4 rounds of 24 blocks, each from a stack of its own (depths 2 to 97) and freed
     * at once, each round followed by a report; then the kept block freed and 3 from depth 98 kept, of which the
     * agent tracks the first. 98 stacks in all, the 96 of the rounds stored for blocks the agent could not track.
     */
    private static void droppedStacks() throws Exception {
        long kept = LeakLib.mallocAtDepth(1, IDLE_STACKS_SIZE);
        for (int round = 0; round < 4; round++) {
            for (int depth = 2 + 24 * round; depth < 26 + 24 * round; depth++) {
                LeakLib.release(LeakLib.mallocAtDepth(depth, IDLE_STACKS_SIZE));
            }
            if (!AwaitTracking.reportReadAfterNow(15_000)) {
                throw new IllegalStateException("no report read round " + round + " in 15 s");
            }
        }
        LeakLib.release(kept);
        for (int i = 0; i < 3; i++) {
            leak(LeakLib.mallocAtDepth(98, IDLE_STACKS_SIZE), IDLE_STACKS_SIZE, "mallocAtDepth");
        }
    }

    /**
     * Every allocator function leaks a size no JVM allocation has; some blocks are freed, reallocated or fail.
     * AllocatorFunctionsIT holds the expected outstanding bytes and counts per function.
     */
    private static void allFunctions() {
        for (int i = 0; i < 5; i++) {
            long block = leak(LeakLib.viaMalloc(1_999_993), 1_999_993, "viaMalloc");
            if (i >= 3) {
                LeakLib.release(block); // 3 of 5 stay
                forget(block);
            }
        }
        for (int i = 0; i < 3; i++) {
            long block = leak(LeakLib.viaCalloc(3, 333_331), 999_993, "viaCalloc");
            if (i == 2) {
                LeakLib.release(block);
                forget(block);
            }
        }
        // realloc growing and shrinking: the malloc-ed blocks (large enough for the tests' min-size) are gone, the
        // realloc-ed ones stay.
        for (int i = 0; i < 2; i++) {
            leak(LeakLib.viaRealloc(LeakLib.viaMalloc(950_001), 1_777_771), 1_777_771, "viaRealloc");
        }
        leak(LeakLib.viaRealloc(LeakLib.viaMalloc(1_900_001), 1_555_553), 1_555_553, "viaRealloc");
        // realloc(NULL, n) is a malloc.
        leak(LeakLib.viaRealloc(0, 1_444_447), 1_444_447, "viaRealloc");
        // realloc(p, 0) frees p and returns NULL.
        long zeroed = LeakLib.viaRealloc(LeakLib.viaMalloc(1_333_331), 0);
        if (zeroed != 0) {
            throw new IllegalStateException("glibc's realloc(p, 0) should return NULL");
        }
        // A failing realloc leaves the old block outstanding, from malloc.
        long kept = leak(LeakLib.viaMalloc(1_222_223), 1_222_223, "viaMalloc");
        if (LeakLib.viaRealloc(kept, 1L << 62) != 0) {
            throw new IllegalStateException("realloc of 2^62 bytes should fail");
        }
        // A failing malloc is never counted.
        if (LeakLib.viaMalloc(Long.MAX_VALUE) != 0) {
            throw new IllegalStateException("malloc of 2^63 bytes should fail");
        }
        leak(LeakLib.viaReallocarray(0, 3, 411_113), 1_233_339, "viaReallocarray");
        leak(LeakLib.viaPosixMemalign(64, 1_122_227), 1_122_227, "viaPosixMemalign");
        leak(LeakLib.viaAlignedAlloc(4096, 1_011_712), 1_011_712, "viaAlignedAlloc");
        leak(LeakLib.viaMemalign(64, 988_883), 988_883, "viaMemalign");
        leak(LeakLib.viaValloc(977_777), 977_777, "viaValloc");
        leak(LeakLib.viaPvalloc(966_661), 966_661, "viaPvalloc");
    }

    /**
     * SLEEP_MS -1: the test drives the program through stdin: {@code many} makes 10,000 leaks of 4099 bytes from one
     * stack (prints {@code MADE n}); {@code builder CLASS} sets the MBeanServer builder property, then does
     * {@code servers}; {@code servers} prints the MBeanServers that exist and the builder property
     * ({@link #servers()}); {@code platform-mbean FRAME} makes the platform MBeanServer and prints what the agent's
     * MBean in it says of the stack whose top native frame starts with FRAME ({@link #platformMBean}), then
     * {@code servers}; {@code exit} (or the end of stdin) ends it.
     */
    private static void commands() {
        java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in,
                java.nio.charset.StandardCharsets.UTF_8));
        try {
            for (String line = in.readLine(); line != null && !line.equals("exit"); line = in.readLine()) {
                if (line.equals("many")) {
                    System.out.println("MADE " + LeakLib.mallocMany(10_000, 4099));
                } else if (line.startsWith("builder ")) {
                    System.setProperty("javax.management.builder.initial", line.substring("builder ".length()));
                    System.out.println(servers());
                } else if (line.equals("servers")) {
                    System.out.println(servers());
                } else if (line.startsWith("platform-mbean ")) {
                    System.out.println(platformMBean(line.substring("platform-mbean ".length())));
                    System.out.println(servers());
                } else {
                    System.out.println("UNKNOWN " + line);
                }
                System.out.flush();
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** {@code SERVERS n BUILDER property}: MBeanServers made so far (the platform one among them once it is made). */
    private static String servers() {
        return "SERVERS " + javax.management.MBeanServerFactory.findMBeanServer(null).size() + " BUILDER "
                + System.getProperty("javax.management.builder.initial");
    }

    /**
     * {@code MBEAN status bytes allocations OWN registered}: the agent's MBean, read in the platform MBeanServer
     * this makes, once its TopStacks holds the stack from {@code frame} (at most 15 s); OWN: whether it is in a
     * server of the application's own too (it must not be).
     */
    private static String platformMBean(String frame) {
        try {
            javax.management.MBeanServer server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
            javax.management.ObjectName agent = new javax.management.ObjectName("memleak4j:type=NativeMemory");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            do {
                // Registered after the next report where the application's own builder made the server.
                Object[] stacks = server.isRegistered(agent) ? (Object[]) server.getAttribute(agent, "TopStacks")
                        : new Object[0];
                for (Object stack : stacks) {
                    javax.management.openmbean.CompositeData data = (javax.management.openmbean.CompositeData) stack;
                    if (String.valueOf(data.get("topNativeFrame")).startsWith(frame)) {
                        return "MBEAN " + server.getAttribute(agent, "Status") + " " + data.get("bytes") + " "
                                + data.get("allocations") + " OWN "
                                + javax.management.MBeanServerFactory.newMBeanServer().isRegistered(agent);
                    }
                }
                TimeUnit.MILLISECONDS.sleep(200);
            } while (System.nanoTime() < deadline);
            return "MBEAN no stack from " + frame;
        } catch (javax.management.JMException | InterruptedException e) {
            return "MBEAN " + e;
        }
    }

    private static long leak(long block, long size, String function) {
        if (block == 0) {
            throw new IllegalStateException(function + "(" + size + ") failed");
        }
        System.out.println("LEAK " + Long.toHexString(block) + " " + size + " " + function);
        return block;
    }

    private static void forget(long block) {
        System.out.println("FREED " + Long.toHexString(block));
    }
}
