package dev.memleak4j.agent.jnimarks;

import net.bytebuddy.asm.Advice;

/**
 * Inlined by Byte Buddy around a JNI call: into the wrapper of a {@code native} method (native method prefix), or
 * into a JDK method that calls natives ({@code Inflater.inflate}...). The code lands in the wrapped class and calls
 * {@link JniMarkBridge}, which lives in the bootstrap loader so that every class can see it.
 */
public final class JniAdvice {
    private JniAdvice() {}

    @Advice.OnMethodEnter
    static long enter() {
        return JniMarkBridge.enter();
    }

    @Advice.OnMethodExit(onThrowable = Throwable.class)
    static void exit(@Advice.Enter long previous) {
        JniMarkBridge.exit(previous);
    }

    /** For constructors, where an exit cannot catch what the constructor throws. */
    public static final class ForConstructor {
        private ForConstructor() {}

        @Advice.OnMethodEnter
        static long enter() {
            return JniMarkBridge.enter();
        }

        @Advice.OnMethodExit
        static void exit(@Advice.Enter long previous) {
            JniMarkBridge.exit(previous);
        }
    }
}
