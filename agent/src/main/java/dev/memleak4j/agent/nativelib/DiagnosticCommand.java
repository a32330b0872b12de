package dev.memleak4j.agent.nativelib;

/**
 * Runs a diagnostic command in this JVM, as {@code jcmd PID <command>} would, without the DiagnosticCommand MBean:
 * reaching that MBean creates the platform MBeanServer, which loads hundreds of JMX classes and keeps their objects for
 * the JVM's life, and every full GC then marks them (native/src/diagnostic_command_jni.c says how it is called).
 */
public final class DiagnosticCommand {
    /** {@code VM.flags}' output as first read; null until then. */
    private static String startFlags;

    private DiagnosticCommand() {}

    /**
     * {@code VM.flags}' output, read once: the flags the agent looks at (PreserveFramePointer, NativeMemoryTracking)
     * cannot change while the JVM runs, and each start asked for them twice. Throws as {@link #execute} does.
     */
    public static synchronized String startFlags() {
        if (startFlags == null) {
            startFlags = execute("VM.flags");
        }
        return startFlags;
    }

    /**
     * The command's output, e.g. for {@code "VM.flags"}; throws (IllegalStateException, LinkageError, or what the
     * command throws, such as IllegalArgumentException for an unknown one) when it cannot be run.
     */
    public static String execute(String command) {
        NativeLibraryLoader.load();
        String output = execute0(NativeLibraryLoader.jdkLibrary("libmanagement_ext.so"), command);
        return output == null ? "" : output;
    }

    /** Whether {@code -XX:+flag} is in effect: {@code VM.flags} lists the flags that differ from their defaults. */
    public static boolean flagSet(String vmFlags, String flag) {
        return listsOption(vmFlags, "-XX:+" + flag);
    }

    /** Whether {@code VM.flags}' output lists {@code option} ({@code -XX:Name=value}) as a whole word. */
    public static boolean listsOption(String vmFlags, String option) {
        for (int at = vmFlags.indexOf(option); at >= 0; at = vmFlags.indexOf(option, at + 1)) {
            int end = at + option.length();
            if ((at == 0 || Character.isWhitespace(vmFlags.charAt(at - 1)))
                    && (end == vmFlags.length() || Character.isWhitespace(vmFlags.charAt(end)))) {
                return true;
            }
        }
        return false;
    }

    private static native String execute0(String library, String command);
}
