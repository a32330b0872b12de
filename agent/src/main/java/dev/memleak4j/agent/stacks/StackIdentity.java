package dev.memleak4j.agent.stacks;

import java.util.List;

/**
 * The id of a stack as its frames read, not as its addresses: two stacks whose frames name the same code are one
 * stack in every output, and keep one id from report to report (the leak detector's history follows it).
 *
 * <p>Frames are the same when they are of the same kind and name the same code:
 * <ul>
 *   <li>Java frames: the same method at the same line, however the JVM runs it. Interpreted, compiled
 *       ({@code jit}), {@code inlined}, a native method's wrapper or its interpreter entry, and {@code java caller}
 *       frames are one kind: a method moves from the interpreter to C1, then C2 (and back after a deoptimization),
 *       the JIT inlines other callees as it recompiles, the addresses change each time; the call path does not;</li>
 *   <li>native frames: the same function and offset in the same file (the offset is where in the function the call
 *       is: two calls from one function are two paths);</li>
 *   <li>stubs: the same stub; unknown frames: the same address.</li>
 * </ul>
 * Frames below a stack's last Java frame (the call stub, {@code JavaCalls}, the launcher's thread entry) are left
 * out of the id: they say which thread started the Java code, not where the allocation came from, and a walk that
 * stops at the outermost Java frame must not make the same call path another stack.
 */
public final class StackIdentity {
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private StackIdentity() {}

    /** The id of {@code frames}: a 64-bit hash of what each frame names, odd (never 0, "no stack"). */
    public static long of(List<Frame> frames) {
        int end = frames.size();
        for (int i = frames.size() - 1; i >= 0; i--) {
            if (frames.get(i).namesJavaMethod()) {
                end = i + 1;
                break;
            }
        }
        long hash = FNV_OFFSET;
        for (Frame frame : frames.subList(0, end)) {
            hash = mix(hash, kindOf(frame));
            // If/else rather than a switch: a switch on an enum is one more class in the application's JVM for good.
            Frame.Kind kind = frame.kind();
            if (frame.namesJavaMethod()) {
                hash = mix(hash, frame.name());
                hash = mix(hash, frame.line());
            } else if (kind == Frame.Kind.STUB) {
                hash = frame.name() != null ? mix(hash, frame.name()) : mix(hash, frame.address());
            } else if (kind == Frame.Kind.NATIVE) {
                hash = mix(hash, frame.module());
                hash = mix(hash, frame.name());
                hash = mix(hash, frame.offset());
            } else {
                hash = mix(hash, frame.address());
            }
        }
        return hash | 1;
    }

    private static int kindOf(Frame frame) {
        return frame.namesJavaMethod() ? Frame.Kind.JIT.ordinal() : frame.kind().ordinal();
    }

    private static long mix(long hash, long value) {
        for (int i = 0; i < 8; i++) {
            hash ^= (value >>> (8 * i)) & 0xff;
            hash *= FNV_PRIME;
        }
        return hash;
    }

    /** A string's characters and then its length (so that "ab"+"c" and "a"+"bc" differ); null as -1. */
    private static long mix(long hash, String text) {
        if (text == null) {
            return mix(hash, -1L);
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            hash ^= c & 0xff;
            hash *= FNV_PRIME;
            hash ^= c >>> 8;
            hash *= FNV_PRIME;
        }
        return mix(hash, (long) text.length());
    }
}
