package dev.memleak4j.agent.jnimarks;

import dev.memleak4j.agent.stacks.Frame;

import java.util.ArrayList;
import java.util.List;

/** Java caller stacks for tests outside this package (JniMarks makes them in the agent). */
public final class TestJavaStacks {
    private TestJavaStacks() {}

    /** The callers {@code methods}, innermost first, as frames of kind JAVA_CALLER with line 1. */
    public static JavaStack of(String... methods) {
        List<Frame> frames = new ArrayList<>();
        for (String method : methods) {
            frames.add(Frame.java(0, Frame.Kind.JAVA_CALLER, method, 1));
        }
        return new JavaStack(frames);
    }
}
