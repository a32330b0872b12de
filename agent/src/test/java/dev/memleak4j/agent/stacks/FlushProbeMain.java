package dev.memleak4j.agent.stacks;

/** For {@link JvmCodeMapForkTest}: {@link JvmCodeMapTest#checkFlushedCodeMovesTheGeneration} in a fresh JVM. */
public final class FlushProbeMain {
    private FlushProbeMain() {}

    public static void main(String[] args) throws Exception {
        JvmCodeMap.start();
        System.out.println("naming " + JvmCodeMap.naming());
        JvmCodeMapTest.checkFlushedCodeMovesTheGeneration();
        System.out.println("flushed ok");
    }
}
