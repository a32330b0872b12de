package dev.memleak4j.agent.probes;

import dev.memleak4j.agent.probes.Instruction.Kind;

/**
 * Length decoder for a subset of 64-bit mode x86 instructions, plus a model of the register,
 * memory and stack effects of the few instructions that commonly open a function.
 *
 * <p>Correctness rule: {@link #decode} returns {@code null} for anything whose length it is not
 * sure about (unknown opcode, invalid encoding, a REX byte that is not the last prefix, more
 * than 15 bytes, or a buffer that ends inside the instruction). A length that is returned must
 * be exact, because {@link PrologueDecoder} places a breakpoint on the next instruction
 * boundary it computes. Instructions whose length is known but whose effects are not modelled
 * are returned as {@link Kind#OPAQUE}, which stops the prologue scan.
 *
 * <p>Supported: legacy prefixes (66 67 f0 f2 f3 2e 36 3e 26 64 65), REX, the one-byte map
 * except a few rarely used opcodes, x87 (d8..df), most of the 0f map, the 0f 38 / 0f 3a maps and
 * VEX (c4/c5, maps 1..3). Not supported: EVEX (62), XOP, REX2/APX, 3DNow!, 0f 78/79, far
 * branches, segment-register moves.
 */
final class InstructionDecoder {

    /** Architectural maximum instruction length. */
    static final int MAX_LENGTH = 15;

    /**
     * {@code code[from..to)} as two-digit hex bytes separated by blanks ({@code 48 85 ff}). Not String.format: this
     * runs for every instruction decoded, at start and in reports.
     */
    static String hexBytes(byte[] code, int from, int to) {
        StringBuilder hex = new StringBuilder(Math.max(0, to - from) * 3);
        for (int i = from; i < to; i++) {
            if (i > from) {
                hex.append(' ');
            }
            hex.append(Character.forDigit((code[i] >> 4) & 0xf, 16)).append(Character.forDigit(code[i] & 0xf, 16));
        }
        return hex.toString();
    }

    private InstructionDecoder() {
    }

    /**
     * Decodes the instruction starting at {@code code[offset]}.
     *
     * @return the instruction, or {@code null} if it is not understood or does not fit in
     *         {@code code}
     */
    static Instruction decode(byte[] code, int offset) {
        if (offset < 0 || offset >= code.length) {
            return null;
        }
        try {
            return new Decoding(code, offset).run();
        } catch (NotUnderstood e) {
            return null;
        }
    }

    /** Thrown inside the decoder for "stop: not sure about this one". Stackless. */
    private static final class NotUnderstood extends RuntimeException {
        private static final long serialVersionUID = 1L;
        static final NotUnderstood INSTANCE = new NotUnderstood();

        private NotUnderstood() {
            super(null, null, false, false);
        }
    }

