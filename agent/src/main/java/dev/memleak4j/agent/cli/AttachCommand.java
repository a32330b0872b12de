package dev.memleak4j.agent.cli;

import com.sun.tools.attach.AgentInitializationException;
import com.sun.tools.attach.AgentLoadException;
import com.sun.tools.attach.AttachNotSupportedException;
import com.sun.tools.attach.VirtualMachine;
import com.sun.tools.attach.VirtualMachineDescriptor;
import dev.memleak4j.agent.AgentOptions;
import dev.memleak4j.agent.AgentOptions.OptionException;
import dev.memleak4j.agent.RunStatus;
import dev.memleak4j.agent.files.SafeFiles;
import dev.memleak4j.agent.jmx.NativeMemoryMXBean;
import dev.memleak4j.agent.json.JsonSnapshotReader;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.views.cost.ViewsCost;
import dev.memleak4j.agent.views.flamegraph.FlameGraph;
import dev.memleak4j.agent.views.jfrfile.JfrRecording;
import dev.memleak4j.agent.views.pprof.PprofProfile;
import dev.memleak4j.boot.AgentLauncher;

import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanException;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.RuntimeMBeanException;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The command-line tool: starts, stops and lists memleak4j in running JVMs through the Attach API. Every outcome is
 * one line; the exit code is 0 on success, 1 when the target refused or could not do it, 2 for a usage error.
 */
public final class AttachCommand {
    private static final String USAGE = String.join("\n",
            "usage: java -jar memleak4j-agent.jar COMMAND",
            "  attach PID [OPTIONS]   start memleak4j in the running JVM PID; OPTIONS as for -javaagent,",
            "                         e.g. interval=10,top=5 (reports go to that JVM's stderr unless output=FILE)",
            "  detach PID             stop memleak4j in PID: every probe is removed and the BPF maps are freed",
            "  list                   the JVMs of this user that run memleak4j",
            "  flamegraph PID|SNAPSHOT.json OUT.html",
            "                         an HTML flame graph of the outstanding native memory: of every stack in the",
            "                         running JVM PID, or of the stacks in a document written by json=FILE",
            "  pprof PID|SNAPSHOT.json OUT.pb.gz",
            "                         the same as a gzipped pprof profile (go tool pprof, Pyroscope, Speedscope)",
            "  jfr PID|SNAPSHOT.json OUT.jfr",
            "                         the same as a JFR recording with each stack's trace (JDK Mission Control)",
            "  " + ViewsCost.COMMAND,
            "                         what writing each view of STACKS (default 16384) made-up stacks costs here",
            "  help                   this text and the options",
            "Same user as the target (or root), and CAP_BPF+CAP_PERFMON in the target.", "");

    private final PrintStream out;
    private final PrintStream err;

