package dev.memleak4j.agent.bpf;

import java.io.IOException;
import java.math.BigInteger;
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
        String[] parts = osRelease.trim().split("[.-]");
        try {
            int major = Integer.parseInt(parts[0]);
            int minor = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
            if (major < MIN_KERNEL[0] || (major == MIN_KERNEL[0] && minor < MIN_KERNEL[1])) {
                return Optional.of("kernel " + osRelease.trim() + " is too old: memleak4j needs Linux "
                        + MIN_KERNEL[0] + "." + MIN_KERNEL[1] + " or newer (BPF attach cookies on uprobes, bpf_loop)");
            }
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    static Optional<String> capabilityProblem(String procStatus) {
        if (procStatus == null) {
            return Optional.empty();
        }
        for (String line : procStatus.split("\n")) {
            if (line.startsWith("CapEff:")) {
                BigInteger effective = new BigInteger(line.substring("CapEff:".length()).trim(), 16);
                boolean bpfAndPerfmon = effective.testBit(CAP_BPF) && effective.testBit(CAP_PERFMON);
                if (bpfAndPerfmon || effective.testBit(CAP_SYS_ADMIN)) {
                    return Optional.empty();
                }
                return Optional.of("this process lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN): run the JVM "
                        + "as root or grant them, e.g. setcap cap_bpf,cap_perfmon+ep on the java binary");
            }
        }
        return Optional.empty();
    }

    private static String read(Path path) {
        try {
            return Files.readString(path);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
