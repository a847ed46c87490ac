#!/bin/sh
# Prints clamav-freshen `handle` time-to-return while freshclam hangs (median, p90).
# Figures only, no assertions. Usage: tests/bench/handle_latency.sh [runs]
# The benchmark runs the handler in test mode, which exists only with the test-root
# feature: that build goes to its own target directory, so the release binary cargo deb
# packages never carries the test hook.
set -eu
cd "$(dirname "$0")/../.."
target_dir="${CARGO_TARGET_DIR:-target}/bench-test-root"
cargo build --release --quiet --locked --features test-root --target-dir "$target_dir" \
	--bin clamav-freshen --example handle_latency
"$target_dir/release/examples/handle_latency" "$target_dir/release/clamav-freshen" "${1:-200}"
