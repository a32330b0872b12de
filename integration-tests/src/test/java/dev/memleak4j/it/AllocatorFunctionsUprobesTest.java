package dev.memleak4j.it;

/**
 * The same exact results with probe-mode=uprobes: a uprobe on each allocator function of libc (uprobe sessions where
 * the kernel has them), for code the import tables do not show.
 */
class AllocatorFunctionsUprobesTest extends AllocatorFunctionsTest {
    @Override
    String extraOptions() {
        return ",probe-mode=uprobes";
    }
}
