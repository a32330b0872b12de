package dev.memleak4j.agent.jni;

import net.bytebuddy.ByteBuddy;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.dynamic.scaffold.TypeValidation;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.matcher.ElementMatcher;
import net.bytebuddy.utility.JavaModule;

import dev.memleak4j.agent.bpf.BpfTracker;

import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.regex.Pattern;

import static net.bytebuddy.matcher.ElementMatchers.declaresMethod;
import static net.bytebuddy.matcher.ElementMatchers.isAbstract;
import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isNative;
import static net.bytebuddy.matcher.ElementMatchers.isPublic;
import static net.bytebuddy.matcher.ElementMatchers.isSynthetic;
import static net.bytebuddy.matcher.ElementMatchers.isTypeInitializer;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.namedOneOf;
import static net.bytebuddy.matcher.ElementMatchers.not;

/**
 * Which classes get JNI marks, and the Byte Buddy transformations that put them there; installed once per JVM.
 * <ul>
 *   <li>Application classes (not the JDK's) loaded from now on whose name matches {@code jni-classes}: every
 *       {@code native} method is renamed with a prefix ({@link #NATIVE_PREFIX}; the JVM binds it to the same C
 *       function) and a Java method of the original name, holding {@link JniAdvice}, calls it.</li>
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
    static final String NATIVE_PREFIX = "memleak4j$jni$";
    private static final List<String> JDK_PREFIXES = List.of("java.", "javax.", "jdk.", "sun.", "com.sun.");
    private static final Map<String, Set<String>> KNOWN_JDK_METHODS = Map.of(
            "java.util.zip.Inflater", Set.of("inflate", "setDictionary", "reset"),
            "java.util.zip.Deflater", Set.of("deflate", "setDictionary", "reset"));
    private static boolean installed;

    private JniWrapping() {}

    /** One compiled glob, whether it may select JDK classes, and the class it names when it has no wildcard. */
    record Glob(Pattern pattern, boolean jdk, String exactName) {
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

    static boolean isJdkClass(String name, ClassLoader loader) {
        return loader == null || loader == ClassLoader.getPlatformClassLoader()
                || JDK_PREFIXES.stream().anyMatch(name::startsWith);
    }

    /** Whether a class is wrapped: not ours, of the JDK or not as asked, and selected by a glob. */
    private static boolean selectedClass(List<Glob> globs, String name, ClassLoader loader, boolean jdk) {
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
     * Puts the bridge into the bootstrap loader and installs the transformations (once per JVM). Returns false,
     * after one line through {@code log}, when the JVM does not allow it.
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
        // Cheaper set-up: no validation of the generated code (only Advice and a delegation are generated), type
        // descriptions from class files only.
        ByteBuddy byteBuddy = new ByteBuddy().with(TypeValidation.DISABLED);
        // No "Nexus" class injected into the system loader (our initialization strategy never uses it; on JDK 24+
        // its injection also prints sun.misc.Unsafe warnings). The property is in our relocated namespace, so an
        // application's own Byte Buddy is not affected.
        System.setProperty(ByteBuddy.class.getPackageName() + ".nexus.disabled", "true");
        AtomicInteger failures = new AtomicInteger();
        AgentBuilder.Listener listener = new AgentBuilder.Listener.Adapter() {
            @Override
            public void onError(String typeName, ClassLoader classLoader, JavaModule module, boolean loaded,
                                Throwable throwable) {
                if (failures.incrementAndGet() == 1 || verbose) {
                    log.accept("note: JNI methods of " + typeName + " not wrapped: " + throwable);
                }
            }

            @Override
            public void onTransformation(TypeDescription typeDescription, ClassLoader classLoader, JavaModule module,
                                         boolean loaded, DynamicType dynamicType) {
                if (verbose) {
                    log.accept("JNI marks in " + typeDescription.getName());
                }
            }
        };
        Class<?> bridge = bridgeClass();
        // What is ignored is decided on names only: the transformers see every class the JVM loads, and a matcher on
        // anything else (isSynthetic looks at modifiers) makes Byte Buddy's pool parse that class's file first, on
        // the loading thread. Seen as Byte Buddy's parser being compiled again at the first report, which loads
        // classes of the agent's own.
        AgentBuilder.RawMatcher notSelectedApplicationClass = (type, loader, module, redefined, domain) ->
                !selectedClass(globs, type.getName(), loader, false);
        AgentBuilder.RawMatcher notSelectedJdkClass = (type, loader, module, redefined, domain) ->
                !selectedClass(globs, type.getName(), loader, true);

        // Application classes defined from now on: wrap their native methods. Only when a glob can select one (the
        // default names JDK classes only): this transformer sees every class the application loads.
        if (globs.stream().anyMatch(glob -> !glob.jdk())) {
            new AgentBuilder.Default(byteBuddy)
                    .with(AgentBuilder.PoolStrategy.Default.FAST)
                    .with(AgentBuilder.InjectionStrategy.Disabled.INSTANCE)
                    .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                    .enableNativeMethodPrefix(NATIVE_PREFIX)
                    .with(AgentBuilder.RedefinitionStrategy.DISABLED)
                    .with(listener)
                    .ignore(notSelectedApplicationClass)
                    .type((type, loader, module, classBeingRedefined, domain) -> classBeingRedefined == null
                            && !type.isSynthetic() && declaresMethod(isNative()).matches(type))
                    .transform((builder, type, loader, module, domain) ->
                            builder.method(isNative()).intercept(Advice.to(JniAdvice.class)))
                    .assureReadEdgeTo(instrumentation, bridge)
                    .installOn(instrumentation);
        }

        // JDK classes, loaded or not: advice on the methods that call their natives. Those named exactly are loaded
        // now (not initialized), so that they are woven here at start-up: left to their first use (the application's
        // first GZIPOutputStream loads Deflater), Byte Buddy's weaving ran on the application's thread, and its code
        // and the JDK code it uses were compiled during the application's first seconds (gzip benchmark, 2-7 s).
        loadNamedJdkClasses(globs);
        List<Class<?>> loaded = new ArrayList<>();
        for (Class<?> type : instrumentation.getAllLoadedClasses()) {
            if (selectedClass(globs, type.getName(), type.getClassLoader(), true)
                    && instrumentation.isModifiableClass(type)) {
                loaded.add(type);
            }
        }
        new AgentBuilder.Default(byteBuddy)
                .with(AgentBuilder.PoolStrategy.Default.FAST)
                .with(AgentBuilder.InjectionStrategy.Disabled.INSTANCE)
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                .with(new AgentBuilder.RedefinitionStrategy.DiscoveryStrategy.Explicit(loaded.toArray(new Class<?>[0])))
                .with(listener)
                .ignore(notSelectedJdkClass)
                .type(not(isSynthetic()))
                .transform((builder, type, loader, module, domain) -> {
                    Set<String> known = KNOWN_JDK_METHODS.get(type.getName());
                    ElementMatcher.Junction<MethodDescription> methods = known != null
                            ? namedOneOf(known.toArray(new String[0]))
                            : isPublic();
                    return builder
                            .visit(Advice.to(JniAdvice.ForConstructor.class).on(isConstructor()))
                            .visit(Advice.to(JniAdvice.class).on(methods.and(not(isConstructor()))
                                    .and(not(isTypeInitializer())).and(not(isNative())).and(not(isAbstract()))));
                })
                .assureReadEdgeTo(instrumentation, bridge)
                .installOn(instrumentation);
        installed = true;
        return true;
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
        String name = JniWrapping.class.getPackageName() + ".JniMarkBridge";
        try {
            Class.forName(name, false, null);
            return; // already there (a second start in this JVM)
        } catch (ClassNotFoundException e) {
            // define it below
        }
        for (String className : List.of(name, name + "$ThreadSlot")) {
            String resource = className.replace('.', '/') + ".class";
            byte[] classFile;
            try (InputStream in = JniWrapping.class.getClassLoader().getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException(resource + " is missing from the agent jar");
                }
                classFile = in.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException("could not read " + resource + ": " + e.getMessage(), e);
            }
            if (!BpfTracker.defineBootstrapClass(className, classFile)) {
                throw new IllegalStateException("the JVM refused to define " + className + " in the bootstrap loader");
            }
        }
    }

    private static Class<?> bridgeClass() {
        try {
            return Class.forName(JniWrapping.class.getPackageName() + ".JniMarkBridge", false, null);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("the JNI mark bridge did not reach the bootstrap loader", e);
        }
    }
}
