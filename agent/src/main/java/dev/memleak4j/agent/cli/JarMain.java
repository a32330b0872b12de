package dev.memleak4j.agent.cli;

import dev.memleak4j.agent.views.cost.ViewsCost;

import java.util.Arrays;

/**
 * {@code java -jar memleak4j-agent.jar attach|detach|list|help|...}: the jar's Main-Class. Kept tiny so that a Java
 * without the Attach API (a JRE, a jlinked image without jdk.attach) gets one clear line instead of a
 * NoClassDefFoundError from the command-line tool.
 *
 * <p>{@code views-cost} needs no Attach API and runs before that check. It is a command of the jar, not a class to
 * run with {@code -cp}: the agent's classes are defined from the jar's class pack, not found on a class path.
 */
public final class JarMain {
    private JarMain() {}

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("views-cost")) {
            try {
                ViewsCost.main(Arrays.copyOfRange(args, 1, args.length));
            } catch (IllegalArgumentException e) {
                System.err.println("memleak4j: views-cost: " + e.getMessage() + "; usage: " + ViewsCost.COMMAND);
                System.exit(2);
            }
            return;
        }
        if (ModuleLayer.boot().findModule("jdk.attach").isEmpty()) {
            System.err.println("memleak4j: this Java (" + System.getProperty("java.home") + ") has no Attach API "
                    + "(module jdk.attach): run the jar with a JDK's java");
            System.exit(2);
        }
        System.exit(AttachCommand.run(args, System.out, System.err));
    }
}
