#!/usr/bin/env bash
# Installs what building memleak4j needs and that a fresh Debian 12/13 machine lacks:
#   clang + llvm (BPF compiler), bpftool (skeleton generator), libelf/zlib headers, make,
#   and a static, position-independent libbpf built from Debian's own libbpf sources
#   (Debian's libbpf.a is not -fPIC, so it cannot be linked into our JNI .so; see README).
#   --tests: also what the integration tests read the outputs back with (chromium, golang-go).
# Idempotent: every step is skipped when its result is already there.
# The prefix for libbpf can be moved with MEMLEAK4J_TOOLCHAIN (default /opt/memleak4j-toolchain).
set -euo pipefail

PREFIX=${MEMLEAK4J_TOOLCHAIN:-/opt/memleak4j-toolchain}
LIBBPF_WANTED_SUITE=trixie     # libbpf 1.5: uprobe_multi (1.3+) and uprobe sessions (1.5+)
log() { printf '[install-toolchain] %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@";
    else log "need root to run: $*"; exit 1; fi
}

# --- Debian packages -------------------------------------------------------------------------
need_pkgs=()
command -v clang   >/dev/null || need_pkgs+=(clang)
command -v llvm-strip >/dev/null || ls /usr/bin/llvm-strip-* >/dev/null 2>&1 || need_pkgs+=(llvm)
command -v bpftool >/dev/null || [ -x /usr/sbin/bpftool ] || need_pkgs+=(bpftool)
command -v make    >/dev/null || need_pkgs+=(make)
command -v gcc     >/dev/null || need_pkgs+=(gcc)
command -v capsh   >/dev/null || need_pkgs+=(libcap2-bin)        # tests drop privileges with it
command -v dpkg-source >/dev/null || need_pkgs+=(dpkg-dev)       # `apt-get source` unpacks with it
command -v pkg-config  >/dev/null || need_pkgs+=(pkg-config)
# With --tests (scripts/test.sh): the readers the integration tests check the outputs with, a headless browser for
# the flame graph and go tool pprof for the pprof profile. The demo and the bench do not need them.
if [ "${1:-}" = "--tests" ]; then
    command -v chromium >/dev/null || need_pkgs+=(chromium)
    command -v go >/dev/null || [ -x /usr/lib/go/bin/go ] || need_pkgs+=(golang-go)
fi
[ -e /usr/include/gelf.h ] || need_pkgs+=(libelf-dev)
[ -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] || need_pkgs+=(libjemalloc2)  # hooks test: an LD_PRELOADed allocator
[ -e /usr/include/zlib.h ] || need_pkgs+=(zlib1g-dev)
[ -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] || need_pkgs+=(libjemalloc2)   # obj= with a second allocator
[ -e /usr/include/x86_64-linux-gnu/asm/ptrace.h ] || [ -e /usr/include/asm/ptrace.h ] || need_pkgs+=(linux-libc-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    log "installing Debian packages: ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# --- libbpf, static and -fPIC ----------------------------------------------------------------
if [ -e "$PREFIX/libbpf/lib/libbpf.a" ] && [ -e "$PREFIX/libbpf/include/bpf/libbpf.h" ]; then
    log "libbpf already built in $PREFIX/libbpf ($(cat "$PREFIX/libbpf/VERSION" 2>/dev/null))"
    exit 0
fi
as_root mkdir -p "$PREFIX"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The machine's own Debian mirror, from its apt sources (deb822 or one-line style).
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fetch_source() {   # $1 = suite; a private sources list, the system's own lists stay untouched
    local suite=$1
    mkdir -p "$work/apt-$suite/lists/partial"
    printf 'deb-src %s %s main\n' "$mirror" "$suite" > "$work/apt-$suite/sources.list"
    local o=(-o "Dir::Etc::sourcelist=$work/apt-$suite/sources.list" -o Dir::Etc::sourceparts=/dev/null
             -o "Dir::State::Lists=$work/apt-$suite/lists" -o APT::Sandbox::User=root)
    apt-get "${o[@]}" update -qq && (cd "$work" && apt-get "${o[@]}" source -qq libbpf >/dev/null 2>&1)
}
log "fetching libbpf sources from Debian ($LIBBPF_WANTED_SUITE)"
if ! fetch_source "$LIBBPF_WANTED_SUITE"; then
    log "trixie sources not reachable; falling back to bookworm's libbpf (no uprobe sessions)"
    fetch_source bookworm
fi
src=$(find "$work" -maxdepth 1 -type d -name 'libbpf-*' | head -n1)
[ -n "$src" ] || { log "could not fetch libbpf sources"; exit 1; }
log "building $(basename "$src") (static, -fPIC)"
make -s -C "$src/src" BUILD_STATIC_ONLY=y EXTRA_CFLAGS="-fPIC -O2 -g" OBJDIR="$work/obj" \
     DESTDIR="$work/stage" PREFIX=/ LIBDIR=/lib INCLUDEDIR=/include install >/dev/null
as_root rm -rf "$PREFIX/libbpf"
as_root mkdir -p "$PREFIX/libbpf"
as_root cp -r "$work/stage/lib" "$work/stage/include" "$PREFIX/libbpf/"
basename "$src" | as_root tee "$PREFIX/libbpf/VERSION" >/dev/null
log "libbpf installed in $PREFIX/libbpf"
