#!/bin/bash
# Runs every test of clamav-freshen, layer by layer, and ends with one summary line.
#   deps     tests/install-deps.sh (root only)
#   testdb   tests/testdb.sh: the signed test databases, exported as $CLAMAV_TESTDB to every
#            layer ($CLAMAV_TESTDB, ../shared/clamav-testdb, or fetched from Debian's clamav
#            source package into a cache); unavailable: skipped, and the tests that need
#            them say SKIP
#   lint     cargo fmt --check, cargo clippy -D warnings, tests/shellcheck.sh
#   unit     cargo test: unit tests and hermetic integration tests of both binaries
#   audit    cargo audit against the RustSec snapshot in ../shared/advisory-db (when present)
#   package  build the .deb, lintian, contents, sudoers and Nagios validation
#   deb      cargo deb: the package the system layer installs
#   system   Debian 12 and 13 containers with systemd: install, least privilege, the loop,
#            life cycle, fault matrix
#   bench    benchmarks that print figures (no timing assertions)
# Environment: SKIP_SYSTEM=1 skips the container layer (quick local loop), SKIP_BENCH=1 the
# benchmarks. Run as root on Debian 12 (the package and system layers need it).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
top=$PWD
log_dir=$top/target/test-logs
mkdir -p "$log_dir"

passed=0 failed=0 skipped=0
results=()
stage() {  # stage NAME CMD...: run one layer, keep its log, record the outcome
    local name=$1; shift
    local t0=$SECONDS rc=0
    echo "==> $name: $*"
    "$@" 2>&1 | tee "$log_dir/$name.log" || rc=${PIPESTATUS[0]}
    local secs=$((SECONDS - t0))
    if ((rc == 0)); then
        passed=$((passed + 1)); results+=("$(printf '%-8s ok      %4ss' "$name" "$secs")")
    else
        failed=$((failed + 1)); results+=("$(printf '%-8s FAILED  %4ss  (exit %s, log %s)' "$name" "$secs" "$rc" "target/test-logs/$name.log")")
    fi
}
skip() {
    skipped=$((skipped + 1)); results+=("$(printf '%-8s skipped        (%s)' "$1" "$2")")
    echo "==> $1: SKIPPED: $2"
}

if [[ $EUID -eq 0 ]]; then
    stage deps tests/install-deps.sh
else
    skip deps "not root: install-deps.sh not run"
fi
# The signed test databases, once for every layer.
echo "==> testdb: tests/testdb.sh"
t0=$SECONDS
if db=$(tests/testdb.sh 2>"$log_dir/testdb.log"); then
    cat "$log_dir/testdb.log"
    export CLAMAV_TESTDB=$db
    echo "CLAMAV_TESTDB=$db"
    passed=$((passed + 1))
    results+=("$(printf '%-8s ok      %4ss  %s' testdb "$((SECONDS - t0))" "$db")")
else
    cat "$log_dir/testdb.log"
    skip testdb "$(grep -m 1 '^SKIP:' "$log_dir/testdb.log" | sed 's/^SKIP: //')"
fi
stage lint bash -c 'rc=0
    tests/shellcheck.sh || rc=1
    cargo fmt --all -- --check || rc=1
    cargo clippy --locked --all-targets -- -D warnings || rc=1
    exit $rc'
stage unit cargo test --locked
if [[ -d $top/../shared/advisory-db ]]; then
    stage audit cargo audit --db "$top/../shared/advisory-db" --no-fetch --deny warnings
else
    skip audit "no ../shared/advisory-db"
fi
if [[ $EUID -eq 0 ]]; then
    stage package tests/package/run.sh
    # The .deb the system layer installs. Built after the package layer, whose
    # `cargo deb --output` empties target/debian/.
    stage deb bash -c 'rm -f target/debian/clamav-freshen_*.deb && cargo deb --locked'
    if [[ ${SKIP_SYSTEM:-0} == 1 ]]; then
        skip system "SKIP_SYSTEM=1"
    else
        # --deb: a missing package is a failure here, not a skip.
        stage system bash -c 'deb=$(ls target/debian/clamav-freshen_*.deb) && tests/system/run.sh --deb "$deb"'
    fi
    if [[ ${SKIP_BENCH:-0} == 1 ]]; then
        skip bench "SKIP_BENCH=1"
    else
        stage bench bash -c 'for b in tests/bench/*.sh; do echo "--- $b"; "$b" || exit 1; done'
    fi
else
    skip package "needs root"; skip system "needs root"; skip bench "needs root"
fi

echo
echo "Summary:"
printf '  %s\n' "${results[@]}"
echo "stages: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
