package dev.memleak4j.it;

/** Hooks with sample-bytes=0: every call is sampled, so every call traps, and the report is exact as ever. */
class AllocatorFunctionsHooksEveryCallTest extends AllocatorFunctionsTest {
    @Override
    String extraOptions() {
        return ",probe-mode=hooks,sample-bytes=0";
    }
}
