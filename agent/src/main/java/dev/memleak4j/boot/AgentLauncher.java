package dev.memleak4j.boot;

import java.io.IOException;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.CodeSource;
import java.util.zip.ZipFile;

/**
 * The agent jar's entry points (its manifest's {@code Premain-Class}, {@code Agent-Class} and {@code Main-Class}):
 * the only classes the application's class loader loads from the jar besides the JFR events. Each hands over to the
 * agent's own classes ({@code dev.memleak4j.agent.AgentEntry}, {@code dev.memleak4j.agent.cli.JarMain}), defined
 * from the jar's {@link AgentClassPack} by an {@link AgentClassLoader}.
 *
 * <p>Where the agent's classes are not packed (a jar built without the pack, the classes' directory), they come from
 * this class's own loader, as ordinary classes.
 */
public final class AgentLauncher {
    private static final String AGENT_ENTRY = "dev.memleak4j.agent.AgentEntry";
    private static final String COMMAND_LINE = "dev.memleak4j.agent.cli.JarMain";
    /**
     * One per JVM, kept: an attach after a detach must reach the first start's classes, whose native library no other
     * loader may load again.
     */
    private static ClassLoader agentLoader;

    private AgentLauncher() {}

    /** {@code java -javaagent:memleak4j-agent.jar[=options]}. */
    public static void premain(String arguments, Instrumentation instrumentation) {
        enter("premain", arguments, instrumentation);
    }

    /** Loaded into a running JVM through the Attach API. */
    public static void agentmain(String arguments, Instrumentation instrumentation) {
        enter("agentmain", arguments, instrumentation);
    }

    /** {@code java -jar memleak4j-agent.jar ...}: the attach command line. */
    public static void main(String[] args) throws Throwable {
        Method main;
        try {
            main = agentLoader().loadClass(COMMAND_LINE).getMethod("main", String[].class);
        } catch (IOException e) {
            System.err.println("memleak4j: the agent's classes could not be read from its jar (" + e + ")");
            System.exit(1);
            return;
        }
        try {
            main.invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** Never throws: a Java agent's exception would end the JVM it was given to. */
    private static void enter(String entryPoint, String arguments, Instrumentation instrumentation) {
        Method entry;
        try {
            entry = agentLoader().loadClass(AGENT_ENTRY).getMethod(entryPoint, String.class, Instrumentation.class);
        } catch (IOException | ReflectiveOperationException | RuntimeException | LinkageError e) {
            System.err.println("memleak4j: not started: the agent's classes could not be read from its jar (" + e
                    + "); the application runs on without memleak4j");
            return;
        }
        try {
            entry.invoke(null, arguments, instrumentation);
        } catch (InvocationTargetException | IllegalAccessException e) {
            // AgentEntry catches whatever its start throws; this is an error that got past it (out of memory, ...).
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            System.err.println("memleak4j: not started: " + cause + "; the application runs on without memleak4j");
        }
    }

    static synchronized ClassLoader agentLoader() throws IOException {
        if (agentLoader == null) {
            agentLoader = createLoader();
        }
        return agentLoader;
    }

    /**
     * The jar the agent was loaded from (in the unit tests, the classes' directory); null when that is not a local
     * file. The agent's packed classes carry the same code source.
     */
    public static Path codeSource() {
        CodeSource source = AgentLauncher.class.getProtectionDomain().getCodeSource();
        try {
            return source == null || source.getLocation() == null ? null : Paths.get(source.getLocation().toURI());
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }

    private static ClassLoader createLoader() throws IOException {
        ClassLoader own = AgentLauncher.class.getClassLoader();
        Path jar = codeSource();
        if (jar == null || !Files.isRegularFile(jar)) {
            return own; // no jar of its own: the classes can only come from this class's loader
        }
        AgentClassPack pack;
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            pack = AgentClassPack.read(zip);
        }
        if (pack == null) {
            return own;
        }
        Package launcherPackage = AgentLauncher.class.getPackage();
        return new AgentClassLoader(pack, own, AgentLauncher.class.getProtectionDomain().getCodeSource(),
                launcherPackage.getImplementationTitle(), launcherPackage.getImplementationVersion());
    }
}
