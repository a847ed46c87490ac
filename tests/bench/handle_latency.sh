#!/bin/sh
# Prints clamav-freshen `handle` time-to-return while freshclam hangs (median, p90).
# Figures only, no assertions. Usage: tests/bench/handle_latency.sh [runs]
set -eu
cd "$(dirname "$0")/../.."
cargo build --release --quiet --bin clamav-freshen --example handle_latency
target_dir="${CARGO_TARGET_DIR:-target}"
"$target_dir/release/examples/handle_latency" "$target_dir/release/clamav-freshen" "${1:-200}"
