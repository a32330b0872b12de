package dev.memleak4j.it;

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
 * loopback, as jconsole or JMC would: reads the known leak among the top stacks, changes the sample rate (the kernel
 * samples from then on), stops the probes (no BPF link left in the process) and starts them again.
 */
class JmxTest {
    private static final String LEAK_FRAME = "Java_dev_memleak4j_it_programs_LeakLib_viaMalloc";
    private static final String MANY_FRAME = "Java_dev_memleak4j_it_programs_LeakLib_mallocMany";

    @Test
    void aJmxClientWithoutOurClassesReadsTheLeakAndControlsTheProbes() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("jmx");
        int port = freePort();
        List<String> jmx = List.of("-Dcom.sun.management.jmxremote.port=" + port,
                "-Dcom.sun.management.jmxremote.authenticate=false", "-Dcom.sun.management.jmxremote.ssl=false",
                "-Dcom.sun.management.jmxremote.host=127.0.0.1", "-Djava.rmi.server.hostname=127.0.0.1");
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
            long count = Long.parseLong(many.get("allocations"));
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

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** The JmxClient JVM, its class copied alone into a directory of its own. */
    private static final class Client implements AutoCloseable {
        private final Process process;
        private final BufferedReader out;
        private final Writer in;

        private Client(Process process) {
            this.process = process;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        }

        static Client start(Path dir, int port) throws Exception {
            Path classes = dir.resolve("client-classes");
            Path relative = Paths.get("dev/memleak4j/it/jmxclient/JmxClient.class");
            Files.createDirectories(classes.resolve(relative).getParent());
            Files.copy(AgentRun.TEST_CLASSES.resolve(relative), classes.resolve(relative));
            // The target's connector comes up during its start: retry until the client connects.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                Process process = new ProcessBuilder(AgentRun.javaBinary(), "-cp", classes.toString(),
                        "dev.memleak4j.it.jmxclient.JmxClient", String.valueOf(port))
                        .redirectError(dir.resolve("client-stderr.txt").toFile()).start();
                Client client = new Client(process);
                String first = client.out.readLine();
                if ("CONNECTED".equals(first)) {
                    return client;
                }
                process.waitFor();
                if (System.nanoTime() > deadline) {
                    fail("JMX client could not connect to port " + port + ": "
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
