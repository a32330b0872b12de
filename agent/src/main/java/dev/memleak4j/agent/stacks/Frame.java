package dev.memleak4j.agent.stacks;

/**
 * One frame of a reported stack.
 *
 * @param address the instruction address (for a native frame, the return address into it); for an interpreted
 *                frame, the value the stack walk recorded: the frame's {@code Method*} tagged with
 *                {@link JavaFrameResolver#METHOD_TAG}
 * @param kind    where the code comes from
 * @param name    the function, the Java method as {@code pkg.Class.method}, or the JVM stub's name; null when unknown
 * @param module  the library file name (native), or null
 * @param offset  bytes from the start of {@code name}, or from the module start when {@code name} is null
 *                (native frames only)
 * @param line    the source line of a Java frame, or -1 when unknown
 * @param file    the source file of a Java frame ({@code Foo.java}), or null when unknown
 */
public record Frame(long address, Kind kind, String name, String module, long offset, int line, String file) {
    public enum Kind {
        NATIVE, JIT, INTERPRETED, INLINED, STUB, UNKNOWN,
        /** The JVM's compiled wrapper of a Java {@code native} method: named as the Java method. */
        NATIVE_WRAPPER,
        /**
         * A Java caller of a JNI method, captured when the call returned (jni-classes): the frame-pointer walk did not
         * reach Java (native code without frame pointers). Compiled or interpreted is not known.
         */
        JAVA_CALLER;

        /** Made once: a report prints it after every Java frame. */
        private final String label = name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');

        /** The label printed after a frame of this kind: {@code jit}, {@code interpreted}, {@code native wrapper}... */
        public String label() {
            return label;
        }
    }

    /** A frame without a source line (native code, stubs, unknown). */
    public Frame(long address, Kind kind, String name, String module, long offset) {
        this(address, kind, name, module, offset, -1, null);
    }

    /** A Java frame: {@code kind} is JIT, INLINED, INTERPRETED or NATIVE_WRAPPER. */
    public static Frame java(long address, Kind kind, String name, int line) {
        return java(address, kind, name, line, null);
    }

    public static Frame java(long address, Kind kind, String name, int line, String file) {
        return new Frame(address, kind, name, null, 0, line, file);
    }

    /** A JVM stub ({@code call_stub}, {@code Interpreter}, adapters ...). */
    public static Frame stub(long address, String name) {
        return new Frame(address, Kind.STUB, name, null, 0, -1, null);
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    /**
     * The address as reports print it, {@code 0x} and 16 hex digits. Not String.format: reports print thousands, and
     * the Formatter parses its pattern each time (regex), work the application's CPUs pay for.
     */
    public String addressText() {
        char[] text = new char[18];
        text[0] = '0';
        text[1] = 'x';
        for (int i = 0; i < 16; i++) {
            text[17 - i] = HEX[(int) (address >>> (4 * i)) & 0xf];
        }
        return new String(text);
    }

    /**
     * As the report prints a frame. Native frames as bcc's memleak does: {@code fibonacci+0x1f [libdemo.so]};
     * Java frames with their line and kind: {@code dev.memleak4j.demo.DemoApp.leakEverySecond:52 [jit]},
     * {@code ... [inlined]}, {@code ... [interpreted]}; a native method's wrapper:
     * {@code java.util.zip.Inflater.inflateBytesBytes [native wrapper]}; stubs: {@code call_stub [stub]}.
     */
    public String text() {
        // If/else rather than a switch: a switch on an enum is one more class in the application's JVM for good.
        if (namesJavaMethod()) {
            return (name != null ? name : "[unknown]") + (line > 0 ? ":" + line : "") + " [" + kind.label() + "]";
        }
        if (kind == Kind.STUB) {
            return (name != null ? name : "[unknown]") + " [stub]";
        }
        // native and unknown frames
        if (name != null && module != null) {
            return name + "+0x" + Long.toHexString(offset) + " [" + module + "]";
        }
        if (name != null) {
            return name;
        }
        if (module != null) {
            return "[unknown] [" + module + "+0x" + Long.toHexString(offset) + "]";
        }
        return "[unknown]";
    }

    public boolean named() {
        return name != null;
    }

    /** Whether the frame is named as a Java method, with its line: Java code, or a native method's wrapper. */
    public boolean namesJavaMethod() {
        return isJava() || kind == Kind.NATIVE_WRAPPER;
    }

    /** Whether this is a frame of Java code (compiled, inlined or interpreted; not a native method's wrapper). */
    public boolean isJava() {
        return kind == Kind.JIT || kind == Kind.INLINED || kind == Kind.INTERPRETED || kind == Kind.JAVA_CALLER;
    }
}
