package dev.memleak4j.agent.owners;

import net.bytebuddy.asm.Advice;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Inlined by Byte Buddy at the end of the owners' constructors; the code lands in the owner's class and calls
 * {@link OwnerBridge} (bootstrap loader). Exit advice only: when the constructor ends, the object holds its block.
 */
public final class OwnerAdvice {
    private OwnerAdvice() {}

    /**
     * {@code DirectByteBuffer(int)}, what {@code ByteBuffer.allocateDirect} calls: {@code Buffer.address} is the block
     * {@code Unsafe.allocateMemory} returned (malloc's pointer; rounded up only with -XX:+PageAlignDirectMemory).
     * Slices, duplicates and buffers over memory they do not own come from other constructors and are left out.
     */
    public static final class ForDirectBuffer {
        private ForDirectBuffer() {}

        @Advice.OnMethodExit
        static void exit(@Advice.This Object buffer, @Advice.FieldValue("address") long address) {
            OwnerBridge.created(buffer, address);
        }
    }

    /**
     * {@code Inflater.InflaterZStreamRef(Inflater, long)} and {@code Deflater.DeflaterZStreamRef(Deflater, long)}
     * (the same in JDK 17 and 25): the long is the z_stream that the JDK's native {@code init} calloc'ed; the owner is
     * the Inflater or Deflater, whose Cleaner frees it.
     */
    public static final class ForZStream {
        private ForZStream() {}

        @Advice.OnMethodExit
        static void exit(@Advice.Argument(0) Object owner, @Advice.Argument(1) long address) {
            OwnerBridge.created(owner, address);
        }
    }

    /** A class named in {@code owners}: its native-handle field ({@link Handle}, bound by the weaver). */
    public static final class ForHandle {
        private ForHandle() {}

        @Advice.OnMethodExit
        static void exit(@Advice.This Object owner, @Handle long address) {
            OwnerBridge.created(owner, address);
        }
    }

    /** The owner's native-handle field, bound to the field the user named. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.PARAMETER)
    public @interface Handle {}
}
