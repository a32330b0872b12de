package dev.memleak4j.agent.probes;

import java.util.ArrayList;
import java.util.List;

/**
 * One decoded x86-64 instruction, as far as {@link PrologueDecoder} needs to know it.
 *
 * @param offset       offset of the first byte (prefixes included) in the decoded buffer
 * @param length       total length in bytes (prefixes, opcode, ModRM, SIB, displacement, immediate)
 * @param kind         what the instruction means for probe placement
 * @param mnemonic     a short human-readable name, for log messages only
 * @param hex          the instruction's bytes as space-separated hex, for log messages only
 * @param regWrites    bit mask (bit n = {@link Reg#ofNumber(int) register n}) of general purpose
 *                     registers the instruction may write, including partial writes. Only
 *                     meaningful for {@link Kind#PLAIN}. A write to {@code rsp} that is not a
 *                     tracked {@code add/sub $imm,%rsp} shows up here as the RSP bit.
 * @param writesMemory the instruction may store to memory ({@link Kind#PLAIN} only)
 * @param stackGrowth  for {@code sub $imm,%rsp} +imm, for {@code add $imm,%rsp} -imm, else 0
 */
record Instruction(int offset, int length, Kind kind, String mnemonic, String hex,
                   int regWrites, boolean writesMemory, int stackGrowth) {

    /** Classification of an instruction for probe placement. */
    enum Kind {
        /** {@code push %reg} in a form the kernel emulates (50..57, 41 50..57). */
        EMULATED_PUSH,
        /** {@code jmp rel8/rel32}, {@code jcc rel8/rel32}, {@code call rel32}, no prefixes. */
        EMULATED_BRANCH,
        /** One of the kernel's x86_nops[1..8] byte patterns (see {@link PrologueDecoder}). */
        EMULATED_NOP,
        /** Any other control transfer or trap: ret, indirect/prefixed branches, syscall, int3... */
        CONTROL,
        /** Straight-line instruction whose register/memory/rsp effects are fully modelled. */
        PLAIN,
        /** Length is known but effects are not modelled: scanning must stop here. */
        OPAQUE
    }

    boolean emulated() {
        return kind == Kind.EMULATED_PUSH || kind == Kind.EMULATED_BRANCH || kind == Kind.EMULATED_NOP;
    }

    /** Registers in {@link #regWrites}, in hardware order. */
    List<Reg> writtenRegs() {
        List<Reg> out = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            if ((regWrites & (1 << i)) != 0) {
                out.add(Reg.ofNumber(i));
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "+" + offset + " [" + hex + "] " + mnemonic + " (" + kind + ")";
    }
}
