package dev.memleak4j.agent.jnimarks;

import dev.memleak4j.agent.nativelib.AgentJar;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Which classes get JNI marks, and the installation of the Byte Buddy transformations that put them there
 * ({@link JniWeaver}, run in a class loader of its own so that it can be let go); installed once per JVM.
 * <ul>
 *   <li>Application classes (not the JDK's) loaded from now on whose name matches {@code jni-classes}: every
 *       {@code native} method is renamed with a prefix ({@link JniWeaver#NATIVE_PREFIX}; the JVM binds it to the
 *       same C function) and a Java method of the original name, holding {@link JniAdvice}, calls it.</li>
 *   <li>JDK classes are loaded before the agent and cannot get new methods: their methods that call the natives
 *       get {@link JniAdvice} through retransformation — for {@code java.util.zip.Inflater} and {@code Deflater}
 *       a known list (constructors, inflate/deflate, setDictionary, reset), for other JDK classes named explicitly
 *       every constructor and public method.</li>
 * </ul>
 * {@code jni-classes} is a list of globs separated by {@code :} ({@code *} any characters, {@code ?} one). A glob
 * selects a JDK class ({@code java.}, {@code javax.}, {@code jdk.}, {@code sun.}, {@code com.sun.}) only when it
 * names that package itself: the default {@code *} means every application class.
 */
public final class JniWrapping {
    /**
     * {@link JniMarkBridge}'s name: the class the woven JDK code calls is the bootstrap loader's copy, reached by name
     * ({@link BootstrapBridge}); a class literal here would load the agent loader's own copy.
     */
    static final String MARK_BRIDGE = JniWrapping.class.getPackageName() + ".JniMarkBridge";
    private static final List<String> JDK_PREFIXES = List.of("java.", "javax.", "jdk.", "sun.", "com.sun.");
    private static boolean installed;
    /** While installed: the JDK classes woven, and the transformers of ours registered (application classes, watcher). */
    private static List<Class<?>> wovenJdkClasses = List.of();
    private static final List<ClassFileTransformer> transformers = new ArrayList<>();
    /** Application classes defined with wrapped native methods: their new methods cannot be taken out again. */
    private static boolean applicationClassesWrapped;

    private JniWrapping() {}

    /** One compiled glob, whether it may select JDK classes, and the class it names when it has no wildcard. */
    public record Glob(Pattern pattern, boolean jdk, String exactName) {
        boolean matches(String className, boolean jdkClass) {
            return (!jdkClass || jdk) && pattern.matcher(className).matches();
        }
    }

    /** The globs of a {@code jni-classes} value; empty for {@code none}. */
    public static List<Glob> globs(String value) {
        List<Glob> globs = new ArrayList<>();
        if (value == null || value.trim().equalsIgnoreCase("none")) {
            return globs;
        }
        for (String item : value.split(":")) {
            String glob = item.trim();
            if (glob.isEmpty()) {
                continue;
            }
            StringBuilder regex = new StringBuilder();
            for (char c : glob.toCharArray()) {
                regex.append(c == '*' ? ".*" : c == '?' ? "." : Pattern.quote(String.valueOf(c)));
            }
            int wildcard = indexOfWildcard(glob);
            String literal = wildcard < 0 ? glob : glob.substring(0, wildcard);
            boolean jdk = JDK_PREFIXES.stream().anyMatch(literal::startsWith);
            globs.add(new Glob(Pattern.compile(regex.toString()), jdk, wildcard < 0 ? glob : null));
        }
        return globs;
    }

    private static int indexOfWildcard(String glob) {
        int star = glob.indexOf('*');
        int question = glob.indexOf('?');
        return star < 0 ? question : question < 0 ? star : Math.min(star, question);
    }

    /** The agent's classes and the libraries shaded into it are never wrapped. */
    private static boolean ours(String name) {
        return name.startsWith("dev.memleak4j.agent.") || name.startsWith("dev.memleak4j.shaded.")
                || name.startsWith("net.bytebuddy.");
    }

    public static boolean isJdkClass(String name, ClassLoader loader) {
        return loader == null || loader == ClassLoader.getPlatformClassLoader()
                || JDK_PREFIXES.stream().anyMatch(name::startsWith);
    }

    /** Whether a class is wrapped: not ours, of the JDK or not as asked, and selected by a glob. */
    public static boolean selectedClass(List<Glob> globs, String name, ClassLoader loader, boolean jdk) {
        return !ours(name) && isJdkClass(name, loader) == jdk && selected(globs, name, jdk);
    }

    private static boolean selected(List<Glob> globs, String name, boolean jdk) {
        for (Glob glob : globs) {
            if (glob.matches(name, jdk)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Puts the bridge into the bootstrap loader and installs the transformations (until {@link #uninstall}). Returns
     * false, after one line through {@code log}, when the JVM does not allow it.
     */
    static synchronized boolean install(Instrumentation instrumentation, String value, boolean verbose,
                                        Consumer<String> log) {
        if (installed) {
            return true;
        }
        List<Glob> globs = globs(value);
        if (!instrumentation.isNativeMethodPrefixSupported() || !instrumentation.isRetransformClassesSupported()) {
            log.accept("note: Java callers of JNI methods will not be known: this JVM does not allow native method "
                    + "prefixes or retransformation (jni-classes)");
            return false;
        }
        injectBridge();
        // JDK classes named exactly are loaded now (not initialized), so that they are woven here at start-up: left
        // to their first use (the application's first GZIPOutputStream loads Deflater), the weaving ran on the
        // application's thread, and its code was compiled during the application's first seconds (gzip, 2-7 s).
        loadNamedJdkClasses(globs);
        List<Class<?>> loaded = new ArrayList<>();
        for (Class<?> type : instrumentation.getAllLoadedClasses()) {
            if (selectedClass(globs, type.getName(), type.getClassLoader(), true)
                    && instrumentation.isModifiableClass(type)) {
                loaded.add(type);
            }
        }
        ClassLoader loader = weaverLoader();
        List<ClassFileTransformer> stays;
        try {
            Method weave = loader.loadClass(JniWrapping.class.getPackageName() + ".JniWeaver").getMethod("weave",
                    Instrumentation.class, List.class, Class.class, List.class, boolean.class, Consumer.class);
            @SuppressWarnings("unchecked")
            List<ClassFileTransformer> registered = (List<ClassFileTransformer>) weave.invoke(null, instrumentation,
                    globs, BootstrapBridge.of(MARK_BRIDGE).type(), loaded, verbose, log);
            stays = registered;
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(String.valueOf(cause), cause);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("the JNI weaver did not load: " + e, e);
        }
        // When it stays, the registered transformer keeps the weaver's loader (for application classes loaded later);
        // otherwise Byte Buddy and the weaver become garbage with it (classes unloaded at a later full GC).
        transformers.addAll(stays);
        applicationClassesWrapped = !stays.isEmpty();
        if (stays.isEmpty()) {
            transformers.add(watchRetransformations(instrumentation, loaded, log));
        }
        wovenJdkClasses = loaded;
        installed = true;
        return true;
    }

    /**
     * Takes the JNI marks out again (detach, stopProbes): our transformers are removed and the woven JDK classes
     * retransformed without them, which gives them back their original code. Application classes already defined
     * with wrapped native methods keep them (a retransformation cannot remove methods); their advice finds the
     * bridge switched off and costs a volatile read per call. Never throws; says in one line what it could not do.
     */
    static synchronized void uninstall(Instrumentation instrumentation, Consumer<String> log) {
        if (!installed) {
            return;
        }
        installed = false;
        for (ClassFileTransformer transformer : transformers) {
            instrumentation.removeTransformer(transformer);
        }
        transformers.clear();
        unweave(instrumentation, wovenJdkClasses, log, "the JNI marks",
                "they stay, switched off (a volatile read per call)");
        wovenJdkClasses = List.of();
        if (applicationClassesWrapped) {
            log.accept("note: application classes defined while attached keep their wrapped JNI methods, switched off"
                    + " (a volatile read per call): the JVM cannot take methods out of a loaded class");
        }
    }

    /**
     * Retransforms {@code classes} once their transformer is gone, which takes the woven advice out; when the JVM
     * refuses, says in one line that {@code what} stays ({@code stays}). Never throws. The JNI marks and the owners
     * undo their weaving through it.
     */
    public static void unweave(Instrumentation instrumentation, List<Class<?>> classes, Consumer<String> log,
                               String what, String stays) {
        try {
            if (!classes.isEmpty()) {
                instrumentation.retransformClasses(classes.toArray(new Class<?>[0]));
            }
        } catch (RuntimeException | LinkageError | java.lang.instrument.UnmodifiableClassException e) {
            log.accept("note: " + what + " could not be taken out of " + classes + " (" + e + "); " + stays);
        }
    }

    /**
     * Once Byte Buddy is let go, a retransformation of a woven class by another agent (or a debugger) takes the
     * advice out again, and nothing would put it back: say so once, rather than lose the Java callers silently.
     */
    private static ClassFileTransformer watchRetransformations(Instrumentation instrumentation, List<Class<?>> woven,
                                                              Consumer<String> log) {
        Set<String> names = woven.stream().map(type -> type.getName().replace('.', '/')).collect(Collectors.toSet());
        AtomicBoolean said = new AtomicBoolean();
        ClassFileTransformer watcher = new ClassFileTransformer() {
            @Override
            public byte[] transform(Module module, ClassLoader loader, String name, Class<?> redefined,
                                    ProtectionDomain domain, byte[] classFile) {
                if (redefined != null && names.contains(name) && !said.getAndSet(true)) {
                    log.accept("note: " + name.replace('/', '.') + " was retransformed by another agent: the JNI "
                            + "marks in it are gone, its allocations will show no Java callers from now on");
                }
                return null;
            }
        };
        instrumentation.addTransformer(watcher, true);
        return watcher;
    }

    /** The weavers' loader while something still holds it: one copy of Byte Buddy for the JNI marks and the owners. */
    private static java.lang.ref.WeakReference<WeaverLoader> weaverLoader = new java.lang.ref.WeakReference<>(null);

    /**
     * The loader of the weavers ({@link JniWeaver}, the owners' weaver) and of Byte Buddy: shared, so that Byte
     * Buddy is defined once; held only weakly here, so that it is let go once no transformer of it stays registered.
     */
    public static synchronized ClassLoader weaverLoader() {
        WeaverLoader loader = weaverLoader.get();
        if (loader == null) {
            loader = new WeaverLoader(JniWrapping.class.getClassLoader());
            weaverLoader = new java.lang.ref.WeakReference<>(loader);
        }
        return loader;
    }

    /**
     * The class loader of {@link JniWeaver}, {@link JniAdvice} and the shaded Byte Buddy: they are defined here from
     * the agent jar's bytes, everything else comes from the agent's loader (the parent). Classes of a loader can be
     * unloaded together once nothing refers to it.
     */
    static final class WeaverLoader extends ClassLoader {
        static {
            registerAsParallelCapable();
        }

        private final ClassLoader agentLoader;

        WeaverLoader(ClassLoader agentLoader) {
            super("memleak4j-weaver", agentLoader);
            this.agentLoader = agentLoader;
        }

        static boolean definedHere(String name) {
            String jni = JniWrapping.class.getPackageName() + ".";
            String owners = "dev.memleak4j.agent.owners.";
            return name.startsWith("dev.memleak4j.shaded.bytebuddy.") || name.startsWith(jni + "JniWeaver")
                    || name.startsWith(jni + "JniAdvice") || name.startsWith(owners + "OwnerWeaver")
                    || name.startsWith(owners + "OwnerAdvice");
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!definedHere(name)) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> type = findLoadedClass(name);
                if (type == null) {
                    byte[] classFile;
                    try {
                        classFile = classFile(agentLoader, name);
                    } catch (IOException e) {
                        throw new ClassNotFoundException(name, e);
                    }
                    if (classFile == null) {
                        throw new ClassNotFoundException(name);
                    }
                    type = defineClass(name, classFile, 0, classFile.length,
                            JniWrapping.class.getProtectionDomain());
                }
                if (resolve) {
                    resolveClass(type);
                }
                return type;
            }
        }

        /**
         * Class files as the agent's loader holds them: Byte Buddy reads the advice classes' files through their
         * loader, and the agent's classes are no entries of the jar that the class path could find (they are in its
         * class pack, dev.memleak4j.boot.AgentClassPack).
         */
        @Override
        public InputStream getResourceAsStream(String name) {
            if (name.startsWith("dev/memleak4j/agent/") && name.endsWith(".class")) {
                try {
                    byte[] classFile = classFile(agentLoader,
                            name.substring(0, name.length() - ".class".length()).replace('/', '.'));
                    if (classFile != null) {
                        return new ByteArrayInputStream(classFile);
                    }
                } catch (IOException e) {
                    // as for any other resource: the parents are asked
                }
            }
            return super.getResourceAsStream(name);
        }
    }

    /** Loads (without initializing) each JDK class named without a wildcard; a name that is no class is skipped. */
    private static void loadNamedJdkClasses(List<Glob> globs) {
        for (Glob glob : globs) {
            if (glob.jdk() && glob.exactName() != null) {
                try {
                    Class.forName(glob.exactName(), false, ClassLoader.getPlatformClassLoader());
                } catch (ClassNotFoundException | LinkageError e) {
                    // not a class of the JDK this runs on: nothing to wrap
                }
            }
        }
    }

    /** Defines {@link JniMarkBridge} (and its nested class) in the bootstrap loader, from the agent's own bytes. */
    private static void injectBridge() {
        defineInBootstrap(MARK_BRIDGE, MARK_BRIDGE + "$ThreadSlot");
    }

    /**
     * Defines classes of the agent in the bootstrap loader, from the agent jar's bytes, unless the first is there
     * already (a second start in this JVM): code woven into JDK classes can call only what that loader sees.
     */
    public static void defineInBootstrap(String... classNames) {
        try {
            Class.forName(classNames[0], false, null);
            return;
        } catch (ClassNotFoundException e) {
            // define them below
        }
        for (String className : classNames) {
            byte[] classFile;
            try {
                classFile = classFile(JniWrapping.class.getClassLoader(), className);
            } catch (IOException e) {
                throw new IllegalStateException("could not read " + className + ": " + e.getMessage(), e);
            }
            if (classFile == null) {
                throw new IllegalStateException(className + " is missing from the agent jar");
            }
            if (!BootstrapClasses.define(className, classFile)) {
                throw new IllegalStateException("the JVM refused to define " + className + " in the bootstrap loader");
            }
        }
    }

    /**
     * The class file of {@code className} in the agent jar, which {@code loader} loads the agent from; null when it has
     * none. Read from the jar itself ({@link AgentJar}): the loader's lookup would search the JDK's modules first.
     */
    private static byte[] classFile(ClassLoader loader, String className) throws IOException {
        String entry = className.replace('.', '/') + ".class";
        if (loader == AgentJar.class.getClassLoader()) {
            return AgentJar.read(entry);
        }
        try (InputStream in = loader.getResourceAsStream(entry)) {
            return in == null ? null : in.readAllBytes();
        }
    }

}
