#!/bin/bash
# The previous release's .deb, built from this repository's history, for the upgrade test
# of the piuparts group (issue 16: "upgrade from the previous release's .deb").
#
#   tests/system/previous-release.sh [--find] OUTDIR
#
# The previous release is the changelog's second entry. Its source is the DEP-14 tag
# debian/<version> when the clone has it, else the last commit before the changelog moved
# on from that version (so a clone without tags still finds it). --find prints
# "<version> <commit>" and stops; otherwise the .deb is built from that commit's tree
# (git archive: the repository is not touched) with cargo deb in OUTDIR, kept there for the
# next run (one .deb a commit), and its path is the last line printed.
#
# Exit status: 0 found (and built); 77 nothing to upgrade from ("SKIP: why", one line: a
# first release, a shallow clone); anything else a failure (a release that does not build
# any more is a finding, not a skip).
set -euo pipefail

find_only=0
if [[ ${1:-} = --find ]]; then find_only=1; shift; fi
(($# == 1)) || { echo "usage: $0 [--find] OUTDIR" >&2; exit 2; }
out=$1
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "previous-release: $*" >&2; exit 1; }

command -v dpkg-parsechangelog >/dev/null || die "dpkg-parsechangelog missing (dpkg-dev)"
git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout: no history to build the previous release from"

# top VERSION of the changelog at COMMIT (empty when the commit has none)
top_at() {
    git -C "$repo" show "$1:debian/changelog" 2>/dev/null | dpkg-parsechangelog -l - -S Version 2>/dev/null || true
}

cur=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version)
prev=$(dpkg-parsechangelog -l "$repo/debian/changelog" -o 1 -c 1 -S Version)
[[ -n $prev ]] || skip "$cur is the first release in debian/changelog: nothing to upgrade from"
dpkg --compare-versions "$prev" lt "$cur" || die "debian/changelog: $prev is listed before $cur but is not older"

# DEP-14: ':' -> '%', '~' -> '_' in tag names
tag=debian/$(sed 's/:/%/g; s/~/_/g' <<<"$prev")
commit=$(git -C "$repo" rev-parse -q --verify "refs/tags/$tag^{commit}" || true)
how="tag $tag"
if [[ -z $commit ]]; then
    # The commit that moved the changelog on from $prev: its parent is the release.
    while read -r c; do
        parent=$(git -C "$repo" rev-parse -q --verify "$c^" || true)
        [[ -n $parent ]] || break
        if [[ $(top_at "$c") != "$prev" && $(top_at "$parent") = "$prev" ]]; then
            commit=$parent
            break
        fi
    done < <(git -C "$repo" rev-list HEAD -- debian/changelog)
    how="the last commit at $prev"
fi
if [[ -z $commit ]]; then
    if [[ $(git -C "$repo" rev-parse --is-shallow-repository) = true ]]; then
        skip "a shallow clone: no tag $tag and no commit at $prev (git fetch --unshallow --tags)"
    fi
    die "neither a tag $tag nor a commit whose changelog is at $prev"
fi
[[ $(top_at "$commit") = "$prev" ]] || die "$how ($commit) has changelog version $(top_at "$commit"), not $prev"
if ((find_only)); then echo "$prev $commit"; exit 0; fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
short=$(git -C "$repo" rev-parse --short=12 "$commit")
arch=$(dpkg --print-architecture)
deb=$out/clamav-freshen_${prev}_${arch}.deb
if [[ -s $deb && $(cat "$deb.commit" 2>/dev/null) = "$commit" ]]; then
    echo "# $prev ($how, $short): kept from an earlier run" >&2
    echo "$deb"
    exit 0
fi
rm -f "$deb" "$deb.commit"
src=$out/src-$short
rm -rf "$src" "$out/target"
mkdir -p "$src"
git -C "$repo" archive "$commit" | tar -x -C "$src"
echo "# building $prev ($how, $short) in $out" >&2
# The release profile without LTO and optimisation: the upgrade test runs the old package's
# maintainer scripts and binaries, it does not time them; a full LTO build would double the
# build's minutes for nothing.
built=$(cd "$src" && CARGO_TARGET_DIR=$out/target CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo deb --locked --output "$deb" 2>"$out/build.log" | tail -n 1) ||
    { tail -n 30 "$out/build.log" >&2; die "$prev ($short) does not build"; }
[[ $built = "$deb" && -s $deb ]] || die "cargo deb built '$built', not $deb"
[[ $(dpkg-deb -f "$deb" Version) = "$prev" ]] || die "$deb has version $(dpkg-deb -f "$deb" Version), not $prev"
echo "$commit" >"$deb.commit"
rm -rf "$src" "$out/target"
echo "$deb"
