package dev.memleak4j.it;

/** The same exact results with classic entry and return probes, as on kernels without uprobe sessions. */
class AllocatorFunctionsClassicProbesTest extends AllocatorFunctionsTest {
    @Override
    String extraOptions() {
        return ",probe-mode=classic";
    }
}
