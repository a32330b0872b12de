package dev.memleak4j.agent.probes;

import java.util.EnumSet;
import java.util.Set;

/**
 * The allocator functions memleak4j probes, in the order of {@code enum alloc_func} in bpf/memleak.h (the ordinal
 * is the attach cookie the BPF program reads), with the argument registers the entry probe reads.
 */
public enum AllocatorFunction {
    MALLOC("malloc", true, Reg.RDI),
    CALLOC("calloc", false, Reg.RDI, Reg.RSI),
    REALLOC("realloc", false, Reg.RDI, Reg.RSI),
    REALLOCARRAY("reallocarray", false, Reg.RDI, Reg.RSI, Reg.RDX),
    POSIX_MEMALIGN("posix_memalign", false, Reg.RDI, Reg.RSI, Reg.RDX),
    ALIGNED_ALLOC("aligned_alloc", false, Reg.RDI, Reg.RSI),
    MEMALIGN("memalign", false, Reg.RDI, Reg.RSI),
    VALLOC("valloc", false, Reg.RDI),
    PVALLOC("pvalloc", false, Reg.RDI),
    FREE("free", true, Reg.RDI);

    private final String symbol;
    private final boolean required;
    private final Set<Reg> arguments;

    AllocatorFunction(String symbol, boolean required, Reg first, Reg... rest) {
        this.symbol = symbol;
        this.required = required;
        this.arguments = EnumSet.of(first, rest);
    }

    /** The libc name, without any {@code symbols-prefix}. */
    public String symbol() {
        return symbol;
    }

    /** Without this function no report is meaningful, so failing to probe it stops the agent. */
    public boolean required() {
        return required;
    }

    public Set<Reg> argumentRegisters() {
        return arguments;
    }

    /** free releases; every other function returns a block and needs a return probe. */
    public boolean allocates() {
        return this != FREE;
    }

    public static AllocatorFunction ofOrdinal(int ordinal) {
        AllocatorFunction[] all = values();
        return ordinal >= 0 && ordinal < all.length ? all[ordinal] : null;
    }
}
