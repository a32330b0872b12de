package dev.memleak4j.agent.outputs;

import dev.memleak4j.agent.stacks.Frame;

import java.util.List;
import java.util.Locale;

/** What the JFR events, the MBean and the JSON document show of a stack's frames. */
public final class Frames {
    private Frames() {}

    /** Java code: JIT-compiled, inlined, interpreted, or a JNI method's Java caller ({@link Frame#isJava}). */
    public static boolean isJava(Frame frame) {
        return frame.isJava();
    }

    public static boolean isNative(Frame frame) {
        return frame.kind() == Frame.Kind.NATIVE;
    }

    /** The Java method nearest to the allocator, as the report prints it; null when the stack has none. */
    public static String topJava(List<Frame> frames) {
        for (Frame frame : frames) {
            if (isJava(frame)) {
                return frame.text();
            }
        }
        return null;
    }

    /**
     * The native frame nearest to the allocator as {@code function [library]}, without the offset so that events from
     * one function group together; null when the stack has none.
     */
    public static String topNative(List<Frame> frames) {
        for (Frame frame : frames) {
            if (isNative(frame)) {
                return frame.name() != null && frame.module() != null ? frame.name() + " [" + frame.module() + "]"
                        : frame.text();
            }
        }
        return null;
    }

    /** The stack as text, one frame a line, as the text report prints the frames. */
    public static String text(List<Frame> frames) {
        StringBuilder out = new StringBuilder(frames.size() * 64);
        for (Frame frame : frames) {
            if (out.length() > 0) {
                out.append('\n');
            }
            out.append(frame.addressText()).append(' ').append(frame.text());
        }
        return out.toString();
    }

    public static String kind(Frame frame) {
        return frame.kind().name().toLowerCase(Locale.ROOT);
    }

    /** The source file, when the frame carries one. */
    public static String file(Frame frame) {
        return frame.file();
    }

    /** The source line, or -1 when unknown. */
    public static int line(Frame frame) {
        return frame.line() > 0 ? frame.line() : -1;
    }
}
