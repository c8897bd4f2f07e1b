#!/usr/bin/env bash
# Fuzzes the collector's OTLP/HTTP decoders (protobuf and JSON, gzip or not)
# and what follows them (conversion, tree walk, printer) for SECONDS
# (default 300), then prints how long it ran and whether it found a crash.
# Needs a nightly toolchain; installs cargo-fuzz if it is missing.
# Not run in CI.
#
#   scripts/fuzz.sh 600
set -euo pipefail
seconds="${1:-300}"
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
corpus="$(mktemp -d)"
trap 'rm -rf "$corpus"' EXIT
cp seeds/otlp_decode/* "$corpus/"
started=$(date +%s)
status=0
cargo +nightly fuzz run otlp_decode "$corpus" -- -max_total_time="$seconds" -max_len=65536 || status=$?
elapsed=$(( $(date +%s) - started ))
if [ "$status" -eq 0 ]; then
  echo "fuzz: otlp_decode ran ${elapsed} s (including the build) without a crash"
else
  echo "fuzz: otlp_decode failed after ${elapsed} s (exit ${status}); the crashing input is under fuzz/artifacts/otlp_decode/"
fi
exit "$status"
