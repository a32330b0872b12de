package dev.memleak4j.agent.views;

import dev.memleak4j.agent.stacks.Frame;

/**
 * How the flame graph, the pprof profile and the JFR file name a frame and sort it by where its code comes from. One
 * function is one name whatever instruction in it was executing (no offset), so that a function's allocations add up.
 */
public final class FrameLabels {
    /** What a frame's code is, as the pictures colour it. */
    public enum Category {
        /** Code of a shared library or the executable, except libjvm. */
        NATIVE("native"),
        /** HotSpot itself: libjvm and its generated stubs (interpreter, call stub, adapters). */
        JVM("jvm"),
        JIT("jit"),
        INLINED("inlined"),
        INTERPRETED("interpreted"),
        /** A Java caller of a JNI method whose compilation state is not known. */
        JAVA("java"),
        UNKNOWN("unknown");

        private final String label;

        Category(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    private FrameLabels() {}

    public static Category category(Frame frame) {
        switch (frame.kind()) {
            case JIT:
            case NATIVE_WRAPPER:
                return Category.JIT;
            case INLINED:
                return Category.INLINED;
            case INTERPRETED:
                return Category.INTERPRETED;
            case JAVA_CALLER:
                return Category.JAVA;
            case STUB:
                return Category.JVM;
            case NATIVE:
                return isJvmLibrary(frame.module()) ? Category.JVM : Category.NATIVE;
            default:
                return Category.UNKNOWN;
        }
    }

    /**
     * The function: {@code pkg.Class.method} for Java, the symbol for native code, the stub's name; a native frame
     * without a symbol is {@code [libfoo.so+0x1234]}, one without a library {@code [unknown]}.
     */
    public static String function(Frame frame) {
        if (frame.name() != null) {
            return frame.name();
        }
        if (frame.kind() == Frame.Kind.NATIVE && frame.module() != null) {
            return "[" + frame.module() + "+0x" + Long.toHexString(frame.offset()) + "]";
        }
        return "[unknown]";
    }

    private static boolean isJvmLibrary(String module) {
        return module != null && (module.equals("libjvm.so") || module.endsWith("/libjvm.so"));
    }
}
