package dev.memleak4j.agent.probes;

import java.util.Set;

/**
 * Picks where in a function the entry uprobe goes, so that the kernel can <em>emulate</em> the
 * probed instruction instead of single-stepping it out of line.
 *
 * <h2>Why</h2>
 * When a uprobe fires on x86-64, the kernel has to execute the original instruction. A few
 * instruction forms are emulated in the kernel (cheap); every other instruction is copied to the
 * XOL page and single-stepped with TF set (an extra trap, several times the cost of the first;
 * figures in docs/benchmarks.md, "Figures behind design choices").
 * glibc 2.36's {@code free} starts with {@code test %rdi,%rdi} (single-stepped) followed by
 * {@code je} (emulated), so probing at offset 3 instead of 0 saves that second trap on every call.
 *
 * <h2>What the kernel emulates (arch/x86/kernel/uprobes.c)</h2>
 * Checked against the current mainline source ({@code branch_setup_xol_ops},
 * {@code push_setup_xol_ops}, {@code insn_is_nop}) and the patches that introduced them.
 * <ul>
 *   <li>{@code jmp rel8} (eb), {@code jmp rel32} (e9), {@code call rel32} (e8), {@code jcc rel8}
 *       (70..7f) and {@code jcc rel32} (0f 80..8f): {@code branch_setup_xol_ops}, added in
 *       2014 by Oleg Nesterov's "uprobes/x86: Emulate ..." series (Linux 3.15; the near-jcc form
 *       about one release later, 3.16 - version numbers from memory, not re-verified). A 0x66
 *       prefix makes the kernel refuse; we only call branches without any prefix emulated.</li>
 *   <li>{@code nop}: 0x90 with any prefixes since the same 2014 series. Since Linux 6.16
 *       (Jiri Olsa, "uprobes/x86: Add support to emulate NOP instructions", April 2025) also
 *       the kernel's own {@code x86_nops[1..8]} byte patterns: 90, 66 90, 0f 1f 00,
 *       0f 1f 40 00, 0f 1f 44 00 00, 66 0f 1f 44 00 00, 0f 1f 80 00000000,
 *       0f 1f 84 00 00000000. Linux 6.19 replaces that match by {@code insn_is_nop()} (Peter
 *       Zijlstra, "x86/insn,uprobes,alternative: Unify insn_is_nop()", Oct 2025), which accepts
 *       all eight too but no longer {@code pause} (f3 90). We call a nop emulated only if it is
 *       one of these eight exact patterns, which holds on 6.16 and later.</li>
 *   <li>{@code push %reg} (50..57, and 41 50..57 exactly): {@code push_setup_xol_ops}, Linux
 *       4.17 (Yonghong Song, "uprobes/x86: Emulate push insns for uprobe on x86", commit
 *       e7ed9d9bd037, 2018).</li>
 * </ul>
 * The kernel refuses to probe instructions with a 26/2e/36/3e/f0 prefix at all; none of the
 * instructions chosen here carries one.
 *
 * <p>Not emulated (single-stepped): everything else, including {@code endbr64}, {@code ret},
 * {@code mov}, {@code test}, {@code cmp}, {@code sub $imm,%rsp}. On kernels older than the
 * versions above, the placement chosen here is still correct, just not faster.
 *
 * <h2>Rules</h2>
 * Starting at offset 0, instructions are decoded one by one. The probe goes on the first
 * emulated instruction, provided every instruction before it
 * <ol>
 *   <li>is straight-line (no branch, call, ret, trap),</li>
 *   <li>has fully modelled effects ({@link InstructionDecoder} knows its length and its register
 *       writes),</li>
 *   <li>writes none of the registers the probe reads (partial writes count), and no memory,</li>
 *   <li>changes {@code rsp} only by {@code sub/add $imm,%rsp} (tracked into
 *       {@link ProbePlacement#spAdjust()}; pushes are emulated, so never skipped).</li>
 * </ol>
 * The emulated instruction must start within the first {@value #MAX_SCAN} bytes. Otherwise the
 * probe falls back to offset 0 with a reason.
 *
 * <p>Not checked here (caller's responsibility / known limitation): a branch elsewhere in the
 * function that jumps into {@code (0, offset]} would make the probe fire without a fresh call.
 * Compiled prologues practically never do this; the libc test checks it with objdump for the
 * real allocator functions.
 */
public final class PrologueDecoder {

    /** The probed instruction must start before this many bytes into the function. */
    public static final int MAX_SCAN = 64;

    /** How many bytes of the function {@link #choose} wants to see (at most). */
    public static final int BYTES_NEEDED = MAX_SCAN + InstructionDecoder.MAX_LENGTH;

    private PrologueDecoder() {
    }

    /**
     * @param code    the function's first bytes (up to {@link #BYTES_NEEDED}; fewer is fine, the
     *                scan stops where the bytes end)
     * @param argRegs registers the probe reads (e.g. {@code EnumSet.of(Reg.RDI)} for free)
     * @return where to put the probe; never null
     */
    public static ProbePlacement choose(byte[] code, Set<Reg> argRegs) {
        int argMask = 0;
        for (Reg r : argRegs) {
            argMask |= 1 << r.ordinal();
        }
        int offset = 0;
        int sp = 0;
        while (offset < MAX_SCAN) {
            Instruction insn = InstructionDecoder.decode(code, offset);
            if (insn == null) {
                return fallback(offset, "instruction at +" + offset + " not understood ["
                        + hexAt(code, offset) + "]");
            }
            if (insn.emulated()) {
                return new ProbePlacement(offset, sp, null);
            }
            switch (insn.kind()) {
                case CONTROL:
                    return fallback(offset, insn + " transfers control before any emulated instruction");
                case OPAQUE:
                    return fallback(offset, insn + " has effects that are not modelled");
                default:
                    break;
            }
            int clobbered = insn.regWrites() & argMask;
            if (clobbered != 0) {
                return fallback(offset, insn + " writes " + regNames(clobbered)
                        + ", which the probe reads");
            }
            if ((insn.regWrites() & (1 << Reg.RSP.ordinal())) != 0) {
                return fallback(offset, insn + " changes rsp in a way that is not tracked");
            }
            if (insn.writesMemory()) {
                return fallback(offset, insn + " writes memory");
            }
            sp += insn.stackGrowth();
            if (sp < 0) {
                return fallback(offset, insn + " pops above the return address");
            }
            offset += insn.length();
        }
        return fallback(offset, "no emulated instruction within the first " + MAX_SCAN + " bytes");
    }

    private static ProbePlacement fallback(int atOffset, String why) {
        return new ProbePlacement(0, 0, atOffset == 0
                ? "first instruction is not emulated and nothing after it can be used: " + why
                : "no emulated instruction reachable by skipping safe instructions: " + why);
    }

    private static String regNames(int mask) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            if ((mask & (1 << i)) != 0) {
                if (sb.length() > 0) {
                    sb.append(", ");
                }
                sb.append('%').append(Reg.ofNumber(i).asmName());
            }
        }
        return sb.toString();
    }

    private static String hexAt(byte[] code, int offset) {
        String hex = InstructionDecoder.hexBytes(code, offset, Math.min(code.length, offset + 8));
        return hex.isEmpty() ? "end of buffer" : hex;
    }
}
