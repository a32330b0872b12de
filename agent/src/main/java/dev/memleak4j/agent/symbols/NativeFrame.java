package dev.memleak4j.agent.symbols;

/**
 * A symbolized native address.
 *
 * @param address    the runtime address
 * @param symbol     function name, demangled; null when unknown
 * @param offset     with a symbol: bytes from the function's start; without a symbol but with a
 *                   module: offset of the address in the mapped file; otherwise 0
 * @param module     file name of the mapping (e.g. {@code libc.so.6}) or its pseudo name (e.g.
 *                   {@code [vdso]}); null for anonymous memory and unmapped addresses
 * @param modulePath the mapping's pathname as /proc/PID/maps shows it (possibly ending in
 *                   {@code " (deleted)"}); null when {@code module} is
 */
public record NativeFrame(long address, String symbol, long offset, String module, String modulePath) {

    /** A frame for an address that no mapping, or only an anonymous one, contains. */
    public static NativeFrame unknown(long address) {
        return new NativeFrame(address, null, 0, null, null);
    }

    /**
     * Formats like bcc's memleak: {@code fibonacci+0x1f [libdemo.so]}; without a symbol
     * {@code [unknown] [libdemo.so+0x12ab]}; with nothing known {@code [unknown]}.
     */
    public String format() {
        if (symbol != null) {
            return module != null
                    ? symbol + "+0x" + Long.toHexString(offset) + " [" + module + "]"
                    : symbol + "+0x" + Long.toHexString(offset);
        }
        return module != null ? "[unknown] [" + module + "+0x" + Long.toHexString(offset) + "]" : "[unknown]";
    }
}
