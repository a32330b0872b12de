package dev.memleak4j.agent.stacks;

import java.util.List;

/**
 * The id of a stack as its frames read, not as its addresses: two stacks whose frames name the same code are one
 * stack in every output, and keep one id from report to report (the leak detector's history follows it).
 *
 * <p>Frames are the same when they are of the same kind and name the same code:
 * <ul>
 *   <li>Java frames: the same method at the same line. Compiled ({@code jit}) and {@code inlined} count as one
 *       kind: which callee the JIT inlines changes as it recompiles a method (C1, then C2, after a deoptimization),
 *       the call path does not; the addresses of a method's code change with each compilation too. Interpreted
 *       frames, native wrappers and {@code java caller} frames are kinds of their own;</li>
 *   <li>native frames: the same function and offset in the same file (the offset is where in the function the call
 *       is: two calls from one function are two paths);</li>
 *   <li>stubs: the same stub; unknown frames: the same address.</li>
 * </ul>
 */
public final class StackIdentity {
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private StackIdentity() {}

    /** The id of {@code frames}: a 64-bit hash of what each frame names, odd (never 0, "no stack"). */
    public static long of(List<Frame> frames) {
        long hash = FNV_OFFSET;
        for (Frame frame : frames) {
            hash = mix(hash, kindOf(frame));
            switch (frame.kind()) {
                case JIT, INLINED, INTERPRETED, NATIVE_WRAPPER, JAVA_CALLER -> {
                    hash = mix(hash, frame.name());
                    hash = mix(hash, frame.line());
                }
                case STUB -> hash = frame.name() != null ? mix(hash, frame.name()) : mix(hash, frame.address());
                case NATIVE -> {
                    hash = mix(hash, frame.module());
                    hash = mix(hash, frame.name());
                    hash = mix(hash, frame.offset());
                }
                default -> hash = mix(hash, frame.address());
            }
        }
        return hash | 1;
    }

    private static int kindOf(Frame frame) {
        return frame.kind() == Frame.Kind.INLINED ? Frame.Kind.JIT.ordinal() : frame.kind().ordinal();
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
