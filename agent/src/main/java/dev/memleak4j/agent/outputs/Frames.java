package dev.memleak4j.agent.outputs;

import dev.memleak4j.agent.stacks.Frame;

import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Locale;

/** What the JFR events, the MBean and the JSON document show of a stack's frames. */
public final class Frames {
    private static final Method FILE = component("file");
    private static final Method LINE = component("line");

    private Frames() {}

    /** Java code: JIT-compiled, inlined or interpreted (by kind name, so new kinds of Java frame count too). */
    public static boolean isJava(Frame frame) {
        String kind = frame.kind().name();
        return kind.equals("JIT") || kind.equals("INLINED") || kind.equals("INTERPRETED") || kind.contains("JAVA");
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
        Object value = read(FILE, frame);
        return value instanceof String ? (String) value : null;
    }

    /** The source line, or -1 when unknown. */
    public static int line(Frame frame) {
        Object value = read(LINE, frame);
        return value instanceof Number && ((Number) value).intValue() > 0 ? ((Number) value).intValue() : -1;
    }

    // Frame grows with the merged-stacks work (line, maybe file): read those when they are there.
    private static Method component(String name) {
        for (RecordComponent component : Frame.class.getRecordComponents()) {
            if (component.getName().equals(name)) {
                return component.getAccessor();
            }
        }
        return null;
    }

    private static Object read(Method accessor, Frame frame) {
        if (accessor == null) {
            return null;
        }
        try {
            return accessor.invoke(frame);
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }
}
