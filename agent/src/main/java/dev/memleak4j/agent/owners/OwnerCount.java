package dev.memleak4j.agent.owners;

import java.util.ArrayList;
import java.util.List;

/**
 * The owning Java objects of one class behind a stack's outstanding blocks, at one report.
 *
 * @param className       the owner's class (its runtime class: {@code org.rocksdb.WriteBatch}, not the class named)
 * @param live            still reachable: the block is retained by live objects
 * @param unreachable     unreachable and not released: the block is leaked (the class has no Cleaner to free it)
 * @param awaitingCleaner unreachable, of a Cleaner-managed class whose Cleaner has not run yet
 */
public record OwnerCount(String className, long live, long unreachable, long awaitingCleaner) {

    /** The class name without its package. */
    public String simpleName() {
        return className.substring(className.lastIndexOf('.') + 1);
    }

    /**
     * One short line: "120 live Deflater (retained by live objects); 3 unreachable WriteBatch (leaked by unreachable
     * objects); 2 unreachable DirectByteBuffer awaiting Cleaner". Empty when no owner is known.
     */
    public static String text(List<OwnerCount> owners) {
        List<String> parts = new ArrayList<>();
        for (OwnerCount owner : owners) {
            if (owner.live > 0) {
                parts.add(owner.live + " live " + owner.simpleName() + " (retained by live objects)");
            }
            if (owner.unreachable > 0) {
                parts.add(owner.unreachable + " unreachable " + owner.simpleName() + " (leaked by unreachable objects)");
            }
            if (owner.awaitingCleaner > 0) {
                parts.add(owner.awaitingCleaner + " unreachable " + owner.simpleName() + " awaiting Cleaner");
            }
        }
        return String.join("; ", parts);
    }
}
