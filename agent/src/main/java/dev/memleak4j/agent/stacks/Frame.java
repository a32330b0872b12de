package dev.memleak4j.agent.stacks;

/**
 * One frame of a reported stack.
 *
 * @param address the instruction address (for a native frame, the return address into it)
 * @param kind    where the code comes from
 * @param name    the function or Java method; null when unknown
 * @param module  the library file name (native), or null
 * @param offset  bytes from the start of {@code name}, or from the module start when {@code name} is null
 */
public record Frame(long address, Kind kind, String name, String module, long offset) {
    public enum Kind {
        NATIVE, JIT, INTERPRETED, INLINED, STUB, UNKNOWN
    }

    /** As bcc's memleak prints a frame: {@code fibonacci+0x1f [libdemo.so]}. */
    public String text() {
        if (name != null && module != null) {
            return name + "+0x" + Long.toHexString(offset) + " [" + module + "]";
        }
        if (name != null) {
            return name;
        }
        if (module != null) {
            return "[unknown] [" + module + "+0x" + Long.toHexString(offset) + "]";
        }
        return "[unknown]";
    }

    public boolean named() {
        return name != null;
    }
}
