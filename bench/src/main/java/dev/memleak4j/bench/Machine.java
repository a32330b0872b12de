package dev.memleak4j.bench;

import static dev.memleak4j.bench.Numbers.format;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The machine the bench runs on: the lines that describe it at the top of the output, and the readers of /proc files
 * and of commands' output that the rest of the bench uses ("unknown", or nothing, where they fail).
 */
final class Machine {
    private Machine() {}

    /** The lines that describe the machine at the top of the output, by name; {@code java} runs the children. */
    static Map<String, String> describe(Path java, Path benchLibrary) {
        Map<String, String> machine = new LinkedHashMap<>();
        machine.put("CPU", cpuinfo("model name") + ", " + Runtime.getRuntime().availableProcessors() + " CPUs (nproc)");
        machine.put("memory", meminfo());
        machine.put("OS", osRelease() + ", kernel " + read("/proc/sys/kernel/osrelease") + ", "
                + command("getconf", "GNU_LIBC_VERSION"));
        machine.put("JDK", javaVersion(java));
        machine.put("bare uprobe hit", BareUprobe.measure(benchLibrary));
        return machine;
    }

    private static String cpuinfo(String key) {
        for (String line : lines("/proc/cpuinfo")) {
            if (line.startsWith(key)) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return "unknown";
    }

    private static String meminfo() {
        for (String line : lines("/proc/meminfo")) {
            if (line.startsWith("MemTotal:")) {
                return format(Long.parseLong(line.replaceAll("[^0-9]", "")) / 1048576.0, 1) + " GiB";
            }
        }
        return "unknown";
    }

    private static String osRelease() {
        for (String line : lines("/etc/os-release")) {
            if (line.startsWith("PRETTY_NAME=")) {
                return line.substring("PRETTY_NAME=".length()).replace("\"", "");
            }
        }
        return "Linux";
    }

    private static String javaVersion(Path java) {
        String version = command(java.toString(), "-XshowSettings:properties", "-version");
        String vendor = "";
        String runtime = "";
        for (String line : version.split("\n")) {
            line = line.trim();
            if (line.startsWith("java.vm.vendor = ")) {
                vendor = line.substring("java.vm.vendor = ".length());
            } else if (line.startsWith("java.runtime.version = ")) {
                runtime = line.substring("java.runtime.version = ".length());
            }
        }
        return (vendor + " " + runtime).trim() + " (" + java + ")";
    }

    static String command(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            process.waitFor();
            return output;
        } catch (IOException | InterruptedException e) {
            return "unknown";
        }
    }

    static List<String> lines(String path) {
        try {
            return Files.readAllLines(Path.of(path));
        } catch (IOException e) {
            return List.of();
        }
    }

    static String read(String path) {
        return String.join(" ", lines(path)).trim();
    }
}
