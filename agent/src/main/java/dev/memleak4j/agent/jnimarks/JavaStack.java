package dev.memleak4j.agent.jnimarks;

import dev.memleak4j.agent.stacks.Frame;

import java.util.List;

/**
 * The Java callers of a JNI call, captured when it returned, innermost (the wrapped method) first; frames of kind
 * {@link Frame.Kind#JAVA_CALLER}. Interned by {@link JniMarks} (one instance per distinct stack, mostly); equal when
 * their frames are.
 */
public final class JavaStack {
    private final List<Frame> frames;
    private final long hash;

    JavaStack(List<Frame> frames) {
        this.frames = List.copyOf(frames);
        long h = 1125899906842597L;
        for (Frame frame : frames) {
            h = 31 * h + frame.hashCode();
        }
        this.hash = h;
    }

    public List<Frame> frames() {
        return frames;
    }

    /** Stable for the life of the JVM: the same frames give the same value. */
    public long hash() {
        return hash;
    }

    @Override
    public boolean equals(Object other) {
        return other == this || other instanceof JavaStack that && that.hash == hash && that.frames.equals(frames);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(hash);
    }
}
