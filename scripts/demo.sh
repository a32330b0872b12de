#!/usr/bin/env bash
# Runs memleak4j on the demo app and shows its report. Installs the build toolchain when it is missing
# (scripts/install-toolchain.sh) and builds the jars first.
#   scripts/demo.sh                      # 16 s, a report every 5 s
#   DEMO_SECONDS=60 AGENT_OPTIONS=interval=10,top=5 scripts/demo.sh
#   DEMO_OUTPUTS=/tmp/demo scripts/demo.sh   # also a flame graph, a pprof profile and a JFR file there (docs/outputs.md)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-toolchain.sh
echo "[demo] building memleak4j (mvn package, tests skipped)" >&2
mvn -B -q package -DskipTests
options=${AGENT_OPTIONS:-interval=5,top=10,show-allocs}
if [ -n "${DEMO_OUTPUTS:-}" ]; then
    mkdir -p "$DEMO_OUTPUTS"
    out=$(cd "$DEMO_OUTPUTS" && pwd)
    options="$options,flamegraph=$out/memleak4j.html,pprof=$out/memleak4j.pb.gz,jfr-file=$out/memleak4j.jfr"
fi
# -XX:+PreserveFramePointer: complete stacks through JIT-compiled Java code (README, "Java frames").
echo "[demo] java -XX:+PreserveFramePointer -javaagent:agent/target/memleak4j-agent.jar=$options -jar demo-app/target/demo-app.jar" >&2
exec java -XX:+PreserveFramePointer -javaagent:agent/target/memleak4j-agent.jar="$options" -jar demo-app/target/demo-app.jar \
    --seconds "${DEMO_SECONDS:-16}"
