package dev.memleak4j.agent.bpf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Optional;

/**
 * Checks, before anything is loaded, that this process can use BPF uprobes at all. Each failure is one sentence
 * saying what is missing and what to do.
 */
public final class Preflight {
    private static final int CAP_SYS_ADMIN = 21;
    private static final int CAP_PERFMON = 38;
    private static final int CAP_BPF = 39;
    /** bpf_get_attach_cookie for uprobes arrived in 5.15, bpf_loop (the stack walks' steps) in 5.17. */
    private static final int[] MIN_KERNEL = {5, 17};

    private Preflight() {}

    /** Returns the reason memleak4j cannot run here, or empty when it can. */
    public static Optional<String> problem() {
        String os = System.getProperty("os.name", "");
        String arch = System.getProperty("os.arch", "");
        if (!os.equals("Linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return Optional.of("memleak4j supports Linux on x86-64 only, this is " + os + "/" + arch);
        }
        Optional<String> kernel = kernelProblem(read(Paths.get("/proc/sys/kernel/osrelease")));
        if (kernel.isPresent()) {
            return kernel;
        }
        Optional<String> caps = capabilityProblem(read(Paths.get("/proc/self/status")));
        if (caps.isPresent()) {
            return caps;
        }
        if (!Files.exists(Paths.get("/sys/bus/event_source/devices/uprobe/type"))) {
            return Optional.of("this kernel has no uprobe support (CONFIG_UPROBE_EVENTS): "
                    + "use a kernel built with it");
        }
        return Optional.empty();
    }

    static Optional<String> kernelProblem(String osRelease) {
        if (osRelease == null) {
            return Optional.empty(); // cannot tell; loading will say if something is missing
        }
        // By hand, not split("[.-]"): a regular expression here would bring java.util.regex into every JVM for good.
        // As that split did: the first two pieces between '.' and '-', the minor 0 when only separators follow.
        String text = osRelease.trim();
        try {
            int end = nextSeparator(text, 0);
            int major = Integer.parseInt(text.substring(0, end));
            int minor = 0;
            if (pieceFollows(text, end)) {
                minor = Integer.parseInt(text.substring(end + 1, nextSeparator(text, end + 1)));
            }
            if (major < MIN_KERNEL[0] || (major == MIN_KERNEL[0] && minor < MIN_KERNEL[1])) {
                return Optional.of("kernel " + osRelease.trim() + " is too old: memleak4j needs Linux "
                        + MIN_KERNEL[0] + "." + MIN_KERNEL[1] + " or newer (BPF attach cookies on uprobes, bpf_loop)");
            }
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static int nextSeparator(String text, int from) {
        int at = from;
        while (at < text.length() && text.charAt(at) != '.' && text.charAt(at) != '-') {
            at++;
        }
        return at;
    }

    private static boolean pieceFollows(String text, int separator) {
        for (int at = separator + 1; at < text.length(); at++) {
            if (text.charAt(at) != '.' && text.charAt(at) != '-') {
                return true;
            }
        }
        return false;
    }

    static Optional<String> capabilityProblem(String procStatus) {
        if (procStatus == null) {
            return Optional.empty();
        }
        for (String line : procStatus.split("\n")) {
            if (line.startsWith("CapEff:")) {
                // A long, not a BigInteger (its class and caches would stay in the JVM): the mask has 64 bits, 16
                // digits; any digits above them hold no capability asked for here.
                String hex = line.substring("CapEff:".length()).trim();
                long effective = Long.parseUnsignedLong(hex.length() > 16 ? hex.substring(hex.length() - 16) : hex, 16);
                boolean bpfAndPerfmon = hasBit(effective, CAP_BPF) && hasBit(effective, CAP_PERFMON);
                if (bpfAndPerfmon || hasBit(effective, CAP_SYS_ADMIN)) {
                    return Optional.empty();
                }
                return Optional.of("this process lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN): run the JVM "
                        + "as root or grant them, e.g. setcap cap_bpf,cap_perfmon+ep on the java binary");
            }
        }
        return Optional.empty();
    }

    private static boolean hasBit(long mask, int bit) {
        return (mask >>> bit & 1) != 0;
    }

    private static String read(Path path) {
        try {
            return Files.readString(path);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
