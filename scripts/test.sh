#!/usr/bin/env bash
# Builds everything and runs every test (unit tests, then real JVMs with the real BPF programs).
# Installs the build toolchain when it is missing (scripts/install-toolchain.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-toolchain.sh
exec mvn -B verify "$@"
