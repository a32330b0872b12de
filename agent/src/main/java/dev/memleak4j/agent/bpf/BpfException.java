package dev.memleak4j.agent.bpf;

/** A failure of the kernel side (loading, attaching, reading maps), with a message a user can act on. */
public final class BpfException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BpfException(String message) {
        super(message);
    }

    public BpfException(String message, Throwable cause) {
        super(message, cause);
    }
}
