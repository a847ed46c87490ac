#!/bin/bash
# Runs every fuzz target (fuzz/fuzz_targets/*.rs, libFuzzer through cargo-fuzz) one after the
# other and prints one table: target, executions, seconds, result. Exits 1 when any target
# found something (a crash or failed assertion, a hang, a leak, running out of memory), or
# when the build fails.
#   --smoke   (default) each target for $FUZZ_SECS seconds (default 3), from the committed
#             seeds only: the short run of CI (tests/run-all.sh, stage fuzz)
#   --full    each target to $FUZZ_RUNS executions (default 10000000), the bar of issue #16;
#             the corpus it grows is kept in fuzz/work/ for the next run
#   TARGET... only these targets
# Sanitizer ($FUZZ_SANITIZER): the smoke run builds with AddressSanitizer (heap errors and
# leaks); the full run with LeakSanitizer alone, about twice as fast, in target/leak/: the
# code fuzzed is safe Rust, and a panic, a hang or a leak is caught either way.
# FUZZ_SANITIZER=address fuzz/run.sh --full runs the full one under ASan too.
# Needs the nightly toolchain and cargo-fuzz (`cargo install --locked cargo-fuzz`); without
# either it prints one "SKIP: ..." line and exits 0. The first build takes minutes.
# Builds go to $FUZZ_TARGET_DIR (default /var/cache/clamav-freshen-fuzz/target when
# writable, else fuzz/target). Files: seeds in fuzz/corpus/<target>/ (committed, never written), findings in
# fuzz/artifacts/<target>/, libFuzzer's output in fuzz/logs/<target>.log. A finding is
# replayed with `fuzz/target/<host>/release/<target> fuzz/artifacts/<target>/<file>`; every
# one becomes a regression test and a seed (see README, "Fuzzing").
set -uo pipefail
cd "$(dirname "$0")" || exit 2

mode=smoke
only=()
for a in "$@"; do
    case $a in
    --smoke) mode=smoke ;;
    --full) mode=full ;;
    -h | --help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "usage: fuzz/run.sh [--smoke|--full] [TARGET...]" >&2; exit 2 ;;
    *) only+=("$a") ;;
    esac
done
secs=${FUZZ_SECS:-3}
runs=${FUZZ_RUNS:-10000000}
san=${FUZZ_SANITIZER:-}
[[ -n $san ]] || { [[ $mode == full ]] && san=leak || san=address; }
# Builds outlive the clone where they can (CI starts from a fresh one each time): the
# dependencies are then compiled once per machine, not once per run.
base=${FUZZ_TARGET_DIR:-}
if [[ -z $base ]]; then
    if [[ -w /var/cache ]]; then base=/var/cache/clamav-freshen-fuzz/target; else base=target; fi
fi
case $san in
address) tdir=$base ;;
leak | none) tdir=$base/$san ;;
*) echo "fuzz: FUZZ_SANITIZER must be address, leak or none" >&2; exit 2 ;;
esac

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "SKIP: fuzz: no nightly Rust toolchain (cargo-fuzz needs it)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "SKIP: fuzz: cargo-fuzz is not installed (cargo install --locked cargo-fuzz)"
    exit 0
fi

# Longest input per target: a little past what the real reader takes, so that the
# "only the first N bytes count" paths are exercised too.
max_len() {
    case $1 in
    cvd_header | dns_reply | clamd_version | handler_args | check_args) echo 1024 ;;
    txt_record | freshclam_dat) echo 512 ;;
    handler_config) echo 6144 ;;
    *) echo 4096 ;;
    esac
}

targets=()
if ((${#only[@]})); then
    targets=("${only[@]}")
else
    for f in fuzz_targets/*.rs; do
        t=${f##*/}
        targets+=("${t%.rs}")
    done
fi
for t in "${targets[@]}"; do
    [[ -f fuzz_targets/$t.rs && -d corpus/$t ]] || { echo "fuzz: no target $t (or no corpus/$t)" >&2; exit 2; }
done

mkdir -p logs
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
echo "fuzz: building ${#targets[@]} targets, sanitizer $san (cargo +nightly fuzz build; the first build takes minutes)"
t0=$SECONDS
if ! cargo +nightly fuzz build --sanitizer "$san" --target-dir "$tdir" >logs/build.log 2>&1; then
    tail -n 40 logs/build.log
    echo "fuzz: build failed (fuzz/logs/build.log)"
    exit 1
fi
echo "fuzz: built in $((SECONDS - t0))s"

# Rust's ASan builds report false ODR violations. The fake stacks that catch a use of a
# stack frame after its return cost a third of the time of a small target, and safe Rust
# cannot return a reference to its frame: off (leaks and heap errors are still caught).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0:detect_stack_use_after_return=0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failed=0
printf '%-18s %12s %9s  %s\n' target executions seconds result
for t in "${targets[@]}"; do
    bin=$tdir/$host/release/$t
    log=logs/$t.log
    if [[ $mode == full ]]; then
        work=work/$t
        limit=(-runs="$runs")
    else
        work=$tmp/$t
        limit=(-max_total_time="$secs")
    fi
    mkdir -p "$work" "artifacts/$t"
    start=$(date +%s%N)
    rc=0
    "$bin" "${limit[@]}" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t/" "$work" "corpus/$t" >"$log" 2>&1 || rc=$?
    elapsed=$((($(date +%s%N) - start) / 10000000))
    elapsed=$((elapsed / 100)).$(printf '%02d' $((elapsed % 100)))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    [[ -n $execs ]] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
    if ((rc == 0)); then
        result=ok
        if [[ $mode == full ]] && ((${execs:-0} < runs)); then result="ok (fewer than $runs)"; fi
    else
        failed=$((failed + 1))
        if grep -q 'libFuzzer: run interrupted' "$log"; then result=INTERRUPTED
        elif grep -q 'ERROR: libFuzzer: timeout' "$log"; then result=HANG
        elif grep -q 'ERROR: LeakSanitizer' "$log"; then result=LEAK
        elif grep -qE 'out-of-memory|ERROR: libFuzzer: (out-of-memory|malloc)' "$log"; then result=OOM
        else result=CRASH; fi
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        result+=" (exit $rc${artifact:+, fuzz/$artifact}; fuzz/$log)"
    fi
    printf '%-18s %12s %9s  %s\n' "$t" "${execs:-?}" "$elapsed" "$result"
done
if ((failed)); then
    for t in "${targets[@]}"; do
        grep -qE '^(==[0-9]+==ERROR|thread .* panicked)' "logs/$t.log" || continue
        echo "--- $t: fuzz/logs/$t.log"
        grep -m 1 -A 12 -E '^(thread .* panicked|==[0-9]+==ERROR)' "logs/$t.log"
    done
    echo "fuzz ($mode): $failed of ${#targets[@]} targets found a problem"
    exit 1
fi
echo "fuzz ($mode): ${#targets[@]} targets, no crash, hang or leak"
