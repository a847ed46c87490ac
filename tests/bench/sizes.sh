#!/bin/bash
# Benchmark: what the package costs on disk. Prints the size of both .debs, of each shipped
# binary (as installed: stripped), and what each crate adds to a binary's code (cargo bloat
# --crates: the .text it contributes; std is the standard library, clamav_freshen our own).
#
# Usage: tests/bench/sizes.sh        (builds the release binaries and both .debs when missing)
# Needs: cargo-deb; cargo-bloat for the per-crate table (without it: one SKIP line).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
work=$(mktemp -d /tmp/sizes-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

kib() { awk -v b="$1" 'BEGIN {printf "%.1f KiB", b / 1024}'; }

# the .debs as the package stage builds them, into a directory of this bench's own
cargo deb --locked --output "$work/" >"$work/deb.log" 2>&1 || { tail -n 20 "$work/deb.log"; exit 1; }
cargo deb --locked --variant monitor --no-build --output "$work/" >>"$work/deb.log" 2>&1 ||
    { tail -n 20 "$work/deb.log"; exit 1; }
printf '%-44s %12s\n' "file" "size"
for d in "$work"/*.deb; do
    printf '%-44s %12s\n' "$(basename "$d")" "$(kib "$(stat -c %s "$d")")"
done
deb=$(ls "$work"/clamav-freshen_*.deb)
dpkg-deb -x "$deb" "$work/root"
for b in usr/sbin/clamav-freshen usr/lib/nagios/plugins/check_clamav_freshness; do
    printf '%-44s %12s\n' "/$b (installed)" "$(kib "$(stat -c %s "$work/root/$b")")"
done
printf '%-44s %12s\n' "installed size of clamav-freshen" "$(dpkg-deb -f "$deb" Installed-Size) KiB"

if ! command -v cargo-bloat >/dev/null; then
    echo "SKIP: cargo-bloat not installed (cargo install --locked cargo-bloat): no per-crate sizes"
    exit 0
fi
# Its own target directory: cargo bloat builds with symbols, which would otherwise make the
# next plain build start over.
export CARGO_TARGET_DIR=${BLOAT_TARGET_DIR:-$ROOT/target/bloat}
for bin in clamav-freshen check_clamav_freshness; do
    cargo bloat --locked --release --crates --bin "$bin" -n 0 >"$work/$bin.bloat" 2>"$work/bloat.log" ||
        { tail -n 20 "$work/bloat.log"; exit 1; }
done
# one row a crate, its .text in each binary (KiB)
echo
printf '%-20s %16s %24s\n' crate "clamav-freshen" "check_clamav_freshness"
awk '
    FNR == 1 { f++ }
    $1 ~ /%$/ && $2 ~ /%$/ {
        v = $3; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v)
        k = (u == "MiB") ? v * 1024 : (u == "KiB") ? v : v / 1024
        c = $4; for (i = 5; i <= NF; i++) c = c " " $i
        if (c ~ /^And [0-9]+ more/) next
        if (c ~ /^\.text section size/) c = "all (.text)"
        size[c, f] = k; if (!(c in seen)) { seen[c] = 1; order[++n] = c }
    }
    function cell(c, f, w) { return ((c, f) in size) ? sprintf("%" w ".1f KiB", size[c, f]) : sprintf("%" (w + 4) "s", "-") }
    END {
        for (i = 1; i <= n; i++) {
            c = order[i]
            printf "%-20s %s %s\n", c, cell(c, 1, 12), cell(c, 2, 20)
        }
    }' "$work/clamav-freshen.bloat" "$work/check_clamav_freshness.bloat"
echo "(.text per crate, cargo bloat --crates on the release build; the installed files also hold data and symbols' tables)"
