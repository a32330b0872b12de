#!/usr/bin/env bash
# Builds everything and runs every test (unit tests, then real JVMs with the real BPF programs).
# Installs the build toolchain and the tests' readers when missing (scripts/install-toolchain.sh --tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-toolchain.sh --tests
exec mvn -B verify "$@"
