package dev.memleak4j.it;

/**
 * The same with the in-process hooks: threads that start and exit while the hooks run, frees on another thread,
 * children of fork() (whose hooks stay in place but whose traps are not this process's) and of ProcessBuilder, exits
 * while sampled calls trap, and -Xcheck:jni.
 */
class ThreadsAndProcessesHooksTest extends ThreadsAndProcessesTest {
    @Override
    String extraOptions() {
        return ",probe-mode=hooks";
    }
}
