package dev.memleak4j.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The agent never makes the platform MBeanServer itself (it would load hundreds of JMX classes and keep their objects
 * in every JVM): a JVM with the agent that uses no JMX has no MBeanServer and never loads the JDK's MBeanServer class;
 * whoever makes the platform server later finds the agent's MBean in it, with the known leak exact: the application
 * itself, and a JMX client attaching locally as jconsole does (the target's Attach Listener, with no context class
 * loader, starts the local JMX agent). A builder of the application's own stays in place, and the MBean registers.
 */
class PlatformMBeanServerTest {
    private static final String OPTIONS = "interval=1,older=0,sample-bytes=0,min-size=1999993,max-size=1999993";
    private static final String MBEAN_SERVER_CLASS = "com.sun.jmx.mbeanserver.JmxMBeanServer ";
    private static final String WAITING = "SERVERS 0 BUILDER dev.memleak4j.agent.jmx.PlatformServerBuilder";

    @Test
    void theApplicationMakesThePlatformServerLateAndFindsTheMBean() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("platform-mbs");
        Path classes = dir.resolve("classes.txt");
        try (LiveProgram program = LiveProgram.leakProgram(dir, OPTIONS,
                List.of("-Xlog:class+load=info:file=" + classes), "three-leaks")) {
            program.await("LEAKS DONE", 30);
            program.send("servers");
            assertEquals(WAITING, program.await("SERVERS", 30));
            Thread.sleep(2500); // reports come and go: still none made
            program.send("servers");
            assertEquals(WAITING, program.await("SERVERS", 30));
            assertFalse(Files.readString(classes).contains(MBEAN_SERVER_CLASS), "the platform MBeanServer was made");

            program.send("platform-mbean " + JmxTest.LEAK_FRAME);
            // The builder property is gone once the platform server is made; a server of the application's own
            // has no memleak4j MBean.
            assertEquals("MBEAN running 5999979 3 OWN false", program.await("MBEAN", 30));
            assertEquals("SERVERS 1 BUILDER null", program.await("SERVERS", 30));
            assertTrue(Files.readString(classes).contains(MBEAN_SERVER_CLASS));
        }
    }

    /** An application server's builder, set at the JVM's start: the agent registers at its start, as before. */
    @Test
    void aBuilderOfTheApplicationsOwnAtStartKeepsTheRegistrationAtStart() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("platform-mbs-own-builder");
        try (LiveProgram program = LiveProgram.leakProgram(dir, OPTIONS,
                List.of("-Djavax.management.builder.initial=javax.management.MBeanServerBuilder"), "three-leaks")) {
            program.await("LEAKS DONE", 30);
            program.send("servers");
            assertEquals("SERVERS 1 BUILDER javax.management.MBeanServerBuilder", program.await("SERVERS", 30));
            program.send("platform-mbean " + JmxTest.LEAK_FRAME);
            assertEquals("MBEAN running 5999979 3 OWN false", program.await("MBEAN", 30));
        }
    }

    /** One set after the agent's start, before the platform server is made: registered after the next report. */
    @Test
    void aBuilderOfTheApplicationsOwnSetLaterStillGetsTheMBean() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("platform-mbs-late-builder");
        try (LiveProgram program = LiveProgram.leakProgram(dir, OPTIONS, List.of(), "three-leaks")) {
            program.await("LEAKS DONE", 30);
            program.send("builder javax.management.MBeanServerBuilder");
            assertEquals("SERVERS 0 BUILDER javax.management.MBeanServerBuilder", program.await("SERVERS", 30));
            program.send("platform-mbean " + JmxTest.LEAK_FRAME);
            assertEquals("MBEAN running 5999979 3 OWN false", program.await("MBEAN", 30));
            // The application's builder stays.
            assertEquals("SERVERS 1 BUILDER javax.management.MBeanServerBuilder", program.await("SERVERS", 30));
        }
    }

    @Test
    void aJmxClientAttachingLocallyFindsTheMBean() throws Exception {
        attachLocally(AgentRun.javaBinary(), "platform-mbs-attach");
    }

    @Test
    void aJmxClientAttachingLocallyFindsTheMBeanOnJdk25() throws Exception {
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        attachLocally(AgentRun.JDK25.toString(), "platform-mbs-attach-25");
    }

    private static void attachLocally(String java, String name) throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir(name);
        try (LiveProgram program = LiveProgram.leakProgram(dir, java, OPTIONS, List.of(), "three-leaks")) {
            program.await("LEAKS DONE", 30);
            program.send("servers");
            assertEquals(WAITING, program.await("SERVERS", 30));
            try (JmxTest.Client client = JmxTest.Client.start(dir, "pid=" + program.pid())) {
                Map<String, String> leak = client.awaitStack(JmxTest.LEAK_FRAME, 15);
                assertEquals("5999979", leak.get("bytes"), leak.toString());
                assertEquals("3", leak.get("allocations"), leak.toString());
                assertEquals("OK running", client.value("Status"));
            }
            program.send("servers");
            assertEquals("SERVERS 1 BUILDER null", program.await("SERVERS", 30));
        }
    }
}