    private AttachCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** Runs the command; returns the process exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return new AttachCommand(out, err).dispatch(args);
    }

    private int dispatch(String[] args) {
        if (args.length == 0) {
            err.print(USAGE);
            return 2;
        }
        String command = args[0];
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        try {
            switch (command) {
                case "attach":
                    if (rest.isEmpty() || rest.size() > 2) {
                        return usage("attach takes a PID and optionally one option string");
                    }
                    return attach(rest.get(0), rest.size() == 2 ? rest.get(1) : "");
                case "detach":
                    if (rest.size() != 1) {
                        return usage("detach takes one PID");
                    }
                    return detach(rest.get(0));
                case "list":
                    if (!rest.isEmpty()) {
                        return usage("list takes no arguments");
                    }
                    return list();
                case "flamegraph":
                case "pprof":
                case "jfr":
                    if (rest.size() != 2) {
                        return usage(command + " takes a PID or a JSON snapshot file, and the file to write");
                    }
                    return export(command, rest.get(0), rest.get(1));
                case "help":
                case "-h":
                case "--help":
                    out.print(USAGE);
                    out.print(AgentOptions.helpText());
                    return 0;
                default:
                    return usage("unknown command '" + printable(command) + "'");
            }
        } catch (Failure e) {
            String message = e.getMessage();
            err.println(message.startsWith("memleak4j ") ? message : "memleak4j: " + message);
            return 1;
        }
    }

    private int usage(String problem) {
        err.println("memleak4j: " + problem + "; 'java -jar memleak4j-agent.jar help' shows the usage");
        return 2;
    }

    private int attach(String pidText, String options) {
        long pid = pid(pidText);
        if (pid < 0) {
            return usage("'" + printable(pidText) + "' is not a process id");
        }
        AgentOptions parsed;
        try {
            parsed = AgentOptions.parse(options);
        } catch (OptionException e) {
            err.println("memleak4j: bad option: " + e.getMessage() + "; nothing was done to PID " + pid);
            return 2;
        }
        if (parsed.help()) {
            out.print(AgentOptions.helpText());
            return 0;
        }
        Path jar = agentJar();
        return withVm(pid, vm -> {
            String running = property(vm, RunStatus.RUNNING);
            if (running != null) {
                throw new Failure("memleak4j is already running in PID " + pid + " (" + running + "); 'detach "
                        + pid + "' first");
            }
            load(vm, pid, jar, options);
            String started = property(vm, RunStatus.RUNNING);
            if (started == null) {
                String problem = property(vm, RunStatus.PROBLEM);
                throw new Failure("memleak4j did not start in PID " + pid + ": "
                        + (problem != null ? problem : "see that JVM's stderr") + "; the JVM runs on");
            }
            out.println("memleak4j: attached to PID " + pid + " (" + started + "); reports go to "
                    + (parsed.output() != null ? parsed.output() : "its stderr") + "; allocations made before "
                    + "now are not seen");
            return 0;
        });
    }

    private int detach(String pidText) {
        long pid = pid(pidText);
        if (pid < 0) {
            return usage("'" + printable(pidText) + "' is not a process id");
        }
        Path jar = agentJar();
        return withVm(pid, vm -> {
            if (property(vm, RunStatus.RUNNING) == null) {
                throw new Failure("memleak4j is not running in PID " + pid + "; nothing to detach");
            }
            load(vm, pid, jar, RunStatus.DETACH);
            if (property(vm, RunStatus.RUNNING) != null) {
                throw new Failure("memleak4j in PID " + pid + " did not stop; see that JVM's stderr");
            }
            out.println("memleak4j: detached from PID " + pid + ": every probe removed, BPF maps freed");
            return 0;
        });
    }

    private int list() {
        long self = ProcessHandle.current().pid();
        List<String> lines = new ArrayList<>();
        for (VirtualMachineDescriptor descriptor : VirtualMachine.list()) {
            if (descriptor.id().equals(String.valueOf(self))) {
                continue;
            }
            try {
                VirtualMachine vm = VirtualMachine.attach(descriptor);
                try {
                    String running = property(vm, RunStatus.RUNNING);
                    if (running != null) {
                        lines.add(descriptor.id() + "\t" + running + "\t" + descriptor.displayName());
                    }
                } finally {
                    vm.detach();
                }
            } catch (AttachNotSupportedException | IOException | Failure e) {
                // A JVM that exited meanwhile or refuses attach does not run memleak4j as far as we can tell.
            }
        }
        if (lines.isEmpty()) {
            out.println("memleak4j: no JVM of this user runs memleak4j");
        } else {
            lines.forEach(out::println);
        }
        return 0;
    }

    /** A view of a running JVM's outstanding memory (through its MBean) or of a saved JSON snapshot. */
    private int export(String format, String source, String target) {
        String operation = format.equals("flamegraph") ? "flameGraphHtml" : format.equals("pprof") ? "pprofProfile"
                : "jfrRecording";
        Path sourceFile = Paths.get(source);
        long pid = pid(source);
        byte[] content;
        String from;
        if (pid > 0 && !Files.exists(sourceFile)) {
            byte[][] result = new byte[1][];
            withVm(pid, vm -> {
                if (property(vm, RunStatus.RUNNING) == null) {
                    throw new Failure("memleak4j is not running in PID " + pid + "; 'attach " + pid + "' first");
                }
                Object value = invoke(vm, pid, operation);
                result[0] = value instanceof String ? ((String) value).getBytes(StandardCharsets.UTF_8)
                        : (byte[]) value;
                return 0;
            });
            content = result[0];
            from = "PID " + pid;
        } else {
            Snapshot snapshot;
            try {
                snapshot = JsonSnapshotReader.read(Files.readString(sourceFile));
            } catch (IOException | RuntimeException e) {
                throw new Failure("cannot read " + source + " as a JSON snapshot (json=FILE): " + message(e));
            }
            String title = "memleak4j: outstanding native memory in " + sourceFile.getFileName() + " at "
                    + snapshot.time();
            content = format.equals("flamegraph") ? FlameGraph.bytes(snapshot, title)
                    : format.equals("pprof") ? PprofProfile.gzipped(snapshot, title) : jfr(snapshot);
            from = source + " (" + snapshot.allStacks().size() + " of its " + snapshot.stackCount() + " stacks)";
        }
        Path out = Paths.get(target).toAbsolutePath();
        try {
            SafeFiles.replace(out, content);
        } catch (IOException e) {
            throw new Failure("cannot write " + out + ": " + message(e));
        }
        this.out.println("memleak4j: wrote " + out + " (" + content.length + " bytes) from " + from);
        return 0;
    }

    /** Apart, so that JMC's writer loads only for the jfr command. */
    private static byte[] jfr(Snapshot snapshot) {
        return JfrRecording.bytes(snapshot);
    }

    /** Calls an operation of the target's memleak4j MBean through its local JMX agent. */
    private static Object invoke(VirtualMachine vm, long pid, String operation) {
        String address;
        try {
            address = vm.startLocalManagementAgent();
        } catch (IOException e) {
            throw new Failure("cannot start the JMX agent of PID " + pid + ": " + message(e));
        }
        try (JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
            MBeanServerConnection server = connector.getMBeanServerConnection();
            return server.invoke(new ObjectName(NativeMemoryMXBean.OBJECT_NAME), operation, new Object[0],
                    new String[0]);
        } catch (InstanceNotFoundException e) {
            throw new Failure("PID " + pid + " has no memleak4j MBean (a runtime without java.management?)");
        } catch (MBeanException | RuntimeMBeanException e) {
            throw new Failure("PID " + pid + " could not do it: " + message(e.getCause() != null ? e.getCause() : e));
        } catch (IOException | JMException | RuntimeException e) {
            throw new Failure("asking PID " + pid + " through JMX failed: " + message(e));
        }
    }

    private interface VmAction {
        int apply(VirtualMachine vm);
    }

    private int withVm(long pid, VmAction action) {
        if (pid == ProcessHandle.current().pid()) {
            throw new Failure("PID " + pid + " is this tool itself");
        }
        Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()) {
            throw new Failure("no process with PID " + pid);
        }
        // HotSpot's attach starts with SIGQUIT, which would kill a process that is not a JVM: never send it blindly.
        if (!isJvm(pid)) {
            throw new Failure("PID " + pid + " (" + command(process.get()) + ") is not a JVM: no libjvm.so in its "
                    + "memory map");
        }
        VirtualMachine vm;
        try {
            vm = VirtualMachine.attach(String.valueOf(pid));
        } catch (AttachNotSupportedException e) {
            throw new Failure("PID " + pid + " (" + command(process.get()) + ") is not a JVM that accepts attach: "
                    + message(e) + " (not a Java process, a different user, or -XX:+DisableAttachMechanism)");
        } catch (IOException e) {
            throw new Failure("cannot attach to PID " + pid + " (" + command(process.get()) + "): " + message(e));
        }
        try {
            return action.apply(vm);
        } finally {
            try {
                vm.detach();
            } catch (IOException e) {
                // The target may have exited; nothing left to release.
            }
        }
    }

    private static void load(VirtualMachine vm, long pid, Path jar, String arguments) {
        try {
            vm.loadAgent(jar.toString(), arguments);
        } catch (AgentLoadException | AgentInitializationException e) {
            throw new Failure("PID " + pid + " refused to load " + jar + ": " + message(e));
        } catch (IOException e) {
            throw new Failure("loading the agent into PID " + pid + " failed: " + message(e));
        }
    }

    private static String property(VirtualMachine vm, String name) {
        try {
            Properties properties = vm.getSystemProperties();
            return properties.getProperty(name);
        } catch (IOException e) {
            throw new Failure("reading the system properties of PID " + vm.id() + " failed: " + message(e));
        }
    }

    private static Path agentJar() {
        Path jar = AgentLauncher.codeSource();
        if (jar == null) {
            throw new Failure("cannot tell where memleak4j-agent.jar is: its classes' code source is not a local file");
        }
        return jar.toAbsolutePath();
    }

    private static long pid(String text) {
        try {
            long pid = Long.parseLong(text.trim());
            return pid > 0 ? pid : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static boolean isJvm(long pid) {
        try (Stream<String> lines = Files.lines(Paths.get("/proc", String.valueOf(pid), "maps"))) {
            return lines.anyMatch(line -> line.endsWith("/libjvm.so"));
        } catch (IOException | UncheckedIOException e) {
            // Not readable: trust only the JVMs that announce themselves (hsperfdata).
            return VirtualMachine.list().stream().anyMatch(d -> d.id().equals(String.valueOf(pid)));
        }
    }

    private static String command(ProcessHandle process) {
        Optional<String> command = process.info().command().map(c -> Paths.get(c).getFileName().toString());
        if (command.isPresent()) {
            return command.get();
        }
        try {
            return Files.readString(Paths.get("/proc", String.valueOf(process.pid()), "comm")).trim();
        } catch (IOException e) {
            return "?";
        }
    }

    private static String message(Throwable e) {
        return e.getMessage() != null && !e.getMessage().isBlank() ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static String printable(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length() && i < 60; i++) {
            char c = text.charAt(i);
            out.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return out.toString();
    }

    /** A failure to tell the user in one line. */
    private static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Failure(String message) {
            super(message);
        }
    }
}
