package dev.memleak4j.it;

/**
 * The same exact results with in-process hooks (probe-mode=hooks): the import-table slots of every library, among
 * them libleaktest.so, which LeakProgram loads after the agent started (System.loadLibrary, through the dlopen hook).
 */
class AllocatorFunctionsHooksTest extends AllocatorFunctionsTest {
    @Override
    String extraOptions() {
        return ",probe-mode=hooks";
    }
}
