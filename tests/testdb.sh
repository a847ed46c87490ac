#!/bin/bash
# Prints the path of a directory holding ClamAV's signed test databases (test-1..6.cvd,
# test-2..6.cdiff: upstream's unit_tests/input/freshclam_testfiles/), the first complete one of
#   1. $CLAMAV_TESTDB
#   2. ../shared/clamav-testdb beside the repository
#   3. a cache ($CLAMAV_TESTDB_CACHE; default /var/cache/clamav-freshen-test/testdb as root,
#      ~/.cache/clamav-freshen-test/testdb otherwise), filled on first use from Debian's own
#      `clamav` source package: the orig tarball is fetched with apt through a private
#      configuration (deb-src entries made from the host's apt sources, private state and
#      cache dirs; the host's apt configuration is not changed) and only that directory is
#      extracted.
# "Complete" means every file is there with the sha256 recorded below; a fetched copy must
# also have valid 512-byte "ClamAV-VDB:" headers (version N, MD5 of the body) and be byte-
# identical to ../shared/clamav-testdb where that has the file. Anything else is refused.
# When no copy can be had (no network, no source package, CLAMAV_TESTDB_FETCH=no), prints one
# line "SKIP: <reason>" on stderr and exits 1. Progress notes go to stderr as "testdb: ...".
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
shared=$top/../shared/clamav-testdb

# sha256 of every file: those of upstream tag clamav-1.4.3, as Debian ships them.
declare -A SHA256=(
	[test-1.cvd]=a39c001ff5a02af09afc204f5710b58290dc68bdc76b6343011188179bf4d7cd
	[test-2.cdiff]=dfae880d593d5a18c2a7c04a31c7fdd6a06e128866e7d1e10dd61fa6480b0927
	[test-2.cvd]=bf82fa9ef2c8c65aead0ff3d167a116515890149b7612fc23d352cd9bf8bd930
	[test-3.cdiff]=7428cddfb1e804df1cfef04d06736b6a1ce415a9ef9043746d9bc9a8237f2caa
	[test-3.cvd]=a8e7208ce38d8b8495b066e309ae9ddac03c4c32e9718b57a8261b112a98a0df
	[test-4.cdiff]=e472dd7aad558b46cbe31ffa93c02194d09c2abb7b72bb6d8b855ebe9d6d01a1
	[test-4.cvd]=2a819bc88d28250e81f2221580fca98edae0f882f79dbfd3377aeeecc044f22c
	[test-5.cdiff]=232b9ca2c46e91aa554fbb0c3659e20f1e0a9de20d199d974ebdbdb1a98807da
	[test-5.cvd]=e2c29148912adf0d408efdffd3e5cf145ca17f98d8ff94db3b78793f7421793c
	[test-6.cdiff]=e3df9dc60c89465253a01290c198fb20ea3b84012b2db69bfce6c99ae0a1f065
	[test-6.cvd]=3ac78063d9b428b27060b8bc9bad1fd63445a7c8e39ca91e21edda37eb15a99e
)

note() { echo "testdb: $*" >&2; }
skip() {
	echo "SKIP: signed ClamAV test databases unavailable: $*" >&2
	exit 1
}

# complete DIR: every file present, regular, with its recorded sha256. Says what is wrong.
complete() {
	local d=$1 f sum
	[[ -d $d ]] || { why="$d: no such directory"; return 1; }
	for f in "${!SHA256[@]}"; do
		if [[ ! -f $d/$f || -L $d/$f ]]; then why="$d/$f: missing"; return 1; fi
		sum=$(sha256sum <"$d/$f") && sum=${sum%% *}
		[[ $sum == "${SHA256[$f]}" ]] || { why="$d/$f: sha256 $sum is not the recorded one"; return 1; }
	done
}

