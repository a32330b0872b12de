#!/usr/bin/env bash
# Compares two JVM configurations on one bench workload by running them side by side: in each round both children
# run at the same time, each pinned to one CPU (and told it has one), and they swap CPUs every round. Both sides of
# a pair then see the same host, which on shared VMs moves by ±20% between one run and the next; the ratios of the
# pairs scatter by a few percent instead. It answers "does B cost more than A?" for one part of the agent (a
# variant, a test agent); it is not the bench (one CPU each changes the workload), whose rows are the targets.
#   scripts/bench-pair.sh ROUNDS LABEL_A 'JVM ARGS A' LABEL_B 'JVM ARGS B'
#   scripts/bench-pair.sh 6 old '-javaagent:agent/target/memleak4j-agent.jar=max-tracked=10000' \
#                           new '-javaagent:agent/target/memleak4j-agent.jar'
# Environment: WORKLOAD (default gc-heavy), WARMUP_MS (2000), MEASURE_MS (5000), BENCH_CACHE as for bench.sh (its
# native/ holds the bench's JNI library, which scripts/bench.sh extracts on its first run).
# Prints each child's ops/s and mean full-GC pause, then B/A: the median of the pairs' ratios and all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 5 ]; then
    sed -n '2,12p' "$0" >&2
    exit 2
fi
rounds=$1 label_a=$2 args_a=$3 label_b=$4 args_b=$5
. scripts/bench-cache.sh
library="$cache/native/libmemleak4jbench.so"
bench_jar=bench/target/memleak4j-bench.jar
for file in "$library" "$bench_jar"; do
    if [ ! -f "$file" ]; then
        echo "[bench-pair] $file is missing: run scripts/bench.sh once (it builds the bench and extracts it)" >&2
        exit 2
    fi
done
if [ "$(nproc)" -lt 2 ]; then
    echo "[bench-pair] needs two CPUs, one per child; this host has $(nproc)" >&2
    exit 2
fi

# child CPU LABEL ARGS: one child pinned to CPU, with the bench's child flags (ChildRunner.baseJvmArgs: keep the two alike);
# prints "LABEL OPS_PER_S FULL_GC_MS"
child() {
    # shellcheck disable=SC2086 # ARGS are JVM arguments separated by spaces, as given
    taskset -c "$1" java -XX:ActiveProcessorCount=1 -Xms256m -Xmx256m -XX:+AlwaysPreTouch \
        -XX:MaxDirectMemorySize=64m $3 -Dmemleak4j.bench.lib="$library" -cp "$bench_jar" \
        dev.memleak4j.bench.ChildMain "${WORKLOAD:-gc-heavy}" "${WARMUP_MS:-2000}" "${MEASURE_MS:-5000}" \
        </dev/null 2>/dev/null |
        awk -v label="$2" '/BENCH result/ {
            for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            printf "%s %.0f %.3f\n", label, v["ops"] / v["nanos"] * 1e9, v["full_gcs"] ? v["full_gc_millis"] / v["full_gcs"] : 0
        }'
}

work=$(mktemp -d) # private (0700): the per-round files are written as root
trap 'rm -rf "$work"' EXIT
results=$work/pairs
for round in $(seq 1 "$rounds"); do
    cpu_a=$(( round % 2 )) cpu_b=$(( (round + 1) % 2 ))
    child "$cpu_a" "$label_a" "$args_a" > "$work/a" &
    child "$cpu_b" "$label_b" "$args_b" > "$work/b"
    wait
    if [ ! -s "$work/a" ] || [ ! -s "$work/b" ]; then
        echo "[bench-pair] round $round: a child printed no result (run its command by hand to see why)" >&2
        exit 1
    fi
    paste -d ' ' "$work/a" "$work/b" | tee -a "$results" |
        awk -v r="$round" '{ printf "round %d: %s %s ops/s, full GC %s ms | %s %s ops/s, full GC %s ms\n", r, $1, $2, $3, $4, $5, $6 }'
done
awk -v a="$label_a" -v b="$label_b" '
    function median(x, n,   i, j, t) {
        for (i = 2; i <= n; i++) for (j = i; j > 1 && x[j - 1] > x[j]; j--) { t = x[j]; x[j] = x[j - 1]; x[j - 1] = t }
        return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
    }
    function show(what, x, n,   i, s) {
        s = ""; for (i = 1; i <= n; i++) s = s sprintf(" %.3f", x[i])
        printf "%s/%s %s: median %.3f, pairs:%s\n", b, a, what, median(x, n), s
    }
    { n++; ops[n] = $5 / $2; gc[n] = $3 > 0 ? $6 / $3 : 0 }
    END { show("ops/s", ops, n); show("full-GC pause", gc, n) }' "$results"
