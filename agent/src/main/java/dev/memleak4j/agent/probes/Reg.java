package dev.memleak4j.agent.probes;

/**
 * The sixteen x86-64 general purpose registers, in hardware encoding order
 * (ordinal == the 4-bit register number used by ModRM/SIB/REX).
 *
 * <p>Callers of {@link PrologueDecoder#choose} normally pass argument registers
 * of the SysV calling convention: {@link #RDI}, {@link #RSI}, {@link #RDX},
 * {@link #RCX}, {@link #R8}, {@link #R9}.
 */
public enum Reg {
    RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
    R8, R9, R10, R11, R12, R13, R14, R15;

    private static final Reg[] BY_NUMBER = values();

    /** @param number hardware register number 0..15 */
    static Reg ofNumber(int number) {
        return BY_NUMBER[number];
    }

    /** Lower-case AT&T-style name, e.g. {@code rdi}. */
    public String asmName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
