package dev.memleak4j.agent.probes;

/**
 * Whether code bytes end with a call instruction: a return address that a call pushed has one right before it.
 * The stack pipeline asks this of the words a frame-pointer walk took for return addresses; a word that garbage put
 * there (a walk through code that uses {@code rbp} as a general register) rarely does.
 */
public final class CallInstructions {
    /** Bytes to read before an address for {@link #endsWithCall}: the longest instruction. */
    public static final int MAX_LENGTH = InstructionDecoder.MAX_LENGTH;

    private CallInstructions() {}

    /**
     * Whether the last bytes of {@code code} are a whole {@code call} (direct {@code e8 rel32} or indirect
     * {@code ff /2}, with any prefixes): some instruction that starts {@code n} bytes before the end decodes as a
     * call exactly {@code n} bytes long.
     */
    public static boolean endsWithCall(byte[] code) {
        for (int length = 2; length <= Math.min(MAX_LENGTH, code.length); length++) {
            Instruction instruction = InstructionDecoder.decode(code, code.length - length);
            if (instruction != null && instruction.length() == length && instruction.mnemonic().startsWith("call")) {
                return true;
            }
        }
        return false;
    }
}