# header_ok FILE N: the 512-byte text header is ClamAV-VDB, version N, and its MD5 field is
# the MD5 of the body (what sigtool --info checks, without the RSA signature).
header_ok() {
	local f=$1 n=$2 magic ver sigs flevel md5 rest body
	[[ -f $f ]] || { why="$f: missing"; return 1; }
	[[ $(stat -c %s "$f") -gt 512 ]] || { why="$f: shorter than a header"; return 1; }
	IFS=: read -r magic _ ver sigs flevel md5 rest < <(head -c 512 "$f" | tr -d '\0')
	body=$(tail -c +513 "$f" | md5sum) && body=${body%% *}
	if [[ $magic != ClamAV-VDB || $ver != "$n" || ! $sigs =~ ^[0-9]+$ || ! $flevel =~ ^[0-9]+$ || $md5 != "$body" ]]; then
		why="$f: bad ClamAV-VDB header (version '$ver', md5 '$md5', body md5 $body)"
		return 1
	fi
}

# verify_fetched DIR: headers, recorded sha256s, and byte-identical to ../shared if present.
verify_fetched() {
	local d=$1 n f
	for n in 1 2 3 4 5 6; do header_ok "$d/test-$n.cvd" "$n" || return 1; done
	complete "$d" || return 1
	for f in "${!SHA256[@]}"; do
		if [[ -f $shared/$f ]] && ! cmp -s "$shared/$f" "$d/$f"; then
			why="$d/$f differs from $shared/$f"
			return 1
		fi
	done
}

why=""
if [[ -n ${CLAMAV_TESTDB:-} ]]; then
	if complete "$CLAMAV_TESTDB"; then
		(cd "$CLAMAV_TESTDB" && pwd)
		exit 0
	fi
	note "\$CLAMAV_TESTDB not usable ($why)"
fi
if [[ -d $shared ]]; then
	if complete "$shared"; then
		(cd "$shared" && pwd)
		exit 0
	fi
	note "../shared/clamav-testdb not usable ($why)"
fi

if [[ $EUID -eq 0 ]]; then
	cache=${CLAMAV_TESTDB_CACHE:-/var/cache/clamav-freshen-test/testdb}
else
	cache=${CLAMAV_TESTDB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clamav-freshen-test/testdb}
fi
if complete "$cache"; then
	echo "$cache"
	exit 0
fi
[[ -d $cache ]] && note "cache not usable ($why): fetching again"
[[ ${CLAMAV_TESTDB_FETCH:-yes} != no ]] || skip "not in \$CLAMAV_TESTDB, ../shared or $cache, and CLAMAV_TESTDB_FETCH=no"
command -v apt-get >/dev/null || skip "no apt-get to fetch Debian's clamav source package"

parent=$(dirname "$cache")
mkdir -p "$parent" || skip "cannot create $parent"
# One fetch at a time; a second caller waits and then finds the cache filled.
exec 9>"$parent/.lock"
flock -w 900 9 || skip "timed out waiting for another fetch ($parent/.lock)"
if complete "$cache"; then
	echo "$cache"
	exit 0
fi

tmp=$(mktemp -d "$parent/fetch.XXXXXX") || skip "cannot create a temp dir in $parent"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

