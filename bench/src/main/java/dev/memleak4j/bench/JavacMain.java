package dev.memleak4j.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * The javac row's program: {@code JavacMain JAVAC-ARGS...} compiles with the JDK's compiler in this JVM (what the
 * {@code javac} launcher runs), then prints its exit code and this process's CPU time:
 *
 * <pre>BENCH javac rc=N cpu_nanos=N</pre>
 */
public final class JavacMain {
    private JavacMain() {}

    public static void main(String[] args) {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        if (compiler == null) {
            System.out.println("BENCH error no Java compiler in " + System.getProperty("java.home") + " (a JRE?)");
            System.exit(1);
        }
        int rc = compiler.run(null, null, System.err, args);
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        long cpu = os instanceof com.sun.management.OperatingSystemMXBean
                ? ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime() : -1;
        System.out.println("BENCH javac rc=" + rc + " cpu_nanos=" + cpu);
        System.out.flush();
        System.exit(rc == 0 ? 0 : 2);
    }
}
