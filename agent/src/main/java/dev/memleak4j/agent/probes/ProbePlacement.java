package dev.memleak4j.agent.probes;

/**
 * Where to put a function's entry uprobe.
 *
 * @param offset   byte offset from the function's start at which the uprobe is placed
 * @param spAdjust bytes between {@code rsp} at the probe and the return address, i.e. the
 *                 return address is at {@code [rsp + spAdjust]} when the probe fires. The
 *                 argument registers named by the caller hold their entry values there.
 *                 Note: a <em>uretprobe</em> must only be attached where {@code spAdjust == 0}
 *                 (the kernel hijacks the return address at {@code [rsp]}), so attach
 *                 uretprobes at offset 0 or at a placement whose spAdjust is 0.
 * @param reason   {@code null} when an instruction the kernel emulates was found; otherwise
 *                 a human-readable explanation of why the probe falls back to offset 0
 *                 (meant to be logged by the caller)
 */
public record ProbePlacement(int offset, int spAdjust, String reason) {

    public ProbePlacement {
        if (offset < 0 || spAdjust < 0) {
            throw new IllegalArgumentException("offset=" + offset + " spAdjust=" + spAdjust);
        }
    }

    /** True when the probe sits on an instruction that the kernel emulates (no single-step). */
    public boolean emulated() {
        return reason == null;
    }
}
