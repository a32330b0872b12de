package dev.memleak4j.it.jmxclient;

import javax.management.Attribute;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A JMX client as any tool is one: run from a directory holding only this class, so no memleak4j class can be on its
 * class path. {@code JmxClient PORT} (a {@code com.sun.management.jmxremote.port}) or {@code JmxClient pid=PID} (a
 * local attach, as jconsole, JMC and VisualVM make it: the target starts its local JMX agent), then one command a
 * line on stdin; each answer ends with a line {@code END}:
 * {@code get NAME}, {@code set NAME long|int VALUE}, {@code invoke OP [long ...]}, {@code save OP FILE} (a String
 * result to FILE), {@code classes} (whether a
 * memleak4j class loads here). Values print as {@code OK value}, failures as {@code ERR message}; a CompositeData
 * prints {@code key=value} a line, arrays joined with {@code " | "}.
 */
public final class JmxClient {
    private JmxClient() {}

    public static void main(String[] args) throws Exception {
        JMXServiceURL url = new JMXServiceURL(args[0].startsWith("pid=")
                ? com.sun.tools.attach.VirtualMachine.attach(args[0].substring(4)).startLocalManagementAgent()
                : "service:jmx:rmi:///jndi/rmi://127.0.0.1:" + args[0] + "/jmxrmi");
        try (JMXConnector connector = JMXConnectorFactory.connect(url)) {
            MBeanServerConnection server = connector.getMBeanServerConnection();
            ObjectName name = new ObjectName("memleak4j:type=NativeMemory");
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            System.out.println("CONNECTED");
            System.out.flush();
            for (String line = in.readLine(); line != null && !line.equals("exit"); line = in.readLine()) {
                String[] words = line.split(" ");
                try {
                    switch (words[0]) {
                        case "get":
                            print(server.getAttribute(name, words[1]));
                            break;
                        case "set":
                            Object value = words[2].equals("int") ? (Object) Integer.valueOf(words[3])
                                    : (Object) Long.valueOf(words[3]);
                            server.setAttribute(name, new Attribute(words[1], value));
                            System.out.println("OK");
                            break;
                        case "invoke":
                            Object[] params = new Object[words.length - 2];
                            String[] signature = new String[params.length];
                            for (int i = 0; i < params.length; i++) {
                                params[i] = Long.valueOf(words[i + 2]);
                                signature[i] = "long";
                            }
                            print(server.invoke(name, words[1], params, signature));
                            break;
                        case "save":
                            // An operation's String result, to a file as it is (JSON keeps its line breaks).
                            Object result = server.invoke(name, words[1], new Object[0], new String[0]);
                            java.nio.file.Files.writeString(java.nio.file.Paths.get(words[2]), String.valueOf(result));
                            System.out.println("OK saved");
                            break;
                        case "classes":
                            try {
                                Class.forName("dev.memleak4j.agent.jmx.NativeMemoryMXBean");
                                System.out.println("OK present");
                            } catch (ClassNotFoundException e) {
                                System.out.println("OK absent");
                            }
                            break;
                        default:
                            System.out.println("ERR unknown command " + line);
                    }
                } catch (Exception e) {
                    Throwable cause = e;
                    while (cause.getCause() != null) {
                        cause = cause.getCause();
                    }
                    System.out.println("ERR " + cause);
                }
                System.out.println("END");
                System.out.flush();
            }
        }
    }

    private static void print(Object value) {
        if (value instanceof CompositeData[]) {
            for (CompositeData data : (CompositeData[]) value) {
                System.out.println("ITEM");
                printComposite(data);
            }
        } else if (value instanceof CompositeData) {
            printComposite((CompositeData) value);
        } else {
            System.out.println("OK " + String.valueOf(value).replace("\n", "\\n"));
        }
    }

    private static void printComposite(CompositeData data) {
        for (String key : data.getCompositeType().keySet()) {
            Object item = data.get(key);
            String text = item instanceof Object[] ? String.join(" | ", Arrays.stream((Object[]) item)
                    .map(String::valueOf).toArray(String[]::new)) : String.valueOf(item);
            System.out.println(key + "=" + text);
        }
    }
}
