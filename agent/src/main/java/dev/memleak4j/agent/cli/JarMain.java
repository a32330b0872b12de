package dev.memleak4j.agent.cli;

/**
 * {@code java -jar memleak4j-agent.jar attach|detach|list|help}: the jar's Main-Class. Kept tiny so that a Java
 * without the Attach API (a JRE, a jlinked image without jdk.attach) gets one clear line instead of a
 * NoClassDefFoundError from the command-line tool.
 */
public final class JarMain {
    private JarMain() {}

    public static void main(String[] args) {
        if (ModuleLayer.boot().findModule("jdk.attach").isEmpty()) {
            System.err.println("memleak4j: this Java (" + System.getProperty("java.home") + ") has no Attach API "
                    + "(module jdk.attach): run the jar with a JDK's java");
            System.exit(2);
        }
        System.exit(AttachCommand.run(args, System.out, System.err));
    }
}
