#!/bin/bash
# Runs every test of clamav-freshen, layer by layer, and ends with one summary line.
#   deps     tests/install-deps.sh (root only)
#   testdb   tests/testdb.sh: the signed test databases, exported as $CLAMAV_TESTDB to every
#            layer ($CLAMAV_TESTDB, ../shared/clamav-testdb, or fetched from Debian's clamav
#            source package into a cache); unavailable: skipped, and the tests that need
#            them say SKIP
#   lint     cargo fmt --check, cargo clippy -D warnings (also with the test-root and fuzzing
#            features), tests/shellcheck.sh
#   unit     cargo test (--no-fail-fast): unit tests and hermetic integration tests of both binaries
#   fuzz     fuzz/run.sh --smoke: each fuzz target for a few seconds (needs nightly and
#            cargo-fuzz, else one SKIP line; the first build of the fuzz crate takes minutes)
#   audit    cargo audit against the RustSec snapshot in ../shared/advisory-db (when present)
#   package  build the .deb, lintian, contents, sudoers and Nagios validation
#   deb      cargo deb: the package the system layer installs
#   system   Debian 12 and 13 containers with systemd: install, least privilege, the loop,
#            life cycle, fault matrix
#   bench    benchmarks that print figures (no timing assertions)
# Environment: SKIP_SYSTEM=1 skips the container layer (quick local loop), SKIP_BENCH=1 the
# benchmarks. Run as root on Debian 12 (the package and system layers need it).
# Counting: a stage is passed, failed or skipped. Tests are counted where a layer reports
# them (cargo's "test result:" lines, the package and system layers' closing
# "N passed, N failed, N skipped"); any other stage counts as one. A test that cannot run
# prints one line starting "SKIP:" (cargo tests run with --show-output, so those lines reach
# the log) and is counted as skipped, not passed. The last line is the total:
# "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
top=$PWD
log_dir=$top/target/test-logs
mkdir -p "$log_dir"

passed=0 failed=0 skipped=0   # stages
tp=0 tf=0 ts=0                # tests
results=() skip_lines=() fail_lines=()
# tally NAME RC: the stage's tests into p f s, added to the totals.
tally() {
    local name=$1 rc=$2 log=$log_dir/$1.log n counts
    p=0 f=0 s=0
    n=$(grep -c -E '^SKIP[: ]' "$log")
    case $name in
    unit)
        read -r p f s < <(awk '/^test result:/ { for (i = 2; i <= NF; i++) {
                if ($i ~ /^passed;?$/) p += $(i - 1); if ($i ~ /^failed;?$/) f += $(i - 1)
                if ($i ~ /^ignored;?$/) s += $(i - 1) } } END { print p + 0, f + 0, s + 0 }' "$log")
        p=$((p - n)); s=$((s + n)); ((p >= 0)) || p=0 ;;
    package | system)
        counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n 1)
        if [[ $counts =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
            p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} s=${BASH_REMATCH[4]:-0}
        fi ;;
    bench)  # one "--- tests/bench/X.sh" line a benchmark
        s=$n; p=$(($(grep -c '^--- ' "$log") - n)); ((p >= 0)) || p=0 ;;
    *)  # one check
        if ((rc != 0)); then f=1; elif ((n)); then s=$n; else p=1; fi ;;
    esac
    # A failed stage counts at least one failure, whatever its log says.
    if ((rc != 0 && f == 0)); then f=1; fi
    tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
}
stage() {  # stage NAME CMD...: run one layer, keep its log, record the outcome
    local name=$1; shift
    local t0=$SECONDS rc=0 secs p f s line
    echo "==> $name: $*"
    "$@" 2>&1 | tee "$log_dir/$name.log" || rc=${PIPESTATUS[0]}
    secs=$((SECONDS - t0))
    tally "$name" "$rc"
    while IFS= read -r line; do skip_lines+=("$name: $line"); done < <(grep -E '^SKIP[: ]|# SKIP' "$log_dir/$name.log")
    if ((rc == 0)); then
        passed=$((passed + 1)); results+=("$(printf '%-8s ok      %4ss  %s passed, %s failed, %s skipped' "$name" "$secs" "$p" "$f" "$s")")
    else
        failed=$((failed + 1)); results+=("$(printf '%-8s FAILED  %4ss  %s passed, %s failed, %s skipped (exit %s, log %s)' "$name" "$secs" "$p" "$f" "$s" "$rc" "target/test-logs/$name.log")")
        # What failed, by name, where the summary is read (CI shows the tail).
        while IFS= read -r line; do fail_lines+=("$name: $line"); done < <(grep -E '^not ok |^test .* FAILED$|#   FAIL: ' "$log_dir/$name.log" | head -n 20)
    fi
}
skip() {
    skipped=$((skipped + 1)) ts=$((ts + 1)); results+=("$(printf '%-8s skipped        (%s)' "$1" "$2")")
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
    passed=$((passed + 1)) tp=$((tp + 1))
    results+=("$(printf '%-8s ok      %4ss  %s' testdb "$((SECONDS - t0))" "$db")")
else
    cat "$log_dir/testdb.log"
    skip testdb "$(grep -m 1 '^SKIP:' "$log_dir/testdb.log" | sed 's/^SKIP: //')"
fi
stage lint bash -c 'rc=0
    tests/shellcheck.sh || rc=1
    cargo fmt --all -- --check || rc=1
    cargo clippy --locked --all-targets -- -D warnings || rc=1
    cargo clippy --locked --all-targets --features test-root -- -D warnings || rc=1
    cargo clippy --locked --all-targets --features fuzzing -- -D warnings || rc=1
    if command -v cargo-deny >/dev/null; then
        # --offline: cargo deny reads every crate of Cargo.lock, those of other platforms
        # too, which a build never downloads: fetch them first.
        cargo fetch --locked --quiet || rc=1
        cargo deny --offline check licenses bans sources || rc=1
    else
        echo "SKIP: cargo-deny not installed (licenses, bans, sources unchecked)"
    fi
    exit $rc'
stage unit cargo test --locked --no-fail-fast --features test-root -- --show-output
stage fuzz fuzz/run.sh --smoke
if [[ -d $top/../shared/advisory-db ]]; then
    stage audit cargo audit --db "$top/../shared/advisory-db" --no-fetch --deny warnings
else
    skip audit "no ../shared/advisory-db"
fi
if [[ $EUID -eq 0 ]]; then
    stage package tests/package/run.sh
    # The .deb the system layer installs. Built after the package layer, whose
    # `cargo deb --output` empties target/debian/.
    stage deb bash -c 'rm -f target/debian/clamav-freshen_*.deb target/debian/clamav-freshen-monitor_*.deb &&
        cargo deb --locked && cargo deb --locked --variant monitor --no-build'
    if [[ ${SKIP_SYSTEM:-0} == 1 ]]; then
        skip system "SKIP_SYSTEM=1"
    else
        # --deb: a missing package is a failure here, not a skip.
        stage system bash -c 'deb=$(ls target/debian/clamav-freshen_*.deb) && mdeb=$(ls target/debian/clamav-freshen-monitor_*.deb) &&
            tests/system/run.sh --deb "$deb" --mdeb "$mdeb"'
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
if ((${#skip_lines[@]})); then
    echo "Skipped tests:"
    printf '  %s\n' "${skip_lines[@]}"
fi
if ((${#fail_lines[@]})); then
    echo "Failed tests:"
    printf '  %s\n' "${fail_lines[@]}"
fi
echo "stages: $passed passed, $failed failed, $skipped skipped"
echo "tests: $tp passed, $tf failed, $ts skipped"
((failed == 0))
