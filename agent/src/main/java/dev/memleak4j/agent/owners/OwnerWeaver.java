package dev.memleak4j.agent.owners;

import dev.memleak4j.agent.jnimarks.JniWeaver;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.asm.AsmVisitorWrapper;
import net.bytebuddy.description.field.FieldDescription;
import net.bytebuddy.description.type.TypeDefinition;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.scaffold.TypeValidation;
import net.bytebuddy.utility.JavaModule;


import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

/**
 * The Byte Buddy half of {@link Owners}: puts {@link OwnerAdvice} at the end of the owners' constructors. Loaded with
 * Byte Buddy in the weavers' loader (see {@code JniWrapping.weaverLoader}), so that when only JDK classes are woven
 * (at start, by retransformation) nothing of it stays registered and it can be unloaded. Called by reflection; uses
 * only public types of the agent's loader.
 */
public final class OwnerWeaver {
    static final String DIRECT_BUFFER = "java.nio.DirectByteBuffer";
    static final String INFLATER_REF = "java.util.zip.Inflater$InflaterZStreamRef";
    static final String DEFLATER_REF = "java.util.zip.Deflater$DeflaterZStreamRef";

    private OwnerWeaver() {}

    /**
     * Weaves the owners {@code loaded} already (the JDK's, named ones at attach) now and, when {@code named} names
     * classes (class name to its handle field, "" for the class's only long field), keeps the transformer for those
     * loaded later. Returns the transformer when it stays registered.
     */
    public static ClassFileTransformer weave(Instrumentation instrumentation, Map<String, String> named,
                                             Class<?> bridge, List<Class<?>> loaded, Consumer<String> log) {
        ByteBuddy byteBuddy = new ByteBuddy().with(TypeValidation.DISABLED);
        System.setProperty(ByteBuddy.class.getPackageName() + ".nexus.disabled", "true");
        Set<String> names = new HashSet<>(named.keySet());
        names.add(DIRECT_BUFFER);
        names.add(INFLATER_REF);
        names.add(DEFLATER_REF);
        Set<String> failed = new HashSet<>();
        AgentBuilder.Listener listener = new AgentBuilder.Listener.Adapter() {
            @Override
            public void onError(String typeName, ClassLoader classLoader, JavaModule module, boolean loaded,
                                Throwable throwable) {
                if (failed.add(typeName)) {
                    log.accept("note: owners of " + typeName + " will not be known: " + throwable);
                }
            }
        };
        // Names only, as in JniWeaver: anything else makes Byte Buddy parse every class the application loads.
        AgentBuilder.RawMatcher notAnOwner = (type, loader, module, redefined, domain) -> !names.contains(type.getName());
        // Named classes loaded later are woven when they are defined (the transformer then stays registered).
        ClassFileTransformer transformer = JniWeaver.retransforming(byteBuddy, loaded, listener)
                .ignore(notAnOwner)
                .type((type, loader, module, redefined, domain) -> true)
                .transform((builder, type, loader, module, domain) -> builder.visit(advice(type, named, log)))
                .assureReadEdgeTo(instrumentation, bridge)
                .installOn(instrumentation);
        if (named.isEmpty()) {
            // Every JDK owner is loaded and woven: a JDK class is never loaded twice.
            instrumentation.removeTransformer(transformer);
            return null;
        }
        return transformer;
    }

    private static AsmVisitorWrapper advice(TypeDescription type, Map<String, String> named, Consumer<String> log) {
        switch (type.getName()) {
            case DIRECT_BUFFER:
                return Advice.to(OwnerAdvice.ForDirectBuffer.class).on(isConstructor().and(takesArguments(int.class)));
            case INFLATER_REF:
            case DEFLATER_REF:
                return Advice.to(OwnerAdvice.ForZStream.class).on(isConstructor().and(takesArguments(2)));
            default:
                FieldDescription field = handleField(type, named.get(type.getName()));
                if (field == null) {
                    log.accept("owners=" + type.getName() + (named.get(type.getName()).isEmpty() ? ""
                            : "#" + named.get(type.getName())) + ": " + type.getName() + " has no such long field "
                            + "(name the native-handle field: owners=CLASS#FIELD); its owners will not be known");
                    return AsmVisitorWrapper.NoOp.INSTANCE;
                }
                return Advice.withCustomMapping().bind(OwnerAdvice.Handle.class, field)
                        .to(OwnerAdvice.ForHandle.class).on(isConstructor());
        }
    }

    /**
     * The named instance field of type long in the class or its superclasses; with no name, the class's (or else its
     * nearest superclass's) only instance field of type long. Null when there is none (or more than one).
     */
    static FieldDescription handleField(TypeDescription type, String name) {
        for (TypeDefinition at = type; at != null; at = at.getSuperClass()) {
            List<FieldDescription> longs = new ArrayList<>();
            for (FieldDescription field : at.getDeclaredFields()) {
                if (!field.isStatic() && field.getType().represents(long.class)) {
                    longs.add(field);
                }
            }
            if (name != null && !name.isEmpty()) {
                List<FieldDescription> match = longs.stream()
                        .filter(f -> f.getName().equals(name)).toList();
                if (!match.isEmpty()) {
                    return match.get(0);
                }
            } else if (longs.size() == 1) {
                return longs.get(0);
            } else if (longs.size() > 1) {
                return null;
            }
        }
        return null;
    }
}
