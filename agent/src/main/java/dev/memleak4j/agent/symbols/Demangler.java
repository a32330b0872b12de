package dev.memleak4j.agent.symbols;

/**
 * C++ names demangled with the C++ runtime's own demangler (native/src/demangle.c, exported by
 * native/src/demangler_jni.c). The native library must be loaded ({@code BpfTracker.open} loads it).
 */
public final class Demangler {
    private Demangler() {}

    /** The demangled name; the name itself when it is not a C++ name or no C++ runtime is there. */
    public static String demangle(String mangled) {
        String plain = demangle0(mangled);
        return plain != null ? plain : mangled;
    }

    private static native String demangle0(String mangled);
}