# deb-src entries for every deb/deb-src entry of the host (URIs, suites, components and
# signing key as the host has them), in deb822 form. Comments and disabled entries skipped.
apt_dir=$tmp/apt
mkdir -p "$apt_dir/parts.d" "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial"
src=$apt_dir/sources.sources
one_line() {  # FILE: "deb [opts] URI SUITE COMP..." lines
	local line opts uri suite comps kb
	while read -r line; do
		line=${line%%#*}
		[[ $line =~ ^(deb|deb-src)[[:space:]]+(\[([^]]*)\][[:space:]]+)?(.*)$ ]] || continue
		opts=${BASH_REMATCH[3]}
		read -r uri suite comps <<<"${BASH_REMATCH[4]}"
		[[ -n $uri && -n $suite ]] || continue
		kb=""
		[[ $opts =~ (^|[[:space:]])signed-by=([^[:space:]]+) ]] && kb=${BASH_REMATCH[2]}
		printf 'Types: deb-src\nURIs: %s\nSuites: %s\n' "$uri" "$suite"
		[[ -n $comps ]] && printf 'Components: %s\n' "$comps"
		[[ -n $kb ]] && printf 'Signed-By: %s\n' "$kb"
		echo
	done <"$1"
}
deb822() {  # FILE: stanzas; Signed-By may be a path or an inline key (continuation lines)
	awk '
	function flush() {
		if (types ~ /(^|[ \t])deb(-src)?([ \t]|$)/ && enabled !~ /^[ \t]*(no|false)/ && uris != "")
			printf "Types: deb-src\n%s%s%s%s\n", uris, suites, comps, signed
		types = uris = suites = comps = signed = enabled = ""; field = ""
	}
	/^#/ { next }
	/^[ \t]*$/ { flush(); next }
	/^[ \t]/ { if (field == "signed-by") signed = signed $0 "\n"; next }
	{
		field = tolower(substr($0, 1, index($0, ":") - 1))
		if (field == "types") types = substr($0, index($0, ":") + 1)
		else if (field == "enabled") enabled = substr($0, index($0, ":") + 1)
		else if (field == "uris") uris = $0 "\n"
		else if (field == "suites") suites = $0 "\n"
		else if (field == "components") comps = $0 "\n"
		else if (field == "signed-by") signed = $0 "\n"
	}
	END { flush() }' "$1"
}
{
	[[ -f /etc/apt/sources.list ]] && one_line /etc/apt/sources.list
	for f in /etc/apt/sources.list.d/*.list; do [[ -f $f ]] && one_line "$f"; done
	for f in /etc/apt/sources.list.d/*.sources; do [[ -f $f ]] && deb822 "$f"; done
} >"$src"
grep -q '^URIs:' "$src" || skip "no apt sources on this host to make deb-src entries from"

apt_opts=(-o "Dir::Etc::sourcelist=$src" -o "Dir::Etc::sourceparts=$apt_dir/parts.d"
	-o "Dir::State=$apt_dir/state" -o "Dir::Cache=$apt_dir/cache"
	-o Acquire::Languages=none -o APT::Get::List-Cleanup=false -q)
note "fetching Debian's clamav source package (deb-src made from the host's apt sources)"
apt-get "${apt_opts[@]}" update >"$tmp/update.log" 2>&1
versions=$(apt-cache "${apt_opts[@]}" showsrc clamav 2>/dev/null | sed -n 's/^Version: //p' | sort -Vr -u)
if [[ -z $versions ]]; then
	skip "no clamav source package reachable through the host's apt sources as deb-src ($(grep -E '^(E|W|Err):' "$tmp/update.log" | head -n 1))"
fi

dl=$tmp/dl out=$tmp/testdb
got=""
for v in $versions; do
	rm -rf "$dl" "$out"
	mkdir -p "$dl" "$out"
	# apt drops to _apt for downloads and needs to write here.
	if [[ $EUID -eq 0 ]] && getent passwd _apt >/dev/null; then chown _apt "$dl"; fi
	if ! (cd "$dl" && apt-get "${apt_opts[@]}" source --download-only "clamav=$v") >"$tmp/source.log" 2>&1; then
		note "clamav $v: download failed ($(grep -E '^E:' "$tmp/source.log" | head -n 1))"
		continue
	fi
	for t in "$dl"/clamav_*.orig*.tar.*; do
		[[ -f $t ]] || continue
		tar -xaf "$t" -C "$out" --no-same-owner --no-same-permissions --wildcards \
			--strip-components=4 '*/unit_tests/input/freshclam_testfiles/*' 2>/dev/null && break
	done
	if verify_fetched "$out"; then
		got=$v
		break
	fi
	note "clamav $v: refused: $why"
done
[[ -n $got ]] || skip "no clamav source package gave the expected files (${why:-download failed})"

printf 'ClamAV signed test databases from Debian source package clamav %s\n(unit_tests/input/freshclam_testfiles/ of the orig tarball), fetched by tests/testdb.sh.\n' \
	"$got" >"$out/SOURCE"
chmod 755 "$out"
chmod 644 "$out"/*
rm -rf "$cache"
mv "$out" "$cache" || skip "cannot move the files into $cache"
note "clamav $got: $(find "$cache" -name 'test-*' | wc -l) files verified into $cache"
echo "$cache"
