package dev.memleak4j.agent.views.pprof;

import dev.memleak4j.agent.lang.Instants;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.report.StackReport;
import dev.memleak4j.agent.stacks.Frame;
import dev.memleak4j.agent.views.FrameLabels;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * A snapshot as a gzipped pprof {@code profile.proto}, the format of Go's heap profiles: one sample per stack with its
 * {@code alloc_objects} and {@code alloc_space} (made since the baseline, freed or not) and its {@code inuse_objects}
 * and {@code inuse_space} (outstanding; the default), in Go's order; each frame a location with its function (and
 * source line for Java), native frames in a mapping per library. Stacks whose blocks were all freed are samples with
 * only alloc_* values. Read by {@code go tool pprof}, Pyroscope, Grafana, Speedscope and Perfetto.
 *
 * <p>The protocol buffer is written by hand (varints and length-delimited fields): the message is small and fixed,
 * and a protobuf runtime would weigh more than the agent. Field numbers are those of
 * github.com/google/pprof/proto/profile.proto.
 */
public final class PprofProfile {
    // Profile
    private static final int SAMPLE_TYPE = 1;
    private static final int SAMPLE = 2;
    private static final int MAPPING = 3;
    private static final int LOCATION = 4;
    private static final int FUNCTION = 5;
    private static final int STRING_TABLE = 6;
    private static final int TIME_NANOS = 9;
    private static final int DURATION_NANOS = 10;
    private static final int PERIOD_TYPE = 11;
    private static final int PERIOD = 12;
    private static final int COMMENT = 13;
    private static final int DEFAULT_SAMPLE_TYPE = 14;
    // ValueType
    private static final int VALUE_TYPE_TYPE = 1;
    private static final int VALUE_TYPE_UNIT = 2;
    // Sample
    private static final int SAMPLE_LOCATION_ID = 1;
    private static final int SAMPLE_VALUE = 2;
    // Mapping
    private static final int MAPPING_ID = 1;
    private static final int MAPPING_MEMORY_START = 2;
    private static final int MAPPING_MEMORY_LIMIT = 3;
    private static final int MAPPING_FILENAME = 5;
    private static final int MAPPING_HAS_FUNCTIONS = 7;
    // Location
    private static final int LOCATION_ID = 1;
    private static final int LOCATION_MAPPING_ID = 2;
    private static final int LOCATION_ADDRESS = 3;
    private static final int LOCATION_LINE = 4;
    // Line
    private static final int LINE_FUNCTION_ID = 1;
    private static final int LINE_LINE = 2;
    // Function
    private static final int FUNCTION_ID = 1;
    private static final int FUNCTION_NAME = 2;
    private static final int FUNCTION_SYSTEM_NAME = 3;
    private static final int FUNCTION_FILENAME = 4;

    private PprofProfile() {}

