#!/usr/bin/env bash
# Soak: a long churn run with a known leak under the agent (not part of `mvn verify`).
#   scripts/soak.sh                          # 600 s, a report every 5 s
#   SOAK_SECONDS=120 SOAK_INTERVAL=2 scripts/soak.sh
# The application (integration-tests' SoakProgram) churns native memory from JNI, short-lived threads,
# Inflater/Deflater and direct buffers, and leaks 2 blocks of 7919 bytes after each report; it checks that every
# report shows exactly the blocks leaked before it (sample-bytes=0: every allocation tracked, so "exactly" holds). This script samples the JVM's RSS every interval and checks
# it is flat after the warm-up (growth beyond the known leak at most SOAK_RSS_SLACK_KB). Prints one
# `SOAK RESULT ...` line; exits 0 when everything held.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${SOAK_SECONDS:-600}
interval=${SOAK_INTERVAL:-5}
warmup=${SOAK_WARMUP:-120}
slack_kb=${SOAK_RSS_SLACK_KB:-16384}
java=${JAVA:-java}

if [[ ! -f agent/target/memleak4j-agent.jar || ! -f integration-tests/target/native/libleaktest.so \
      || ! -f integration-tests/target/test-classes/dev/memleak4j/it/programs/SoakProgram.class ]]; then
    echo "[soak] building (mvn install -DskipTests)" >&2
    mvn -B -q install -DskipTests
fi
# A private copy: a rebuild during the run must not change the jar under the running JVM.
work=$(mktemp -d /tmp/memleak4j-soak.XXXXXX)
cp agent/target/memleak4j-agent.jar "$work/"
cp integration-tests/target/native/libleaktest.so "$work/"
cp -r integration-tests/target/test-classes "$work/classes"
echo "[soak] $seconds s, report every $interval s, warm-up $warmup s; files in $work" >&2

"$java" -Xms64m -Xmx64m -XX:+AlwaysPreTouch -XX:MaxDirectMemorySize=32m \
    -javaagent:"$work/memleak4j-agent.jar=interval=$interval,older=0,top=300,sample-bytes=0,output=$work/report.txt" \
    -Dleaktest.library="$work/libleaktest.so" -cp "$work/classes" \
    dev.memleak4j.it.programs.SoakProgram "$work/report.txt" "$seconds" >"$work/stdout.txt" 2>"$work/stderr.txt" &
pid=$!
start=$(date +%s)
: >"$work/rss.txt"
while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [[ -n "$rss" ]] && echo "$(( $(date +%s) - start )) $rss" >>"$work/rss.txt"
    sleep "$interval"
done
status=0
wait "$pid" || status=$?

program=$(grep -E '^SOAK (PASS|FAIL)' "$work/stdout.txt" || echo "SOAK FAIL: the program printed no verdict")
reports=$(grep -c '^SOAK report=' "$work/stdout.txt" || true)
mismatches=$(grep -c 'MISMATCH' "$work/stdout.txt" || true)
leak_kb_after_warmup=$(awk -v w="$warmup" -v i="$interval" 'BEGIN { printf "%d", (('"$seconds"' - w) / i) * 2 * 7919 / 1024 }')
read -r rss_at_warmup rss_max rss_end < <(awk -v w="$warmup" '
    $1 >= w && !seen { at = $2; seen = 1 }
    $1 >= w && $2 > max { max = $2 }
    { last = $2 }
    END { print at + 0, max + 0, last + 0 }' "$work/rss.txt")
growth=$(( rss_max - rss_at_warmup ))
map_first=$(grep -o 'map_bytes=[0-9-]*' "$work/stdout.txt" | head -1 | cut -d= -f2)
map_last=$(grep -o 'map_bytes=[0-9-]*' "$work/stdout.txt" | tail -1 | cut -d= -f2)
losses=$(grep -o 'losses=.*' "$work/stdout.txt" | tail -1 | cut -d= -f2-)
rss_ok=yes
if (( rss_at_warmup == 0 || growth > leak_kb_after_warmup + slack_kb )); then
    rss_ok=no
fi
verdict=PASS
if [[ $status -ne 0 || $program != "SOAK PASS"* || $rss_ok != yes || $reports -eq 0 ]]; then
    verdict=FAIL
fi
echo "SOAK RESULT $verdict: ${seconds} s, $reports reports, $mismatches leak mismatches ($program);" \
    "RSS ${rss_at_warmup} kB at ${warmup} s, max ${rss_max} kB, end ${rss_end} kB: growth ${growth} kB" \
    "(known leak ${leak_kb_after_warmup} kB, slack ${slack_kb} kB);" \
    "BPF maps ${map_first} -> ${map_last} bytes; last losses line: ${losses}; exit $status; files in $work"
[[ $verdict == PASS ]]
