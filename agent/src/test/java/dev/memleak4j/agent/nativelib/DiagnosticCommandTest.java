package dev.memleak4j.agent.nativelib;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading a flag from {@code VM.flags}' output as HotSpot prints it: one line of options, some on lines of their own. */
class DiagnosticCommandTest {
    private static final String FLAGS = "-XX:CICompilerCount=2 -XX:ConcGCThreads=1 -XX:+PreserveFramePointer"
            + " -XX:-UseCompressedClassPointers\n-XX:+UseG1GC -XX:+PreserveFramePointerX";

    @Test
    void aFlagIsSetOnlyWhenListedWithAPlusAsAWholeOption() {
        assertTrue(DiagnosticCommand.flagSet(FLAGS, "PreserveFramePointer"));
        assertTrue(DiagnosticCommand.flagSet(FLAGS, "UseG1GC"));
        assertTrue(DiagnosticCommand.flagSet("-XX:+UseG1GC", "UseG1GC"));
        assertFalse(DiagnosticCommand.flagSet(FLAGS, "UseCompressedClassPointers"));
        assertFalse(DiagnosticCommand.flagSet(FLAGS, "FramePointer"));
        assertFalse(DiagnosticCommand.flagSet(FLAGS, "PreserveFramePointerX2"));
        assertFalse(DiagnosticCommand.flagSet("-XX:+PreserveFramePointerX", "PreserveFramePointer"));
        assertFalse(DiagnosticCommand.flagSet("", "UseG1GC"));
    }
}
