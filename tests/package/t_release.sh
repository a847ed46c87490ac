# shellcheck shell=bash
# Package-layer checks of releases (issue 16), sourced by tests/package/run.sh: uses its
# $T (temp dir) and check/refute helpers. Call release_checks once.
#
# The changelog is the list of releases: its first entry is this build's version, its
# second the previous release, which the system layer's piuparts group upgrades from
# (tests/system/previous-release.sh finds it in the history). Here: the repository's own
# changelog against Cargo.toml and the tag, and the finder run in throwaway repositories
# (tagged, untagged, shallow, a first release), so a wrong pick fails here, not as an
# upgrade from the wrong tree.

RL_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RL_FINDER=$RL_TOP/tests/system/previous-release.sh

# rl_repo DIR VERSION...: a git repository whose changelog went through VERSIONs, one
# commit each, with a commit that is no release in between; the finder copied in.
rl_repo() {
	local d=$1 v
	shift
	rm -rf "$d"
	mkdir -p "$d/debian" "$d/tests/system"
	cp "$RL_FINDER" "$d/tests/system/"
	git -C "$d" init -q
	for v in "$@"; do
		{
			printf 'clamav-freshen (%s) unstable; urgency=medium\n\n  * %s.\n\n' "$v" "$v"
			printf ' -- t <t@example.org>  %s\n\n' "$(date -R)"
			cat "$d/debian/changelog" 2>/dev/null || true
		} >"$d/debian/changelog.new"
		mv "$d/debian/changelog.new" "$d/debian/changelog"
		git -C "$d" add -A
		git -C "$d" -c user.name=t -c user.email=t@example.org commit -qm "version $v"
		echo "$v" >>"$d/work"
		git -C "$d" add -A
		git -C "$d" -c user.name=t -c user.email=t@example.org commit -qm "work after $v"
	done
}
# rl_commit_at DIR VERSION: the last commit whose changelog is at VERSION (the work commit).
rl_commit_at() { git -C "$1" log --format=%H --grep="^work after $2\$" -1; }
# rl_find DIR: the finder's answer in DIR ("VERSION COMMIT"), status kept.
rl_find() { bash "$1/tests/system/previous-release.sh" --find "$T/rl-out"; }

release_checks() {
	local r=$T/rl got want rc
	check "debian/changelog's version is Cargo.toml's (the upstream part)" \
		sh -c "test \"\$(dpkg-parsechangelog -l '$RL_TOP/debian/changelog' -S Version | sed 's/-[^-]*\$//')\" = \"\$(sed -n 's/^version = \"\\(.*\\)\"\$/\\1/p' '$RL_TOP/Cargo.toml' | head -n 1)\""
	check "debian/changelog: every entry older than the one above it" sh -c "
		dpkg-parsechangelog -l '$RL_TOP/debian/changelog' --all -S Version >'$T/rl-versions'
		prev=; while read -r v; do
			if [ -n \"\$prev\" ]; then dpkg --compare-versions \"\$v\" lt \"\$prev\" || { echo \"\$v is not older than \$prev\"; exit 1; }; fi
			prev=\$v
		done <'$T/rl-versions'"

	if ! command -v git >/dev/null; then
		skip "release finder: git not installed"
		return 0
	fi
	# untagged: the last commit before the changelog moved on
	rl_repo "$r" 0.1.0-1 0.2.0-1 0.3.0-1
	want="0.2.0-1 $(rl_commit_at "$r" 0.2.0-1)"
	got=$(rl_find "$r" 2>&1) || true
	check "release finder, no tags: the previous release is the last commit at the changelog's second version" \
		test "$got" = "$want"
	# a DEP-14 tag wins over the history (a release tagged before its last commit)
	git -C "$r" tag debian/0.2.0-1 "$(git -C "$r" log --format=%H --grep='^version 0.2.0-1$' -1)"
	want="0.2.0-1 $(git -C "$r" rev-parse 'debian/0.2.0-1^{commit}')"
	got=$(rl_find "$r" 2>&1) || true
	check "release finder: the tag debian/<version> when there is one" test "$got" = "$want"
	# a tag on a commit at another version is refused, not built
	git -C "$r" tag -f debian/0.2.0-1 "$(rl_commit_at "$r" 0.1.0-1)" >/dev/null
	rc=0; got=$(rl_find "$r" 2>&1) || rc=$?
	check "release finder: a tag at another version is an error, not a build ($got)" test "$rc" = 1
	# a shallow clone without the release: one SKIP line, status 77
	rm -rf "$r-shallow"
	git clone -q --depth 1 --no-tags "file://$r" "$r-shallow" 2>/dev/null
	rc=0; got=$(rl_find "$r-shallow" 2>&1) || rc=$?
	check "release finder, shallow clone: SKIP (77) with the reason on one line" \
		sh -c "test '$rc' = 77 && test \"\$(printf '%s\n' \"$got\" | grep -c '^SKIP: ')\" = 1"
	# a first release: nothing to upgrade from
	rl_repo "$r" 0.1.0-1
	rc=0; got=$(rl_find "$r" 2>&1) || rc=$?
	check "release finder, first release: SKIP (77), nothing to upgrade from" \
		sh -c "test '$rc' = 77 && printf '%s\n' \"$got\" | grep -q '^SKIP: .*first release'"
	# this repository (when it is a full clone with its history): the previous release found
	if git -C "$RL_TOP" rev-parse --git-dir >/dev/null 2>&1 &&
		[ "$(git -C "$RL_TOP" rev-parse --is-shallow-repository)" = false ]; then
		got=$(bash "$RL_FINDER" --find "$T/rl-out" 2>&1) || true
		want=$(dpkg-parsechangelog -l "$RL_TOP/debian/changelog" -o 1 -c 1 -S Version)
		check "this repository's previous release ($want) is found in its history" \
			sh -c "printf '%s\n' '$got' | grep -Eq '^$want [0-9a-f]{40}\$'"
	else
		skip "this repository's previous release: not a full git clone"
	fi
	rm -rf "$r" "$r-shallow" "$T/rl-out" "$T/rl-versions"
}
