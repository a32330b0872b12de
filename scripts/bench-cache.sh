# Sourced by scripts/bench.sh and scripts/bench-pair.sh: sets $cache, the bench's cache (BENCH_CACHE, default
# ~/.cache/memleak4j-bench), made if missing, and exits when it is not ours alone. The bench runs as root and loads
# libraries from it, so no other user may have made it or be able to write into it (never a shared /tmp path).
cache=${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memleak4j-bench}
mkdir -p -m 0700 "$cache"
if [ -L "$cache" ] || [ "$(stat -c %u "$cache")" != "$(id -u)" ] || [ $(( 0$(stat -c %a "$cache") & 022 )) -ne 0 ]; then
    echo "[bench] $cache must be a directory of $(id -un) that no one else can write (set BENCH_CACHE)" >&2
    exit 2
fi
