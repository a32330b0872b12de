package dev.memleak4j.agent.report;

import dev.memleak4j.agent.bpf.Stat;
import dev.memleak4j.agent.leaks.LeakDetector;
import dev.memleak4j.agent.owners.OwnerCount;
import dev.memleak4j.agent.stacks.Frame;

import java.util.ArrayList;
import java.util.List;

/** Formats a {@link Snapshot} in the shape of bcc's memleak report. */
public final class TextReport {
    private TextReport() {}

    /** @param losses what the agent itself lost by the time of the snapshot (the losses line) */
    public static String format(Snapshot snapshot, AgentLosses losses) {
        StringBuilder out = new StringBuilder(4096);
        if (snapshot.atExit()) {
            out.append('[').append(ClockText.of(snapshot.time()))
                    .append("] Exit report: what was still outstanding when the JVM exited\n");
        }
        if (snapshot.leaks() != null) {
            appendSuspects(out, snapshot);
        }
        if (snapshot.memory() != null) {
            out.append('[').append(ClockText.of(snapshot.time())).append("] Memory: ").append(snapshot.memory().text())
                    .append('\n');
        }
        out.append('[').append(ClockText.of(snapshot.time())).append("] Top ").append(snapshot.top())
                .append(" stacks with outstanding allocations:\n");
        String estimate = " (estimated: " + SamplingText.of(snapshot.sampleRate(), snapshot.sampleBytes(),
                snapshot.sampleBytesNow()) + ")";
        for (StackReport stack : snapshot.stacks()) {
            for (Allocation allocation : stack.allocations()) {
                out.append("\taddr = ").append(Long.toHexString(allocation.address())).append(" size = ")
                        .append(allocation.size()).append('\n');
            }
            long listed = stack.allocations().size();
            if (listed > 0 && listed < stack.trackedCount()) {
                out.append("\t... ").append(stack.trackedCount() - listed).append(" more allocations not listed\n");
            }
            out.append('\t').append(stack.bytes()).append(" bytes in ").append(stack.count())
                    .append(" allocations from stack").append(stack.estimated() ? estimate : "").append('\n');
            if (stack.frames().isEmpty()) {
                out.append("\t\t[stack not recorded]\n");
            }
            for (Frame frame : stack.frames()) {
                out.append("\t\t").append(frame.addressText()).append('\t')
                        .append(frame.text()).append('\n');
            }
        }
        appendLosses(out, snapshot, losses);
        return out.toString();
    }

    /** Frames of a suspect printed in the section: enough to recognise it; the whole stack is in the Top N. */
    private static final int SUSPECT_FRAMES = 8;

    /** "Leak suspects": the growing stacks, fastest first, and how many stacks are steady, transient or too new. */
    private static void appendSuspects(StringBuilder out, Snapshot snapshot) {
        LeakDetector.Verdicts leaks = snapshot.leaks();
        List<LeakDetector.Suspect> suspects = leaks.suspects();
        out.append('[').append(ClockText.of(snapshot.time())).append("] Leak suspects: ")
                .append(suspects.isEmpty() ? "none" : String.valueOf(suspects.size()))
                .append(" growing over the last ").append(leaks.windowSeconds()).append(" s (")
                .append(leaks.steady()).append(" steady, ").append(leaks.transients()).append(" transient, ")
                .append(leaks.tooNew()).append(" too new to tell)\n");
        int rank = 0;
        for (LeakDetector.Suspect suspect : suspects.subList(0, Math.min(snapshot.top(), suspects.size()))) {
            out.append("\t#").append(++rank).append(" growing ").append(Math.round(suspect.bytesPerMinute()))
                    .append(" bytes/min since ").append(ClockText.of(suspect.since())).append(", confidence ")
                    .append(suspect.confidence().text()).append(" (").append(suspect.evidence()).append("): ")
                    .append(suspect.bytes()).append(" bytes in ").append(suspect.count()).append(" allocations now\n");
            if (!suspect.owners().isEmpty()) {
                out.append("\t\towners: ").append(OwnerCount.text(suspect.owners())).append('\n');
            }
            List<Frame> frames = suspect.frames();
            for (Frame frame : frames.subList(0, Math.min(SUSPECT_FRAMES, frames.size()))) {
                out.append("\t\t").append(frame.text()).append('\n');
            }
            if (frames.size() > SUSPECT_FRAMES) {
                out.append("\t\t... ").append(frames.size() - SUSPECT_FRAMES).append(" more frames\n");
            }
        }
        if (suspects.size() > snapshot.top()) {
            out.append("\t... ").append(suspects.size() - snapshot.top()).append(" more growing stacks\n");
        }
    }

    /** Nothing is lost silently: every allocation not tracked, or tracked without its stack, is counted here. */
    private static void appendLosses(StringBuilder out, Snapshot snapshot, AgentLosses agent) {
        List<String> losses = new ArrayList<>();
        addLoss(losses, snapshot, Stat.DROPPED_ALLOCS_FULL, "not tracked: allocation map full (raise max-allocs)");
        addLoss(losses, snapshot, Stat.DROPPED_STACKS_FULL, "tracked without stack: stack map full (raise max-stacks)");
        addLoss(losses, snapshot, Stat.DROPPED_STACK_ERROR, "tracked without stack: the stack walk failed");
        addLoss(losses, snapshot, Stat.DROPPED_COMBINED_FULL, "missing from the per-stack counters: map full");
        addLoss(losses, snapshot, Stat.JAVA_WALK_PARTIAL,
                "stacks whose Java frames could not all be walked from the thread's frame anchor (a frame the walk "
                        + "does not know, or an unreadable word): they end early");
        addLoss(losses, snapshot, Stat.DROPPED_NO_PENDING,
                "returns without their entry (calls begun before the probes, or more threads than max-threads)");
        if (agent.javaCallersLost() > 0) {
            losses.add(agent.javaCallersLost() + " JNI calls reported without their Java callers (capture failed, or "
                    + "more than 262,144 marked calls with allocations between two reports)");
        }
        if (agent.ownersLost() > 0) {
            losses.add(agent.ownersLost() + " owners of tracked blocks not known (more than 262,144 registered, or "
                    + "their registration failed)");
        }
        if (agent.unnamed().frames() > 0) {
            losses.add(agent.unnamed().frames() + " frames in " + agent.unnamed().libraries()
                    + " libraries not named: " + agent.unnamed().firstError());
        }
        if (!losses.isEmpty()) {
            // The counters run from the attach: after a run-time attach, "since" tells what they cover.
            out.append("\t[memleak4j] ").append(String.join("; ", losses)).append("; counted since ")
                    .append(ClockText.of(snapshot.trackingSince())).append('\n');
        }
    }

    private static void addLoss(List<String> losses, Snapshot snapshot, Stat stat, String what) {
        long value = snapshot.stat(stat);
        if (value > 0) {
            losses.add(value + " " + what);
        }
    }
}
