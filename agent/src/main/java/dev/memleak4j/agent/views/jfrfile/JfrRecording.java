package dev.memleak4j.agent.views.jfrfile;

import dev.memleak4j.agent.report.Allocation;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.report.StackReport;
import dev.memleak4j.agent.stacks.Frame;
import dev.memleak4j.agent.views.FrameLabels;
import org.openjdk.jmc.flightrecorder.writer.api.Recording;
import org.openjdk.jmc.flightrecorder.writer.api.Recordings;
import org.openjdk.jmc.flightrecorder.writer.api.Type;
import org.openjdk.jmc.flightrecorder.writer.api.TypeStructureBuilder;
import org.openjdk.jmc.flightrecorder.writer.api.TypedValue;
import org.openjdk.jmc.flightrecorder.writer.api.Types;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A snapshot as a JFR recording (one chunk) written with JDK Mission Control's writer: one
 * {@value #STACK_EVENT} event per outstanding stack whose stack trace is the allocation's own, Java and native frames
 * with their frame types, so that JMC's Stack Trace view, flame graph and "group by frame" show where native memory is
 * held. A native frame is, as async-profiler writes it, a method whose class is its library, of frame type
 * {@code Native} ({@code C++} for libjvm and its stubs). With show-allocs, each listed allocation is also a
 * {@value #ALLOCATION_EVENT} event with the same stack trace.
 *
 * <p>JFR files are sequences of chunks: this file appended to one from {@code jcmd PID JFR.dump} is one recording
 * holding both, which JMC and the JDK's {@code jfr print} read whole. The writer's classes load only when a recording is written (the option or the MBean operation).
 */
public final class JfrRecording {
    public static final String STACK_EVENT = "memleak4j.NativeMemoryStack";
    public static final String ALLOCATION_EVENT = "memleak4j.NativeMemoryAllocation";

    /**
     * The signature is not known (frames carry no descriptor): as async-profiler writes it, no parameters and an
     * unnamed return type, which the JDK's and JMC's parsers both print as {@code method()}.
     */
    private static final String UNKNOWN_DESCRIPTOR = "()L;";

    private JfrRecording() {}

    /** The recording of every stack the snapshot holds ({@link Snapshot#allStacks()}). */
    public static byte[] bytes(Snapshot snapshot) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 16);
        long epochNanos = snapshot.time().getEpochSecond() * 1_000_000_000L + snapshot.time().getNano();
        // The chunk starts at the snapshot's moment, and the events are stamped with the chunk's first tick.
        long startTicks = System.nanoTime();
        try (Recording recording = Recordings.newRecording(out, settings -> settings.withTimestamp(epochNanos)
                .withStartTicks(startTicks))) {
            new Writer(recording, startTicks).write(snapshot);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static final class Writer {
        private final Recording recording;
        private final Type stackType;
        private final Type allocationType;
        private final Map<String, TypedValue> classes = new HashMap<>();
        /**
         * Stacks share most frames: each is made once (the writer's values are costly to build). By identity: the
         * resolver hands out one Frame object per address (its caches), and Frame's record equals and hashCode go
         * through method handles, slow in the agent's C1-only code. A frame equal to one seen but another object
         * only costs its value again (frames are written inline: the file is the same).
         */
        private final Map<Frame, TypedValue> frames = new IdentityHashMap<>();
        private final Map<String, TypedValue> methods = new HashMap<>();
        private final long ticks;
        private final Type classType;
        private final Type methodType;
        private final Type frameType;
        private final Type stackTraceType;

        Writer(Recording recording, long ticks) {
            this.recording = recording;
            this.ticks = ticks;
            // The JDK's types are declared here rather than by the writer's JDK type initialization, which pools
            // stack frames: the JDK's own parser ('jfr print') expects them inline in their stack trace.
            Types types = recording.getTypes();
            Type label = recording.registerAnnotationType("jdk.jfr.Label",
                    b -> b.addField("value", Types.Builtin.STRING));
            Type description = recording.registerAnnotationType("jdk.jfr.Description",
                    b -> b.addField("value", Types.Builtin.STRING));
            Type category = recording.registerAnnotationType("jdk.jfr.Category",
                    b -> b.addField("value", Types.Builtin.STRING, f -> f.asArray()));
            // Marked as content types, as in the JDK: its tools then print bytes as bytes and times as times.
            Type contentType = recording.registerAnnotationType("jdk.jfr.ContentType");
            Type timestamp = recording.registerAnnotationType("jdk.jfr.Timestamp",
                    b -> b.addField("value", Types.Builtin.STRING).addAnnotation(contentType));
            Type dataAmount = recording.registerAnnotationType("jdk.jfr.DataAmount",
                    b -> b.addField("value", Types.Builtin.STRING).addAnnotation(contentType));
            Type address = recording.registerAnnotationType("jdk.jfr.MemoryAddress",
                    b -> b.addAnnotation(contentType));
            Type clazz = types.getOrAdd("java.lang.Class", true, b -> b
                    .addField("name", Types.Builtin.STRING)
                    .addField("modifiers", Types.Builtin.INT)
                    .addField("hidden", Types.Builtin.BOOLEAN));
            Type method = types.getOrAdd("jdk.types.Method", true, b -> b
                    .addField("type", clazz)
                    .addField("name", Types.Builtin.STRING)
                    .addField("descriptor", Types.Builtin.STRING)
                    .addField("modifiers", Types.Builtin.INT)
                    .addField("hidden", Types.Builtin.BOOLEAN));
            Type frame = types.getOrAdd("jdk.types.StackFrame", false, b -> b
                    .addField("method", method)
                    .addField("lineNumber", Types.Builtin.INT)
                    .addField("bytecodeIndex", Types.Builtin.INT)
                    .addField("type", Types.Builtin.STRING));
            Type stackTrace = types.getOrAdd("jdk.types.StackTrace", true, b -> b
                    .addField("truncated", Types.Builtin.BOOLEAN)
                    .addField("frames", frame, f -> f.asArray()));
            classType = clazz;
            methodType = method;
            frameType = frame;
            stackTraceType = stackTrace;
            Consumer<TypeStructureBuilder> implicit = type -> type
                    .addField("startTime", Types.Builtin.LONG, f -> f.addAnnotation(label, "Start Time")
                            .addAnnotation(timestamp, "TICKS"))
                    .addField("stackTrace", stackTrace, f -> f.addAnnotation(label, "Stack Trace"));
            stackType = recording.registerType(STACK_EVENT, "jdk.jfr.Event", type -> implicit.andThen(t -> t
                    .addAnnotation(label, "Outstanding Native Memory by Stack")
                    .addAnnotation(description, "Native memory allocated and not freed, grouped by the stack that "
                            + "allocated it (memleak4j)")
                    .addAnnotation(category, c -> c.putField("value", new String[] {"memleak4j"}))
                    .addField("bytes", Types.Builtin.LONG, f -> f.addAnnotation(label, "Outstanding")
                            .addAnnotation(dataAmount, "BYTES"))
                    .addField("allocations", Types.Builtin.LONG, f -> f.addAnnotation(label,
                            "Outstanding Allocations"))
                    .addField("estimated", Types.Builtin.BOOLEAN, f -> f.addAnnotation(label, "Estimated"))
                    .addField("stackId", Types.Builtin.LONG, f -> f.addAnnotation(label, "Stack Id"))).accept(type));
            allocationType = recording.registerType(ALLOCATION_EVENT, "jdk.jfr.Event", type -> implicit.andThen(t -> t
                    .addAnnotation(label, "Outstanding Native Allocation")
                    .addAnnotation(category, c -> c.putField("value", new String[] {"memleak4j"}))
                    .addField("address", Types.Builtin.LONG, f -> f.addAnnotation(label, "Address")
                            .addAnnotation(address))
                    .addField("size", Types.Builtin.LONG, f -> f.addAnnotation(label, "Size")
                            .addAnnotation(dataAmount, "BYTES"))
                    .addField("stackId", Types.Builtin.LONG, f -> f.addAnnotation(label, "Stack Id"))).accept(type));
        }

        void write(Snapshot snapshot) {
            for (StackReport stack : snapshot.allStacks()) {
                // Made once for the stack and its allocations' events: the writer pools it by its deep hash.
                TypedValue[] frameValues = frames(stack.frames());
                TypedValue trace = stackTraceType.asValue(t -> t.putField("truncated", false)
                        .putField("frames", frameValues));
                recording.writeEvent(stackType.asValue(event -> event.putField("startTime", ticks)
                        .putField("stackTrace", trace)
                        .putField("bytes", stack.bytes())
                        .putField("allocations", stack.count())
                        .putField("estimated", stack.estimated())
                        .putField("stackId", stack.stackId())));
                for (Allocation allocation : stack.allocations()) {
                    recording.writeEvent(allocationType.asValue(event -> event.putField("startTime", ticks)
                            .putField("stackTrace", trace)
                            .putField("address", allocation.address())
                            .putField("size", allocation.size())
                            .putField("stackId", stack.stackId())));
                }
            }
        }

        private TypedValue[] frames(List<Frame> frames) {
            TypedValue[] values = new TypedValue[frames.size()];
            for (int i = 0; i < values.length; i++) {
                Frame frame = frames.get(i);
                TypedValue value = this.frames.get(frame);
                if (value == null) {
                    value = frame(frame);
                    this.frames.put(frame, value);
                }
                values[i] = value;
            }
            return values;
        }

        private TypedValue frame(Frame frame) {
            String owner;
            String method;
            if (frame.namesJavaMethod()) {
                String name = FrameLabels.function(frame);
                int dot = name.lastIndexOf('.');
                owner = dot > 0 ? name.substring(0, dot).replace('.', '/') : "[unknown]";
                method = dot > 0 ? name.substring(dot + 1) : name;
            } else {
                owner = frame.module() != null ? frame.module()
                        : FrameLabels.category(frame) == FrameLabels.Category.JVM ? "libjvm.so" : "[unknown]";
                method = FrameLabels.function(frame);
            }
            String type = frameType(frame);
            TypedValue methodValue = methods.computeIfAbsent(owner + '\u0000' + method, key -> {
                TypedValue clazz = classes.computeIfAbsent(owner, this::classValue);
                return methodType.asValue(m -> m.putField("type", clazz)
                        .putField("name", method)
                        .putField("descriptor", UNKNOWN_DESCRIPTOR)
                        .putField("modifiers", 0)
                        .putField("hidden", false));
            });
            return frameType.asValue(f -> f.putField("method", methodValue)
                    .putField("lineNumber", Math.max(frame.line(), 0))
                    .putField("bytecodeIndex", 0)
                    .putField("type", type));
        }

        private TypedValue classValue(String name) {
            return classType.asValue(c -> c.putField("name", name)
                    .putField("modifiers", 0)
                    .putField("hidden", false));
        }

        /** JFR's own frame types for Java code; async-profiler's names for native code. */
        private static String frameType(Frame frame) {
            switch (frame.kind()) {
                case JIT:
                    return "JIT compiled";
                case INLINED:
                    return "Inlined";
                case INTERPRETED:
                    return "Interpreted";
                case NATIVE_WRAPPER:
                    return "Native";
                case JAVA_CALLER:
                    return "Java caller";
                default:
                    return FrameLabels.category(frame) == FrameLabels.Category.JVM ? "C++" : "Native";
            }
        }
    }
}
