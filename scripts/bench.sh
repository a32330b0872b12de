#!/usr/bin/env bash
# Measures what memleak4j costs: every workload of bench/ in fresh JVMs without a tool, with memleak4j (default
# settings) and with async-profiler 4.2's nativemem, alternating in rounds, then agent memory with 1M outstanding
# allocations, a 1-second program's start-up and javac compiling the agent's sources; prints the machine and
# Markdown tables (about 10 minutes with the defaults).
#   scripts/bench.sh                                   # build, fetch async-profiler, run everything
#   scripts/bench.sh --rounds 5 --measure 10           # options go to the benchmark (--help lists them)
#   BENCH_AGENT=/path/to/memleak4j-agent.jar scripts/bench.sh   # measure that jar (the agent is not built)
#   BENCH_SKIP_BUILD=1 scripts/bench.sh                # use the jars already built
# async-profiler comes from Maven Central (tools.profiler:async-profiler:4.2) and is cached in BENCH_CACHE
# (default ~/.cache/memleak4j-bench); when it cannot be fetched its column is skipped with the reason.
# The bench runs as root and loads libraries from the cache, so the cache must be ours alone: never a shared /tmp
# path another user could have made first.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-cache.sh
agent=${BENCH_AGENT:-agent/target/memleak4j-agent.jar}

# The build also writes each module's compile classpath (target/compile-classpath.txt), resolved in the reactor:
# the javac row compiles the agent's own sources against the agent's, and nothing needs to be installed for it.
classpath_goal=(dependency:build-classpath -Dmdep.includeScope=compile -Dmdep.outputFile=target/compile-classpath.txt)
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    if [ -n "${BENCH_AGENT:-}" ]; then
        echo "[bench] building the benchmark (mvn package -pl bench)" >&2
        mvn -B -q package -DskipTests -pl bench
    else
        scripts/install-toolchain.sh
        echo "[bench] building memleak4j's agent and the benchmark (mvn package -pl agent,bench -am)" >&2
        mvn -B -q package -DskipTests -pl agent,bench -am "${classpath_goal[@]}"
    fi
fi

# The bare-uprobe line needs tracefs, which a fresh Debian VM has in its kernel but does not mount.
if [ "$(id -u)" = 0 ] && ! mountpoint -q /sys/kernel/tracing && grep -qw tracefs /proc/filesystems; then
    if mount -t tracefs tracefs /sys/kernel/tracing; then
        echo "[bench] mounted tracefs on /sys/kernel/tracing (for the bare-uprobe line)" >&2
    fi
fi

profiler_version=4.2
profiler="$cache/async-profiler-$profiler_version/libasyncProfiler.so"
profiler_args=()
if [ ! -f "$profiler" ]; then
    echo "[bench] fetching async-profiler $profiler_version from Maven Central" >&2
    fetch_log="$cache/async-profiler-fetch.log"
    if mvn -B -q dependency:copy -Dartifact="tools.profiler:async-profiler:$profiler_version" \
            -DoutputDirectory="$cache/async-profiler-$profiler_version" >"$fetch_log" 2>&1 \
        && unzip -o -q -j "$cache/async-profiler-$profiler_version/async-profiler-$profiler_version.jar" \
            linux-x64/libasyncProfiler.so -d "$cache/async-profiler-$profiler_version" >>"$fetch_log" 2>&1; then
        :
    else
        echo "[bench] could not fetch async-profiler (see $fetch_log): its column is skipped" >&2
    fi
fi
if [ -f "$profiler" ]; then
    profiler_args=(--async-profiler "$profiler")
else
    profiler_args=(--no-async-profiler "tools.profiler:async-profiler:$profiler_version could not be fetched from Maven Central (see $cache/async-profiler-fetch.log)")
fi

# The javac row's classpath: the one the build wrote, else resolved from the local repository (what an earlier
# `mvn install` put there). Without one the row is skipped, whatever --javac-rounds says, with the reason.
javac_classpath=agent/target/compile-classpath.txt
if [ -s "$javac_classpath" ] || mvn -B -q "${classpath_goal[@]}" -pl agent >"$cache/javac-classpath.log" 2>&1; then
    javac_args=(--javac-classpath "$(cat "$javac_classpath")")
else
    javac_args=(--no-javac "the agent's classpath could not be resolved (see $cache/javac-classpath.log)")
fi

exec java -Xmx128m -jar bench/target/memleak4j-bench.jar --agent "$agent" --work-dir "$cache" \
    "${profiler_args[@]}" "${javac_args[@]}" "$@"