    /** The kernel's x86_nops[1..8] for 64-bit (arch/x86/include/asm/nops.h). */
    private static final byte[][] KERNEL_NOPS = {
        {(byte) 0x90},
        {0x66, (byte) 0x90},
        {0x0f, 0x1f, 0x00},
        {0x0f, 0x1f, 0x40, 0x00},
        {0x0f, 0x1f, 0x44, 0x00, 0x00},
        {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
        {0x0f, 0x1f, (byte) 0x80, 0x00, 0x00, 0x00, 0x00},
        {0x0f, 0x1f, (byte) 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
    };

    private static final int RAX = 0;
    private static final int RDX = 2;
    private static final int RSP = 4;

    private static final class Decoding {
        private final byte[] code;
        private final int start;
        private final int limit;
        private int pos;

        // prefixes
        private int legacyPrefixCount;
        private boolean opSize16;    // 66
        private boolean addrSize32;  // 67
        private boolean lock;        // f0
        private boolean rep;         // f3
        private boolean repne;       // f2
        private int rex;             // 0 when absent

        // ModRM
        private boolean hasModrm;
        private int mod;
        private int regField;
        private int rmField;

        // immediate (last one read)
        private long imm;

        // result
        private Kind kind = Kind.PLAIN;
        private String mnemonic = "?";
        private int regWrites;
        private boolean writesMemory;
        private int stackGrowth;
        /** f3 is a mandatory prefix of the decoded instruction (endbr64, pause, popcnt...). */
        private boolean repIsPartOfOpcode;

        Decoding(byte[] code, int start) {
            this.code = code;
            this.start = start;
            this.pos = start;
            this.limit = Math.min(code.length, start + MAX_LENGTH);
        }

        private int u8() {
            if (pos >= limit) {
                throw NotUnderstood.INSTANCE;
            }
            return code[pos++] & 0xff;
        }

        private static NotUnderstood fail() {
            return NotUnderstood.INSTANCE;
        }

        private boolean rexW() {
            return (rex & 8) != 0;
        }

        private int rexR() {
            return (rex & 4) != 0 ? 8 : 0;
        }

        private int rexB() {
            return (rex & 1) != 0 ? 8 : 0;
        }

        // ---------------------------------------------------------------- operand parts

        private void modrm() {
            int m = u8();
            hasModrm = true;
            mod = m >>> 6;
            regField = (m >>> 3) & 7;
            rmField = m & 7;
            int end = CallInstructions.afterMemoryOperand(code, pos, limit, m);
            if (end < 0 || end > limit) {
                throw fail();
            }
            pos = end;
        }

        private void skip(int n) {
            for (int i = 0; i < n; i++) {
                u8();
            }
        }

        /** Reads a little-endian, sign-extended immediate of n bytes (1, 2, 4 or 8). */
        private void imm(int n) {
            long v = 0;
            for (int i = 0; i < n; i++) {
                v |= ((long) u8()) << (8 * i);
            }
            if (n < 8) {
                int shift = 64 - 8 * n;
                v = (v << shift) >> shift;
            }
            imm = v;
        }

        /** imm16/imm32 operand ("Iz"). */
        private void immZ() {
            imm(opSize16 && !rexW() ? 2 : 4);
        }

        private boolean memOperand() {
            return hasModrm && mod != 3;
        }

        /** Register number of ModRM.reg for a byte (b) or word/dword/qword operand. */
        private int regOperand(boolean b) {
            return b ? byteReg(regField + rexR()) : regField + rexR();
        }

        private int rmRegOperand(boolean b) {
            return b ? byteReg(rmField + rexB()) : rmField + rexB();
        }

        /** Without REX, byte registers 4..7 are ah, ch, dh, bh: parts of rax, rcx, rdx, rbx. */
        private int byteReg(int n) {
            return rex == 0 && n >= 4 && n < 8 ? n - 4 : n;
        }

        private void writesReg(int n) {
            regWrites |= 1 << n;
        }

        /** The ModRM r/m operand is a destination. */
        private void writesE(boolean b) {
            if (memOperand()) {
                writesMemory = true;
            } else {
                writesReg(rmRegOperand(b));
            }
        }

        /** The ModRM reg operand is a destination. */
        private void writesG(boolean b) {
            writesReg(regOperand(b));
        }

        private void plain(String name) {
            kind = Kind.PLAIN;
            mnemonic = name;
        }

        private void opaque(String name) {
            kind = Kind.OPAQUE;
            mnemonic = name;
        }

        private void control(String name) {
            kind = Kind.CONTROL;
            mnemonic = name;
        }

        private boolean noPrefixes() {
            return legacyPrefixCount == 0 && rex == 0;
        }

        /**
         * Relative branches. Without REX.W, a 66 prefix makes the displacement size vendor
         * dependent (Intel ignores it, AMD uses rel16): refuse. With REX.W (as in the TLS
         * sequence {@code 66 66 48 e8 rel32}) the size is 32 bits everywhere.
         */
        private void branch(String name, int dispBytes) {
            if (opSize16 && !rexW()) {
                throw fail();
            }
            imm(dispBytes);
            if (noPrefixes()) {
                kind = Kind.EMULATED_BRANCH;
                mnemonic = name;
            } else {
                control(name + " (prefixed)");
            }
        }

        // ---------------------------------------------------------------- driver

        Instruction run() {
            prefixes();
            int op = u8();
            if (op == 0x0f) {
                twoByte();
            } else {
                oneByte(op);
            }
            int length = pos - start;
            if (kind == Kind.PLAIN) {
                // Prefixes that change the meaning of plain instructions: lock (memory RMW),
                // f2/f3 on instructions that are not modelled with them (xacquire/xrelease,
                // bnd, ...). Keep the length, drop the model.
                if (lock || ((rep || repne) && !repIsPartOfOpcode)) {
                    kind = Kind.OPAQUE;
                }
            }
            if (isKernelNop(length)) {
                kind = Kind.EMULATED_NOP;
            }
            return new Instruction(start, length, kind, mnemonic, hexBytes(code, start, pos),
                    kind == Kind.PLAIN ? regWrites : 0,
                    kind == Kind.PLAIN && writesMemory,
                    kind == Kind.PLAIN ? stackGrowth : 0);
        }

        private boolean isKernelNop(int length) {
            if (length > KERNEL_NOPS.length) {
                return false;
            }
            byte[] nop = KERNEL_NOPS[length - 1];
            for (int i = 0; i < length; i++) {
                if (code[start + i] != nop[i]) {
                    return false;
                }
            }
            return true;
        }

        private void prefixes() {
            while (true) {
                if (pos >= limit) {
                    throw fail();
                }
                int b = code[pos] & 0xff;
                switch (b) {
                    case 0x66 -> opSize16 = true;
                    case 0x67 -> addrSize32 = true;
                    case 0xf0 -> lock = true;
                    case 0xf2 -> { repne = true; rep = false; }
                    case 0xf3 -> { rep = true; repne = false; }
                    case 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65 -> { }
                    default -> {
                        if ((b & 0xf0) == 0x40) {
                            if (rex != 0) {
                                throw fail(); // two REX bytes: only the last counts; refuse
                            }
                            rex = b;
                            pos++;
                            if (pos - start >= MAX_LENGTH) {
                                throw fail();
                            }
                            continue;
                        }
                        return;
                    }
                }
                if (rex != 0) {
                    throw fail(); // legacy prefix after REX: REX is ignored; refuse
                }
                legacyPrefixCount++;
                pos++;
                if (pos - start >= MAX_LENGTH) {
                    throw fail();
                }
            }
        }

        // ---------------------------------------------------------------- one-byte map

        private void oneByte(int op) {
            if (op < 0x40) {
                alu(op);
                return;
            }
            if (op >= 0x50 && op <= 0x57) {
                if (legacyPrefixCount == 0 && (rex == 0 || rex == 0x41)) {
                    kind = Kind.EMULATED_PUSH;
                    mnemonic = "push";
                } else {
                    opaque("push (prefixed)");
                }
                return;
            }
            if (op >= 0x58 && op <= 0x5f) {
                opaque("pop");
                return;
            }
            if (op >= 0x70 && op <= 0x7f) {
                branch("jcc", 1);
                return;
            }
            if (op >= 0x91 && op <= 0x97) {
                writesReg(RAX);
                writesReg((op & 7) + rexB());
                plain("xchg");
                return;
            }
            if (op >= 0xb0 && op <= 0xb7) {
                imm(1);
                writesReg(byteReg((op & 7) + rexB()));
                plain("mov imm8");
                return;
            }
            if (op >= 0xb8 && op <= 0xbf) {
                imm(rexW() ? 8 : opSize16 ? 2 : 4);
                writesReg((op & 7) + rexB());
                plain("mov imm");
                return;
            }
            if (op >= 0xd8 && op <= 0xdf) {
                modrm();
                opaque("x87");
                return;
            }
            switch (op) {
                case 0x63 -> { modrm(); writesG(false); plain("movsxd"); }
                case 0x68 -> { immZ(); opaque("push imm"); }
                case 0x6a -> { imm(1); opaque("push imm8"); }
                case 0x69 -> { modrm(); immZ(); writesG(false); plain("imul"); }
                case 0x6b -> { modrm(); imm(1); writesG(false); plain("imul"); }
                case 0x80 -> group1(true, 1);
                case 0x81 -> group1(false, opSize16 && !rexW() ? 2 : 4);
                case 0x83 -> group1(false, 1);
                case 0x84, 0x85 -> { modrm(); plain("test"); }
                case 0x86, 0x87 -> { modrm(); writesE(op == 0x86); writesG(op == 0x86); plain("xchg"); }
                case 0x88, 0x89 -> { modrm(); writesE(op == 0x88); plain("mov"); }
                case 0x8a, 0x8b -> { modrm(); writesG(op == 0x8a); plain("mov"); }
                case 0x8c, 0x8e -> { modrm(); opaque("mov sreg"); }
                case 0x8d -> {
                    modrm();
                    if (!memOperand()) {
                        throw fail();
                    }
                    writesG(false);
                    plain("lea");
                }
                case 0x8f -> {
                    modrm();
                    if (regField != 0) {
                        throw fail(); // XOP
                    }
                    opaque("pop Ev");
                }
                case 0x90 -> {
                    if (rexB() != 0) {
                        writesReg(RAX);
                        writesReg(8);
                        plain("xchg");
                    } else if (rep) {
                        repIsPartOfOpcode = true;
                        plain("pause");
                    } else {
                        plain("nop");
                    }
                }
                case 0x98 -> { writesReg(RAX); plain("cltq"); }
                case 0x99 -> { writesReg(RDX); plain("cqto"); }
                case 0x9c, 0x9d, 0x9e, 0x9f -> opaque("pushf/popf/sahf/lahf");
                case 0xa0, 0xa1, 0xa2, 0xa3 -> { skip(addrSize32 ? 4 : 8); opaque("mov moffs"); }
                case 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf -> opaque("string op");
                case 0xa8 -> { imm(1); plain("test"); }
                case 0xa9 -> { immZ(); plain("test"); }
                case 0xc0, 0xc1 -> { modrm(); imm(1); shift(op == 0xc0); }
                case 0xd0, 0xd1, 0xd2, 0xd3 -> { modrm(); shift(op == 0xd0 || op == 0xd2); }
                case 0xc2 -> { imm(2); control("ret imm16"); }
                case 0xc3 -> control("ret");
                case 0xc6 -> {
                    modrm();
                    if (regField == 0) {
                        imm(1);
                        writesE(true);
                        plain("mov imm8");
                    } else if (mod == 3 && regField == 7 && rmField == 0) {
                        imm(1);
                        opaque("xabort");
                    } else {
                        throw fail();
                    }
                }
                case 0xc7 -> {
                    modrm();
                    if (regField == 0) {
                        immZ();
                        writesE(false);
                        plain("mov imm");
                    } else if (mod == 3 && regField == 7 && rmField == 0) {
                        immZ();
                        control("xbegin");
                    } else {
                        throw fail();
                    }
                }
                case 0xc8 -> { imm(2); imm(1); opaque("enter"); }
                case 0xc9 -> opaque("leave");
                case 0xcc -> control("int3");
                case 0xcd -> { imm(1); control("int"); }
                case 0xe0, 0xe1, 0xe2, 0xe3 -> { imm(1); control("loop/jrcxz"); }
                case 0xe8 -> branch("call", 4);
                case 0xe9 -> branch("jmp", 4);
                case 0xeb -> branch("jmp", 1);
                case 0xf4 -> control("hlt");
                case 0xf5, 0xf8, 0xf9, 0xfc, 0xfd -> opaque("flag op");
                case 0xf6, 0xf7 -> group3(op == 0xf6);
                case 0xfe -> {
                    modrm();
                    if (regField > 1) {
                        throw fail();
                    }
                    writesE(true);
                    plain("inc/dec");
                }
                case 0xff -> group5();
                case 0xc4, 0xc5 -> vex(op);
                default -> throw fail();
            }
        }

        /** 00..3f: add or adc sbb and sub xor cmp in their six forms. */
        private void alu(int op) {
            int form = op & 7;
            if (form > 5) {
                throw fail(); // 06 07 0e 0f(handled earlier) 16 17 1e 1f 27 2f 37 3f; 26/2e/36/3e are prefixes
            }
            boolean cmp = (op >>> 3) == 7;
            String name = ALU_NAMES[op >>> 3];
            switch (form) {
                case 0, 1 -> { modrm(); if (!cmp) writesE(form == 0); }
                case 2, 3 -> { modrm(); if (!cmp) writesG(form == 2); }
                case 4 -> { imm(1); if (!cmp) writesReg(RAX); }
                default -> { immZ(); if (!cmp) writesReg(RAX); }
            }
            plain(name);
        }

        private static final String[] ALU_NAMES = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};

        /** 80/81/83: ALU op with immediate; tracks add/sub $imm,%rsp. */
        private void group1(boolean byteOp, int immBytes) {
            modrm();
            imm(immBytes);
            String name = ALU_NAMES[regField];
            if (regField == 7) {
                plain(name);
                return;
            }
            if (!byteOp && !memOperand() && rexW() && rmRegOperand(false) == RSP
                    && (regField == 0 || regField == 5)) {
                long growth = regField == 5 ? imm : -imm;
                if (growth > Integer.MAX_VALUE / 2 || growth < Integer.MIN_VALUE / 2) {
                    writesReg(RSP); // absurd: treat as untracked
                } else {
                    stackGrowth = (int) growth;
                }
                plain(name + " $imm,%rsp");
                return;
            }
            writesE(byteOp);
            plain(name);
        }

        private void shift(boolean byteOp) {
            if (regField == 6) {
                throw fail(); // undocumented alias
            }
            writesE(byteOp);
            plain("shift/rotate");
        }

        /** f6/f7: test not neg mul imul div idiv. */
        private void group3(boolean byteOp) {
            modrm();
            switch (regField) {
                case 0, 1 -> {
                    if (byteOp) {
                        imm(1);
                    } else {
                        immZ();
                    }
                    plain("test");
                }
                case 2, 3 -> { writesE(byteOp); plain(regField == 2 ? "not" : "neg"); }
                default -> {
                    writesReg(RAX);
                    if (!byteOp) {
                        writesReg(RDX);
                    }
                    plain(MULDIV_NAMES[regField - 4]);
                }
            }
        }

        private static final String[] MULDIV_NAMES = {"mul", "imul", "div", "idiv"};

        /** ff: inc dec call callf jmp jmpf push. */
        private void group5() {
            modrm();
            switch (regField) {
                case 0, 1 -> { writesE(false); plain(regField == 0 ? "inc" : "dec"); }
                case 2 -> control("call indirect");
                case 4 -> control("jmp indirect");
                case 6 -> opaque("push Ev");
                default -> throw fail(); // far call/jmp, invalid
            }
        }

        private void vex(int op) {
            if (opSize16 || rep || repne || lock || rex != 0) {
                throw fail(); // #UD
            }
            int map;
            if (op == 0xc5) {
                u8();
                map = 1;
            } else {
                map = u8() & 0x1f;
                u8();
            }
            int opcode = u8();
            switch (map) {
                case 1 -> {
                    if (opcode == 0x77) {
                        opaque("vzeroupper/vzeroall");
                        return;
                    }
                    modrm();
                    if ((opcode >= 0x70 && opcode <= 0x73) || opcode == 0xc2 || (opcode >= 0xc4 && opcode <= 0xc6)) {
                        imm(1);
                    }
                }
                case 2 -> modrm();
                case 3 -> { modrm(); imm(1); }
                default -> throw fail();
            }
            opaque("vex");
        }

        // ---------------------------------------------------------------- two-byte map (0f xx)

        private void twoByte() {
            int op = u8();
            if (op >= 0x80 && op <= 0x8f) {
                branch("jcc", 4);
                return;
            }
            if (op >= 0x40 && op <= 0x4f) {
                modrm();
                writesG(false);
                plain("cmovcc");
                return;
            }
            if (op >= 0x90 && op <= 0x9f) {
                modrm();
                writesE(true);
                plain("setcc");
                return;
            }
            if (op >= 0xc8 && op <= 0xcf) {
                writesReg((op & 7) + rexB());
                plain("bswap");
                return;
            }
            if ((op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) || (op >= 0x50 && op <= 0x6f)
                    || (op >= 0x74 && op <= 0x76) || (op >= 0x7c && op <= 0x7f) || (op >= 0xd0 && op <= 0xfe)) {
                modrm();
                opaque("sse/mmx");
                return;
            }
            switch (op) {
                case 0x05 -> control("syscall");
                case 0x0b -> control("ud2");
                case 0x31 -> opaque("rdtsc");
                case 0xa2 -> opaque("cpuid");
                case 0x77 -> opaque("emms");
                case 0xa0, 0xa1, 0xa8, 0xa9 -> opaque("push/pop fs/gs");
                case 0x01, 0x0d, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0xae, 0xb0, 0xb1, 0xc3, 0xc7 -> {
                    modrm();
                    opaque("0f " + Integer.toHexString(op));
                }
                case 0x18 -> {
                    modrm();
                    if (regField < 4 && memOperand()) {
                        plain("prefetch");
                    } else {
                        opaque("hint nop");
                    }
                }
                case 0x1e -> {
                    int m = pos < limit ? code[pos] & 0xff : -1;
                    modrm();
                    if (rep && !opSize16 && (m == 0xfa || m == 0xfb)) {
                        repIsPartOfOpcode = true;
                        plain("endbr");
                    } else {
                        opaque("0f 1e");
                    }
                }
                case 0x1f -> {
                    modrm();
                    if (regField == 0) {
                        plain("nop");
                    } else {
                        opaque("hint nop");
                    }
                }
                case 0x38 -> { u8(); modrm(); opaque("0f 38"); }
                case 0x3a -> { u8(); modrm(); imm(1); opaque("0f 3a"); }
                case 0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6 -> { modrm(); imm(1); opaque("sse imm8"); }
                case 0xa3 -> { modrm(); plain("bt"); }
                case 0xab, 0xb3, 0xbb -> { modrm(); writesE(false); plain("bts/btr/btc"); }
                case 0xa4, 0xac -> { modrm(); imm(1); writesE(false); plain("shld/shrd"); }
                case 0xa5, 0xad -> { modrm(); writesE(false); plain("shld/shrd"); }
                case 0xaf -> { modrm(); writesG(false); plain("imul"); }
                case 0xb6, 0xb7, 0xbe, 0xbf -> { modrm(); writesG(false); plain("movzx/movsx"); }
                case 0xb8 -> {
                    if (!rep) {
                        throw fail();
                    }
                    modrm();
                    writesG(false);
                    repIsPartOfOpcode = true;
                    plain("popcnt");
                }
                case 0xba -> {
                    modrm();
                    imm(1);
                    if (regField < 4) {
                        throw fail();
                    }
                    if (regField > 4) {
                        writesE(false);
                    }
                    plain("bt imm");
                }
                case 0xbc, 0xbd -> {
                    modrm();
                    writesG(false);
                    repIsPartOfOpcode = rep;
                    plain(rep ? (op == 0xbc ? "tzcnt" : "lzcnt") : (op == 0xbc ? "bsf" : "bsr"));
                }
                case 0xc0, 0xc1 -> { modrm(); writesE(op == 0xc0); writesG(op == 0xc0); plain("xadd"); }
                default -> throw fail();
            }
        }
    }
}
