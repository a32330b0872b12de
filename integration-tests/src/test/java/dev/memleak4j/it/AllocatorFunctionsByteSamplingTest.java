package dev.memleak4j.it;

/**
 * Sampling by bytes never samples an allocation at least as large as the interval: with sample-bytes=900k every
 * leak of the scenario (all 966,661 bytes or more) is tracked, so the report is as exact as without sampling.
 */
class AllocatorFunctionsByteSamplingTest extends AllocatorFunctionsTest {
    @Override
    String extraOptions() {
        return ",sample-bytes=900000";
    }
}
