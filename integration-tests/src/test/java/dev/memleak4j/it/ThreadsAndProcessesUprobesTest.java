package dev.memleak4j.it;

/** The same with probe-mode=uprobes (the default is the in-process hooks). */
class ThreadsAndProcessesUprobesTest extends ThreadsAndProcessesTest {
    @Override
    String extraOptions() {
        return ",probe-mode=uprobes";
    }
}
