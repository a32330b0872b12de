package dev.memleak4j.agent.jnimarks;

/**
 * Classes defined in the bootstrap class loader from their class files (JNI {@code DefineClass} with no loader, in
 * native/src/bootstrap_classes_jni.c): the JNI mark bridge, which JDK classes such as java.util.zip.Inflater must
 * see. Unlike appending a jar to the boot class path, this keeps class data sharing on and prints no warning. The
 * native library must be loaded ({@code BpfTracker.open} loads it).
 */
final class BootstrapClasses {
    private BootstrapClasses() {}

    /**
     * Defines {@code name} ({@code pkg.Class}) from {@code classFile}; false when the JVM refused it (for instance, a
     * class of that name is there already).
     */
    static boolean define(String name, byte[] classFile) {
        return define0(name.replace('.', '/'), classFile);
    }

    private static native boolean define0(String internalName, byte[] classFile);
}
