package dev.memleak4j.agent.probes;

/**
 * Whether code bytes end with a call instruction: a return address that a call pushed has one right before it.
 * The stack pipeline asks this of the words a frame-pointer walk took for return addresses; a word that garbage put
 * there (a walk through code that uses {@code rbp} as a general register) rarely does.
 *
 * <p>Only the forms a call takes are decoded here, as {@link InstructionDecoder} decodes them, not through it: the
 * reports ask this in the hooks mode too, where nothing else needs the general decoder, and each class loaded stays
 * in the application's JVM for good, at a price every full GC pays (docs/benchmarks.md, "GC CPU per full GC").
 * {@code CallInstructionsTest} holds the two to the same answer at every position of libc's and libjvm's code.
 */
public final class CallInstructions {
    /**
     * Bytes to read before an address for {@link #endsWithCall}: the longest instruction. A constant, which the
     * compiler copies here: reading it does not load the decoder.
     */
    public static final int MAX_LENGTH = InstructionDecoder.MAX_LENGTH;

    private CallInstructions() {}

    /**
     * Whether the last bytes of {@code code} are a whole {@code call} (direct {@code e8 rel32} or indirect
     * {@code ff /2}, with any prefixes): some instruction that starts {@code n} bytes before the end decodes as a
     * call exactly {@code n} bytes long.
     */
    public static boolean endsWithCall(byte[] code) {
        for (int length = 2; length <= Math.min(MAX_LENGTH, code.length); length++) {
            if (callLength(code, code.length - length) == length) {
                return true;
            }
        }
        return false;
    }

    /**
     * The length of the call instruction at {@code start}, or -1 when the bytes there are not one, or not one the
     * general decoder is sure of (it refuses a legacy prefix after REX, two REX bytes, and a 66 prefix on
     * {@code e8} without REX.W, whose displacement size differs between vendors).
     */
    static int callLength(byte[] code, int start) {
        int limit = Math.min(code.length, start + MAX_LENGTH);
        int pos = start;
        boolean operandSize16 = false;
        int rex = 0;
        while (true) {
            if (pos >= limit) {
                return -1;
            }
            int b = code[pos] & 0xff;
            if (isLegacyPrefix(b)) {
                if (rex != 0) {
                    return -1;
                }
                operandSize16 |= b == 0x66;
            } else if ((b & 0xf0) == 0x40) {
                if (rex != 0) {
                    return -1;
                }
                rex = b;
            } else {
                break;
            }
            pos++;
            if (pos - start >= MAX_LENGTH) {
                return -1;
            }
        }
        int opcode = code[pos++] & 0xff;
        if (opcode == 0xe8) {
            if (operandSize16 && (rex & 0x08) == 0) {
                return -1;
            }
            pos += 4; // rel32
        } else if (opcode == 0xff) {
            if (pos >= limit) {
                return -1;
            }
            int modrm = code[pos++] & 0xff;
            if (((modrm >>> 3) & 7) != 2) {
                return -1; // ff /2 is the near indirect call; the other forms are not calls
            }
            pos = afterMemoryOperand(code, pos, limit, modrm);
            if (pos < 0) {
                return -1;
            }
        } else {
            return -1;
        }
        return pos <= limit ? pos - start : -1;
    }

    private static boolean isLegacyPrefix(int b) {
        return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3
                || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65;
    }

    /**
     * Where the operand of {@code modrm} ends (its SIB byte and displacement), {@code pos} being right after it; -1
     * when the SIB byte lies at or past {@code limit} (the displacement's end may: callers check it). The general
     * decoder sizes its ModRM operands with this too: here, so that asking for a call does not load the decoder.
     */
    static int afterMemoryOperand(byte[] code, int pos, int limit, int modrm) {
        int mod = modrm >>> 6;
        int rm = modrm & 7;
        if (mod == 3) {
            return pos; // a register
        }
        if (rm == 4) {
            if (pos >= limit) {
                return -1;
            }
            int sib = code[pos++] & 0xff;
            if (mod == 0 && (sib & 7) == 5) {
                pos += 4; // no base: disp32
            }
        } else if (mod == 0 && rm == 5) {
            pos += 4; // rip-relative disp32
        }
        if (mod == 1) {
            pos += 1;
        } else if (mod == 2) {
            pos += 4;
        }
        return pos;
    }
}
