package dev.memleak4j.agent.jnimarks;

import net.bytebuddy.ByteBuddy;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.dynamic.scaffold.TypeValidation;
import net.bytebuddy.matcher.ElementMatcher;
import net.bytebuddy.utility.JavaModule;

import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import static net.bytebuddy.matcher.ElementMatchers.declaresMethod;
import static net.bytebuddy.matcher.ElementMatchers.isAbstract;
import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isNative;
import static net.bytebuddy.matcher.ElementMatchers.isPublic;
import static net.bytebuddy.matcher.ElementMatchers.isSynthetic;
import static net.bytebuddy.matcher.ElementMatchers.isTypeInitializer;
import static net.bytebuddy.matcher.ElementMatchers.namedOneOf;
import static net.bytebuddy.matcher.ElementMatchers.not;

/**
 * The Byte Buddy half of {@link JniWrapping}: the transformations that put {@link JniAdvice} around JNI calls. Loaded
 * in a class loader of its own ({@link JniWrapping.WeaverLoader}) together with Byte Buddy, so that when nothing
 * has to stay registered (only JDK classes, woven at start) Byte Buddy's classes can be unloaded again: the JVM's
 * full collections walk every loaded class. Called by reflection; uses only public types of the agent's loader.
 */
public final class JniWeaver {
    /** Prefix of a wrapped native method's new name; the JVM binds it to the same C function. */
    public static final String NATIVE_PREFIX = "memleak4j$jni$";
    private static final Map<String, Set<String>> KNOWN_JDK_METHODS = Map.of(
            "java.util.zip.Inflater", Set.of("inflate", "setDictionary", "reset"),
            "java.util.zip.Deflater", Set.of("deflate", "setDictionary", "reset"));

    private JniWeaver() {}

    /**
     * Weaves the selected JDK classes now (retransformation) and, when a glob can select application classes,
     * installs the transformer for those loaded from now on. Returns the transformers that stay registered
     * (application classes): while there are any this loader must live on; none when Byte Buddy is no longer needed.
     */
    public static List<ClassFileTransformer> weave(Instrumentation instrumentation, List<JniWrapping.Glob> globs, Class<?> bridge,
                                List<Class<?>> loadedJdkClasses, boolean verbose, Consumer<String> log) {
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
        // What is ignored is decided on names only: the transformers see every class the JVM loads, and a matcher on
        // anything else (isSynthetic looks at modifiers) makes Byte Buddy's pool parse that class's file first, on
        // the loading thread. Seen as Byte Buddy's parser being compiled again at the first report, which loads
        // classes of the agent's own.
        AgentBuilder.RawMatcher notSelectedApplicationClass = (type, loader, module, redefined, domain) ->
                !JniWrapping.selectedClass(globs, type.getName(), loader, false);
        AgentBuilder.RawMatcher notSelectedJdkClass = (type, loader, module, redefined, domain) ->
                !JniWrapping.selectedClass(globs, type.getName(), loader, true);

        // Application classes defined from now on: wrap their native methods. Only when a glob can select one (the
        // default names JDK classes only): this transformer sees every class the application loads.
        boolean applicationClasses = globs.stream().anyMatch(glob -> !glob.jdk());
        List<ClassFileTransformer> registered = new ArrayList<>();
        if (applicationClasses) {
            registered.add(new AgentBuilder.Default(byteBuddy)
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
                    .installOn(instrumentation));
        }

        // JDK classes: advice on the methods that call their natives, woven now by retransformation.
        ResettableClassFileTransformer jdk = retransforming(byteBuddy, loadedJdkClasses, listener)
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
        if (applicationClasses) {
            registered.add(jdk);
        } else {
            // The JDK classes this can ever weave are loaded and woven: a JDK class is never loaded twice. Only a
            // retransformation by another agent would need it again (JniWrapping watches for that).
            instrumentation.removeTransformer(jdk);
        }
        return registered;
    }

    /**
     * An agent builder that adds advice to loaded JDK classes, {@code loaded} now, by retransformation (no new
     * members), and to those classes when they are defined later while it stays registered; nothing injected.
     */
    public static AgentBuilder retransforming(ByteBuddy byteBuddy, List<Class<?>> loaded,
                                              AgentBuilder.Listener listener) {
        return new AgentBuilder.Default(byteBuddy)
                .with(AgentBuilder.PoolStrategy.Default.FAST)
                .with(AgentBuilder.InjectionStrategy.Disabled.INSTANCE)
                .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                .disableClassFormatChanges()
                .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                .with(new AgentBuilder.RedefinitionStrategy.DiscoveryStrategy.Explicit(loaded.toArray(new Class<?>[0])))
                .with(listener);
    }
}