    /**
     * The gzipped profile of every stack the snapshot holds ({@link Snapshot#allStacks()} and
     * {@link Snapshot#freedStacks()}).
     */
    public static byte[] gzipped(Snapshot snapshot, String comment) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(bytes, 1 << 16)) {
            gzip.write(encode(snapshot, comment));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** The profile message, not compressed. */
    static byte[] encode(Snapshot snapshot, String comment) {
        Strings strings = new Strings();
        Proto profile = new Proto(1 << 16);
        // A snapshot read from the JSON of an older version does not know what was allocated: no alloc_* then.
        boolean allocated = snapshot.allStacks().stream().allMatch(stack -> stack.allocatedBytes() >= 0);
        if (allocated) {
            profile.message(SAMPLE_TYPE, valueType(strings.of("alloc_objects"), strings.of("count")));
            profile.message(SAMPLE_TYPE, valueType(strings.of("alloc_space"), strings.of("bytes")));
        }
        profile.message(SAMPLE_TYPE, valueType(strings.of("inuse_objects"), strings.of("count")));
        profile.message(SAMPLE_TYPE, valueType(strings.of("inuse_space"), strings.of("bytes")));
        List<StackReport> stacks = new ArrayList<>(snapshot.allStacks());
        if (allocated) {
            stacks.addAll(snapshot.freedStacks());
        }

        Map<String, Long> mappings = new HashMap<>();
        Map<String, long[]> mappingRanges = new HashMap<>();
        Map<String, Long> functions = new HashMap<>();
        Map<LocationKey, Long> locations = new HashMap<>();
        // Stacks share their frames' objects (the resolver's caches): each object's location is found once, not
        // once per stack it is in. By identity: Frame's record equals goes through method handles, slow under C1.
        Map<Frame, Long> locationOfFrame = new IdentityHashMap<>();
        Proto functionTable = new Proto(1 << 12);
        Proto locationTable = new Proto(1 << 14);
        for (StackReport stack : stacks) {
            List<Frame> frames = stack.frames();
            long[] ids = new long[frames.size()];
            for (int i = 0; i < frames.size(); i++) {
                Frame frame = frames.get(i);
                Long known = locationOfFrame.get(frame);
                if (known != null) {
                    ids[i] = known;
                    continue;
                }
                String module = frame.kind() == Frame.Kind.NATIVE ? frame.module() : null;
                long mapping = 0;
                if (module != null) {
                    mapping = mappings.computeIfAbsent(module, m -> (long) mappings.size() + 1);
                    long[] range = mappingRanges.computeIfAbsent(module, m -> new long[] {-1L, 0});
                    if (Long.compareUnsigned(frame.address(), range[0]) < 0) {
                        range[0] = frame.address();
                    }
                    if (Long.compareUnsigned(frame.address() + 1, range[1]) > 0) {
                        range[1] = frame.address() + 1;
                    }
                }
                String function = FrameLabels.function(frame);
                String file = frame.namesJavaMethod() ? frame.file() : module;
                String functionKey = function + '\u0000' + (file == null ? "" : file);
                Long functionId = functions.get(functionKey);
                if (functionId == null) {
                    functionId = (long) functions.size() + 1;
                    functions.put(functionKey, functionId);
                    Proto f = new Proto(64);
                    f.uint(FUNCTION_ID, functionId);
                    f.uint(FUNCTION_NAME, strings.of(function));
                    f.uint(FUNCTION_SYSTEM_NAME, strings.of(function));
                    if (file != null) {
                        f.uint(FUNCTION_FILENAME, strings.of(file));
                    }
                    functionTable.message(FUNCTION, f);
                }
                LocationKey key = new LocationKey(frame.address(), functionId, Math.max(frame.line(), 0));
                Long locationId = locations.get(key);
                if (locationId == null) {
                    locationId = (long) locations.size() + 1;
                    locations.put(key, locationId);
                    Proto line = new Proto(16);
                    line.uint(LINE_FUNCTION_ID, functionId);
                    if (frame.line() > 0) {
                        line.uint(LINE_LINE, frame.line());
                    }
                    Proto location = new Proto(48);
                    location.uint(LOCATION_ID, locationId);
                    location.uint(LOCATION_MAPPING_ID, mapping);
                    location.uint(LOCATION_ADDRESS, frame.address());
                    location.message(LOCATION_LINE, line);
                    locationTable.message(LOCATION, location);
                }
                locationOfFrame.put(frame, locationId);
                ids[i] = locationId;
            }
            Proto sample = new Proto(16 + 2 * ids.length);
            sample.packed(SAMPLE_LOCATION_ID, ids);
            sample.packed(SAMPLE_VALUE, allocated
                    ? new long[] {stack.allocatedCount(), stack.allocatedBytes(), stack.count(), stack.bytes()}
                    : new long[] {stack.count(), stack.bytes()});
            profile.message(SAMPLE, sample);
        }
        for (Map.Entry<String, Long> mapping : mappings.entrySet()) {
            long[] range = mappingRanges.get(mapping.getKey());
            Proto m = new Proto(32);
            m.uint(MAPPING_ID, mapping.getValue());
            m.uint(MAPPING_MEMORY_START, range[0]);
            m.uint(MAPPING_MEMORY_LIMIT, range[1]);
            m.uint(MAPPING_FILENAME, strings.of(mapping.getKey()));
            m.bool(MAPPING_HAS_FUNCTIONS, true);
            profile.message(MAPPING, m);
        }
        profile.raw(locationTable);
        profile.raw(functionTable);
        int leftOut = snapshot.freedStackCount() - snapshot.freedStacks().size();
        long commentId = strings.of(!allocated || leftOut <= 0 ? comment : comment + "; alloc_* leaves out "
                + leftOut + " stacks whose blocks were all freed (the " + snapshot.freedStacks().size()
                + " that allocated most are in)");
        long space = strings.of("space");
        long bytesUnit = strings.of("bytes");
        long defaultType = strings.of("inuse_space");
        long nanos = snapshot.time().getEpochSecond() * 1_000_000_000L + snapshot.time().getNano();
        long duration = Math.max(0, Instants.nanosBetween(snapshot.trackingSince(), snapshot.time()));
        for (String text : strings.list) {
            profile.string(STRING_TABLE, text);
        }
        profile.uint(TIME_NANOS, nanos);
        profile.uint(DURATION_NANOS, duration);
        profile.message(PERIOD_TYPE, valueType(space, bytesUnit));
        profile.uint(PERIOD, snapshot.sampleBytes() > 0 ? snapshot.sampleBytes() : snapshot.sampleRate());
        profile.uint(COMMENT, commentId);
        profile.uint(DEFAULT_SAMPLE_TYPE, defaultType);
        return profile.toByteArray();
    }

    private static Proto valueType(long type, long unit) {
        Proto value = new Proto(8);
        value.uint(VALUE_TYPE_TYPE, type);
        value.uint(VALUE_TYPE_UNIT, unit);
        return value;
    }

    private record LocationKey(long address, long function, int line) {}

    /** The string table: index 0 is the empty string, as the format requires. */
    private static final class Strings {
        final List<String> list = new ArrayList<>();
        final Map<String, Long> index = new HashMap<>();

        Strings() {
            of("");
        }

        long of(String text) {
            Long found = index.get(text);
            if (found == null) {
                found = (long) list.size();
                index.put(text, found);
                list.add(text);
            }
            return found;
        }
    }

    /** A protocol buffer message being written: fields appended in order. */
    static final class Proto {
        private byte[] buffer;
        private int size;

        Proto(int capacity) {
            buffer = new byte[Math.max(capacity, 16)];
        }

        void uint(int field, long value) {
            if (value == 0) {
                return; // proto3: zero is the default and is not written
            }
            tag(field, 0);
            varint(value);
        }

        void bool(int field, boolean value) {
            uint(field, value ? 1 : 0);
        }

        void string(int field, String text) {
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            tag(field, 2);
            varint(utf8.length);
            append(utf8, 0, utf8.length);
        }

        void message(int field, Proto message) {
            tag(field, 2);
            varint(message.size);
            append(message.buffer, 0, message.size);
        }

        void packed(int field, long[] values) {
            int length = 0;
            for (long value : values) {
                length += varintSize(value);
            }
            tag(field, 2);
            varint(length);
            for (long value : values) {
                varint(value);
            }
        }

        /** Appends another message's fields as they are (repeated fields written apart, then joined). */
        void raw(Proto other) {
            append(other.buffer, 0, other.size);
        }

        byte[] toByteArray() {
            return java.util.Arrays.copyOf(buffer, size);
        }

        private void tag(int field, int wireType) {
            varint(((long) field << 3) | wireType);
        }

        private void varint(long value) {
            ensure(10);
            while ((value & ~0x7FL) != 0) {
                buffer[size++] = (byte) ((value & 0x7F) | 0x80);
                value >>>= 7;
            }
            buffer[size++] = (byte) value;
        }

        private static int varintSize(long value) {
            int bytes = 1;
            while ((value & ~0x7FL) != 0) {
                bytes++;
                value >>>= 7;
            }
            return bytes;
        }

        private void append(byte[] bytes, int from, int length) {
            ensure(length);
            System.arraycopy(bytes, from, buffer, size, length);
            size += length;
        }

        private void ensure(int more) {
            if (size + more > buffer.length) {
                buffer = java.util.Arrays.copyOf(buffer, Math.max(buffer.length * 2, size + more));
            }
        }
    }
}
