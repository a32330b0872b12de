package dev.memleak4j.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A second JVM with no memleak4j class on its class path talks to memleak4j's MBean over a real JMX connector on
 * loopback, as jconsole or JMC would: reads the known leak among the top stacks and through the jsonSnapshot
 * operation, sets each writable attribute (Top, IntervalSeconds, SampleRate) and the size range and sees the next
 * reports change, stops the probes (no BPF link left in the process) and starts them again; on JDK 25 too; and in a
 * JVM where the agent could not start, reads why.
 */
class JmxTest {
    static final String LEAK_FRAME = "Java_dev_memleak4j_it_programs_LeakLib_viaMalloc";
    private static final String MANY_FRAME = "Java_dev_memleak4j_it_programs_LeakLib_mallocMany";

    @Test
    void aJmxClientWithoutOurClassesReadsTheLeakAndControlsTheProbes() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("jmx");
        int port = freePort();
        List<String> jmx = jmxFlags(port);
        try (LiveProgram program = LiveProgram.leakProgram(dir,
                "interval=1,older=0,top=20,sample-bytes=0,min-size=4099", jmx,
                "three-leaks"); Client client = Client.start(dir, port)) {
            program.await("LEAKS DONE", 30);
            assertEquals("OK absent", client.call("classes").get(0));

            Map<String, String> leak = client.awaitStack(LEAK_FRAME, 10);
            assertEquals("5999979", leak.get("bytes"), leak.toString());
            assertEquals("3", leak.get("allocations"), leak.toString());
            assertTrue(leak.get("frames").startsWith(LEAK_FRAME + "+0x"), leak.toString());
            assertEquals("OK running", client.value("Status"));
            assertTrue(Long.parseLong(client.value("OutstandingBytes").substring(3)) >= 5_999_979L);
            assertEquals("OK false", client.value("Estimated"));

            client.call("invoke resetBaseline");
            assertEquals("0", client.awaitStack(LEAK_FRAME, 1).get("growthSinceBaselineBytes"));

            // The jsonSnapshot operation: the documented document, with the leak exact.
            Path json = dir.resolve("operation.json");
            assertEquals("OK saved", client.call("save jsonSnapshot " + json).get(0));
            JsonNode document = new ObjectMapper().readTree(Files.readString(json));
            assertEquals("memleak4j-snapshot", document.get("schema").asText());
            JsonNode leakStack = null;
            for (JsonNode stack : document.get("stacks")) {
                if (stack.get("topNativeFrame").asText("").startsWith(LEAK_FRAME)) {
                    assertEquals(null, leakStack, "one stack from " + LEAK_FRAME + ": " + document);
                    leakStack = stack;
                }
            }
            assertTrue(leakStack != null, document.toPrettyString());
            assertEquals(5_999_979L, leakStack.get("bytes").asLong());
            assertEquals(3, leakStack.get("allocations").asLong());

            // Top: the next report holds one stack.
            assertEquals("OK", client.call("set Top int 1").get(0));
            client.awaitNextSnapshot(); // a report already under way when the setting changed keeps the old one
            client.awaitNextSnapshot();
            assertEquals(1, client.call("get TopStacks").stream().filter("ITEM"::equals).count());
            String text = client.call("invoke textSnapshot").get(0);
            assertTrue(text.contains("] Top 1 stacks with outstanding allocations:"), text);
            assertEquals(1, text.split("allocations from stack", -1).length - 1, text);
            assertEquals("OK", client.call("set Top int 20").get(0));
            assertEquals("OK 20", client.value("Top"));

            // IntervalSeconds: reports come on a fixed schedule (a late one is followed by the next due time, never
            // earlier), so in 6.5 s at 3 s at most 3 new reports can appear, where 1 s would have made 6 or more.
            assertEquals("OK", client.call("set IntervalSeconds int 3").get(0));
            assertEquals("3", client.composite("Settings").get("intervalSeconds"));
            client.awaitNextSnapshot();
            java.util.Set<String> seen = new java.util.HashSet<>();
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(6500);
            while (System.nanoTime() < end) {
                seen.add(client.value("SnapshotTime"));
                Thread.sleep(100);
            }
            assertTrue(seen.size() >= 2 && seen.size() <= 4, "reports seen in 6.5 s at interval 3: " + seen);
            assertEquals("OK", client.call("set IntervalSeconds int 1").get(0));
            client.awaitNextSnapshot();

            // setSizeRange: the kernel tracks only what is in range from then on. 4100 and up: the 4099-byte
            // blocks go untracked; then exactly 4099: all 10,000 of them, and nothing of the JVM's.
            assertEquals("OK null", client.call("invoke setSizeRange 4100 1099511627776").get(0));
            program.send("many");
            assertEquals("MADE 10000", program.await("MADE", 30));
            client.awaitNextSnapshot();
            client.awaitNextSnapshot();
            assertTrue(client.call("get TopStacks").stream().noneMatch(l -> l.startsWith("topNativeFrame=" + MANY_FRAME)),
                    "4099-byte blocks tracked below the range");
            assertEquals("OK null", client.call("invoke setSizeRange 4099 4099").get(0));
            program.send("many");
            assertEquals("MADE 10000", program.await("MADE", 30));
            client.awaitNextSnapshot();
            client.awaitNextSnapshot();
            Map<String, String> exact = client.awaitStack(MANY_FRAME, 10);
            assertEquals("10000", exact.get("allocations"), exact.toString());
            assertEquals(String.valueOf(10_000L * 4099), exact.get("bytes"), exact.toString());

            // One allocation in 10 from now on, in the kernel: 10,000 leaks of 4099 bytes show as ~1,000 x 10.
            assertEquals("OK", client.call("set SampleRate long 10").get(0));
            assertEquals("10", client.composite("Settings").get("sampleRate"));
            program.send("many");
            assertEquals("MADE 10000", program.await("MADE", 30));
            // TopStacks comes from the last interval's report, which may have been taken mid-burst: wait for the
            // first report after the burst (its count stops changing).
            Map<String, String> many = client.awaitStack(MANY_FRAME, 10);
            for (int i = 0; i < 20; i++) {
                Thread.sleep(1200); // longer than interval=1: the next read comes from a newer report
                Map<String, String> next = client.awaitStack(MANY_FRAME, 10);
                boolean settled = next.get("allocations").equals(many.get("allocations"));
                many = next;
                if (settled) {
                    break;
                }
            }
            // The 10,000 tracked one by one before keep their weight; the new 10,000 are sampled 1 in 10.
            long count = Long.parseLong(many.get("allocations")) - 10_000;
            assertEquals(0, count % 10, many.toString());
            assertTrue(count >= 7_500 && count <= 12_500, many.toString());
            assertEquals("OK true", client.value("Estimated"));
            assertTrue(client.value("ProbeMode").contains("1 in 10 allocations sampled"), client.value("ProbeMode"));
            assertTrue(client.call("invoke textSnapshot").get(0).contains("(estimated: 1 in 10 allocations sampled)"));

            // Five stops and starts: each stop leaves no BPF fd and no mapped BPF map in the process (the JNI marks'
            // array is mapped into the JVM; a mapping would keep its map alive after its fd is closed).
            for (int cycle = 1; cycle <= 5; cycle++) {
                BpfObjects running = BpfObjects.of(program.pid());
                assertTrue(running.fds() > 0 && running.mappings() > 0, "cycle " + cycle + " running: " + running);
                client.call("invoke stopProbes");
                assertEquals("OK stopped: probes stopped", client.value("Status"));
                assertEquals("OK 0", client.value("AttachedProbes"));
                assertEquals("OK 0", client.value("AllocatorCallCostNanos"), "no probes, no cost");
                assertTrue(client.value("ProbeMode").startsWith("OK stopped"));
                assertEquals(new BpfObjects(0, 0), BpfObjects.of(program.pid()),
                        "cycle " + cycle + " stopped (" + running + " while running)");

                client.call("invoke startProbes");
                assertEquals("OK running", client.value("Status"));
                assertTrue(Integer.parseInt(client.value("AttachedProbes").substring(3)) > 0);
                // timed again at this start, on the JMX client's connection thread (how much is the host's business;
                // with the in-process hooks, the default, a few ns that can round to 0)
                long cost = Long.parseLong(client.value("AllocatorCallCostNanos").substring(3));
                assertTrue(cost > 0 || client.value("ProbeMode").contains("in-process hooks"),
                        "AllocatorCallCostNanos " + cost + ", " + client.value("ProbeMode"));
            }
            assertEquals(0, program.exit(), program.stderrText());
        }
    }

    /**
     * A JVM where the agent could not start (no BPF capabilities, under capsh) still has the MBean, and its Status
     * says why, as the agent's own line did.
     */
    @Test
    void whereTheAgentCouldNotStartTheMBeanSaysWhy() throws Exception {
        Path capsh = Paths.get("/usr/sbin/capsh");
        Privileges.require(Files.isExecutable(capsh), "capsh (libcap2-bin) is not installed");
        Path dir = AgentRun.tempDir("jmx-not-started");
        int port = freePort();
        try (LiveProgram program = LiveProgram.startWrapped(dir, "interval=1", AgentRun.programCommand(
                AgentRun.javaBinary(), jmxFlags(port), "dev.memleak4j.it.programs.LeakProgram", "three-leaks", "-1"),
                List.of(capsh.toString(), "--drop=cap_bpf,cap_perfmon,cap_sys_admin", "--", "-c"));
             Client client = Client.start(dir, port)) {
            program.await("LEAKS DONE", 30);
            String status = client.value("Status");
            assertTrue(status.startsWith("OK not started: ") && status.contains("lacks CAP_BPF and CAP_PERFMON"),
                    status + "\n" + program.stderrText());
            assertTrue(program.stderrText().contains(status.substring("OK not started: ".length())),
                    "the same reason as the agent's line:\n" + program.stderrText());
            assertEquals("OK false", client.value("Running"));
            assertEquals(0, program.exit(), program.stderrText());
        }
    }

    /** On JDK 25: connect, read the leak exactly, and the jsonSnapshot operation's document says the same. */
    @Test
    void aJmxClientReadsTheLeakOnJdk25() throws Exception {
        Privileges.assumeBpf();
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        Path dir = AgentRun.tempDir("jmx-25");
        int port = freePort();
        try (LiveProgram program = LiveProgram.leakProgram(dir, AgentRun.JDK25.toString(),
                "interval=1,older=0,top=20,sample-bytes=0,min-size=4099", jmxFlags(port), "three-leaks");
             Client client = Client.start(dir, port)) {
            program.await("LEAKS DONE", 30);
            Map<String, String> leak = client.awaitStack(LEAK_FRAME, 10);
            assertEquals("5999979", leak.get("bytes"), leak.toString());
            assertEquals("3", leak.get("allocations"), leak.toString());
            assertEquals("OK running", client.value("Status"));
            Path json = dir.resolve("operation.json");
            assertEquals("OK saved", client.call("save jsonSnapshot " + json).get(0));
            long bytes = 0;
            for (JsonNode stack : new ObjectMapper().readTree(Files.readString(json)).get("stacks")) {
                if (stack.get("topNativeFrame").asText("").startsWith(LEAK_FRAME)) {
                    bytes += stack.get("bytes").asLong();
                }
            }
            assertEquals(5_999_979L, bytes);
            assertEquals(0, program.exit(), program.stderrText());
        }
    }

    static List<String> jmxFlags(int port) {
        return List.of("-Dcom.sun.management.jmxremote.port=" + port,
                "-Dcom.sun.management.jmxremote.authenticate=false", "-Dcom.sun.management.jmxremote.ssl=false",
                "-Dcom.sun.management.jmxremote.host=127.0.0.1", "-Djava.rmi.server.hostname=127.0.0.1");
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** The JmxClient JVM, its class copied alone into a directory of its own. */
    static final class Client implements AutoCloseable {
        private final Process process;
        private final BufferedReader out;
        private final Writer in;

        private Client(Process process) {
            this.process = process;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        }

        static Client start(Path dir, int port) throws Exception {
            return start(dir, String.valueOf(port));
        }

        /** {@code target}: a port, or {@code pid=PID} for a local attach (see JmxClient). */
        static Client start(Path dir, String target) throws Exception {
            Path classes = dir.resolve("client-classes");
            Path relative = Paths.get("dev/memleak4j/it/jmxclient/JmxClient.class");
            Files.createDirectories(classes.resolve(relative).getParent());
            Files.copy(AgentRun.TEST_CLASSES.resolve(relative), classes.resolve(relative));
            // The target's connector comes up during its start: retry until the client connects.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                Process process = new ProcessBuilder(AgentRun.javaBinary(), "-cp", classes.toString(),
                        "dev.memleak4j.it.jmxclient.JmxClient", target)
                        .redirectError(dir.resolve("client-stderr.txt").toFile()).start();
                Client client = new Client(process);
                String first = client.out.readLine();
                if ("CONNECTED".equals(first)) {
                    return client;
                }
                process.waitFor();
                if (System.nanoTime() > deadline) {
                    fail("JMX client could not connect to " + target + ": "
                            + Files.readString(dir.resolve("client-stderr.txt")));
                }
                Thread.sleep(300);
            }
        }

        List<String> call(String command) throws IOException {
            in.write(command + "\n");
            in.flush();
            List<String> lines = new ArrayList<>();
            for (String line = out.readLine(); line != null && !line.equals("END"); line = out.readLine()) {
                lines.add(line);
            }
            return lines;
        }

        String value(String attribute) throws IOException {
            return call("get " + attribute).get(0);
        }

        Map<String, String> composite(String attribute) throws IOException {
            return keyValues(call("get " + attribute));
        }

        /** Waits (at most 15 s) for a report newer than the one the MBean shows now. */
        void awaitNextSnapshot() throws Exception {
            String now = value("SnapshotTime");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (value("SnapshotTime").equals(now)) {
                if (System.nanoTime() > deadline) {
                    fail("no report after " + now + " in 15 s");
                }
                Thread.sleep(100);
            }
        }

        /** Waits until TopStacks holds a stack whose direct caller starts with {@code frame}. */
        Map<String, String> awaitStack(String frame, int seconds) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            List<String> lines;
            do {
                lines = call("get TopStacks");
                List<String> item = new ArrayList<>();
                for (String line : lines) {
                    if (line.equals("ITEM")) {
                        item = new ArrayList<>();
                    } else {
                        item.add(line);
                        Map<String, String> stack = keyValues(item);
                        if (stack.containsKey("topNativeFrame") && stack.containsKey("frames")
                                && stack.getOrDefault("topNativeFrame", "").startsWith(frame)) {
                            return stack;
                        }
                    }
                }
                Thread.sleep(200);
            } while (System.nanoTime() < deadline);
            fail("no top stack from " + frame + " in " + seconds + " s: " + lines);
            return null;
        }

        private static Map<String, String> keyValues(List<String> lines) {
            Map<String, String> values = new HashMap<>();
            for (String line : lines) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    values.put(line.substring(0, eq), line.substring(eq + 1));
                }
            }
            return values;
        }

        @Override
        public void close() throws Exception {
            in.write("exit\n");
            in.flush();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
