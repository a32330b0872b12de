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
 * holding both. The writer's classes load only when a recording is written (the option or the MBean operation).
 */
public final class JfrRecording {
    public static final String STACK_EVENT = "memleak4j.NativeMemoryStack";
    public static final String ALLOCATION_EVENT = "memleak4j.NativeMemoryAllocation";

    private JfrRecording() {}

    /** The recording of every stack the snapshot holds ({@link Snapshot#allStacks()}). */
    public static byte[] bytes(Snapshot snapshot) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 16);
        long epochNanos = snapshot.time().getEpochSecond() * 1_000_000_000L + snapshot.time().getNano();
        // The chunk starts at the snapshot's moment, and the events are stamped with the chunk's first tick.
        long startTicks = System.nanoTime();
        try (Recording recording = Recordings.newRecording(out, settings -> settings.withJdkTypeInitialization()
                .withTimestamp(epochNanos).withStartTicks(startTicks))) {
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
        /** Stacks share most frames: each is made once (the writer's values are costly to build and to pool). */
        private final Map<Frame, TypedValue> frames = new HashMap<>();
        private final Map<String, TypedValue> methods = new HashMap<>();
        private final long ticks;

        Writer(Recording recording, long ticks) {
            this.recording = recording;
            this.ticks = ticks;
            Type label = recording.getType(Types.JDK.ANNOTATION_LABEL);
            Type description = recording.getType(Types.JDK.ANNOTATION_DESCRIPTION);
            Type category = recording.getType(Types.JDK.ANNOTATION_CATEGORY);
            Type dataAmount = recording.registerAnnotationType("jdk.jfr.DataAmount",
                    b -> b.addField("value", Types.Builtin.STRING));
            Type address = recording.registerAnnotationType("jdk.jfr.MemoryAddress");
            Type timestamp = recording.getType(Types.JDK.ANNOTATION_TIMESTAMP);
            // The implicit fields first and in the JDK's order (registerEventType puts stackTrace first, which the
            // JDK's own parser, 'jfr print', reads as the start time).
            Consumer<TypeStructureBuilder> implicit = type -> type
                    .addField("startTime", Types.Builtin.LONG, f -> f.addAnnotation(label, "Start Time")
                            .addAnnotation(timestamp, "TICKS"))
                    .addField("eventThread", Types.JDK.THREAD, f -> f.addAnnotation(label, "Event Thread"))
                    .addField("stackTrace", Types.JDK.STACK_TRACE, f -> f.addAnnotation(label, "Stack Trace"));
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
                TypedValue[] trace = frames(stack.frames());
                recording.writeEvent(stackType.asValue(event -> event.putField("startTime", ticks)
                        .putField("stackTrace", t -> t.putField("truncated", false)
                                .putField("frames", trace))
                        .putField("bytes", stack.bytes())
                        .putField("allocations", stack.count())
                        .putField("estimated", stack.estimated())
                        .putField("stackId", stack.stackId())));
                for (Allocation allocation : stack.allocations()) {
                    recording.writeEvent(allocationType.asValue(event -> event.putField("startTime", ticks)
                            .putField("stackTrace", t -> t.putField("truncated", false)
                                .putField("frames", trace))
                            .putField("address", allocation.address())
                            .putField("size", allocation.size())
                            .putField("stackId", stack.stackId())));
                }
            }
        }

        private TypedValue[] frames(List<Frame> frames) {
            TypedValue[] values = new TypedValue[frames.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = this.frames.computeIfAbsent(frames.get(i), this::frame);
            }
            return values;
        }

        private TypedValue frame(Frame frame) {
            String owner;
            String method;
            if (FrameLabels.isJavaMethod(frame) || frame.kind() == Frame.Kind.NATIVE_WRAPPER) {
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
                return recording.getType(Types.JDK.METHOD).asValue(m -> m.putField("type", clazz)
                        .putField("name", method)
                        .putField("descriptor", "")
                        .putField("modifiers", 0)
                        .putField("hidden", false));
            });
            return recording.getType(Types.JDK.STACK_FRAME).asValue(f -> f.putField("method", methodValue)
                    .putField("lineNumber", Math.max(frame.line(), 0))
                    .putField("bytecodeIndex", 0)
                    .putField("type", type));
        }

        private TypedValue classValue(String name) {
            return recording.getType(Types.JDK.CLASS).asValue(c -> c.putField("name", name)
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
