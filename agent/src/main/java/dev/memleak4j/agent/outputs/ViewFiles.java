package dev.memleak4j.agent.outputs;

import dev.memleak4j.agent.files.SafeFiles;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.views.flamegraph.FlameGraph;
import dev.memleak4j.agent.views.jfrfile.JfrRecording;
import dev.memleak4j.agent.views.pprof.PprofProfile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * {@code flamegraph=FILE}, {@code pprof=FILE}, {@code jfr-file=FILE}: every report's snapshot, with every stack, in
 * each of the formats asked for, each file replaced through {@link SafeFiles#replace}. A format that fails to write
 * says so once (until it works again) and the others go on. Nothing of a format is loaded unless it is asked for.
 */
public final class ViewFiles {
    /** One format and where it goes. */
    private static final class Output {
        final String what;
        final Path file;
        final Function<Snapshot, byte[]> render;
        boolean failed;

        Output(String what, Path file, Function<Snapshot, byte[]> render) {
            this.what = what;
            this.file = file.toAbsolutePath();
            this.render = render;
        }
    }

    private final List<Output> outputs = new ArrayList<>();

    private ViewFiles() {}

    /** The files asked for ({@code flamegraph=}, {@code pprof=}, {@code jfr-file=}; null: not asked); null when none. */
    public static ViewFiles of(Path flamegraph, Path pprof, Path jfrFile) {
        ViewFiles files = new ViewFiles();
        if (flamegraph != null) {
            files.outputs.add(new Output("flame graph", flamegraph,
                    snapshot -> FlameGraph.bytes(snapshot, title(snapshot))));
        }
        if (pprof != null) {
            files.outputs.add(new Output("pprof profile", pprof,
                    snapshot -> PprofProfile.gzipped(snapshot, title(snapshot))));
        }
        if (jfrFile != null) {
            files.outputs.add(new Output("JFR file", jfrFile, ViewFiles::jfr));
        }
        return files.outputs.isEmpty() ? null : files;
    }

    /** A method of its own so that JMC's writer is loaded only when the JFR file is asked for. */
    private static byte[] jfr(Snapshot snapshot) {
        return JfrRecording.bytes(snapshot);
    }

    /** What the pictures say they show: the process and the moment. */
    public static String title(Snapshot snapshot) {
        return "memleak4j: outstanding native memory of PID " + ProcessHandle.current().pid() + " at "
                + snapshot.time();
    }

    /** On the reporter thread, after every report. */
    void write(Snapshot snapshot) {
        for (Output output : outputs) {
            try {
                Path parent = output.file.getParent();
                if (parent != null) {
                    Files.createDirectories(parent);
                }
                SafeFiles.replace(output.file, output.render.apply(snapshot));
                output.failed = false;
            } catch (IOException | RuntimeException | LinkageError e) {
                if (!output.failed) {
                    Surfaces.log("cannot write the " + output.what + " " + output.file + ": " + e
                            + "; the next interval tries again");
                }
                output.failed = true;
            }
        }
    }
}
