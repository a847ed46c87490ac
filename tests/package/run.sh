#!/bin/bash
# Package test for clamav-freshen: builds the .deb with cargo-deb and checks it WITHOUT
# installing it: lintian, every path/owner/mode, control fields, conffiles, maintainer
# scripts, man pages, the sudoers drop-in (visudo, and the sudo grammar for real in a private
# mount namespace), and the Nagios objects with nagios4 -v against a copy of the stock
# Debian nagios4 configuration, including the maintainer-script logic that disables our
# objects when they would make Nagios invalid.
#
# Run as root on Debian 12/13: bash tests/package/run.sh
# Installs what it needs with apt (lintian, nagios4-core, sudo, shellcheck, dpkg-dev,
# groff-base, icinga2-bin) and cargo-deb
# with cargo if missing. CLAMAV_FRESHEN_DEB=path/to.deb tests that .deb instead of building.
# Leaves nothing behind on the host: temp dir only, namespaces for the sudo checks.
# Prints one "ok - ..." / "not ok - ..." line per check and "N passed, N failed, N skipped".

set -u
cd "$(dirname "$0")/../.." || exit 2

pass=0 fail=0 skipped=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
nok() { echo "not ok - $*"; fail=$((fail + 1)); }
skip() { echo "ok - # SKIP $*"; skipped=$((skipped + 1)); }
finish() {
	echo "$pass passed, $fail failed, $skipped skipped"
	[ "$fail" -eq 0 ]
	exit
}
# check DESCRIPTION COMMAND...: ok when the command succeeds; its output is shown on failure.
check() {
	local desc=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then
		ok "$desc"
	else
		nok "$desc"
		sed 's/^/#   /' "$T/check.out" | head -n 30
	fi
}
# refute DESCRIPTION COMMAND...: ok when the command fails.
refute() {
	local desc=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then
		nok "$desc"
		sed 's/^/#   /' "$T/check.out" | head -n 30
	else
		ok "$desc"
	fi
}

if [ "$(id -u)" -ne 0 ]; then
	nok "must run as root (visudo, namespaces, nagios4 -v as root)"
	finish
fi

T=$(mktemp -d)
# nagios4 -v drops to user nagios and must reach the copied configuration.
chmod 755 "$T"
POLICY_RC_MADE=""
cleanup() {
	rm -rf "$T"
	if [ -n "$POLICY_RC_MADE" ]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT

# --- tools --------------------------------------------------------------------------------
need_pkgs=()
command -v lintian >/dev/null || need_pkgs+=(lintian)
command -v nagios4 >/dev/null || need_pkgs+=(nagios4-core)
command -v visudo >/dev/null || need_pkgs+=(sudo)
command -v shellcheck >/dev/null || need_pkgs+=(shellcheck)
command -v unshare >/dev/null || need_pkgs+=(util-linux)
command -v dpkg-parsechangelog >/dev/null || need_pkgs+=(dpkg-dev)
command -v groff >/dev/null || need_pkgs+=(groff-base)
command -v icinga2 >/dev/null || need_pkgs+=(icinga2-bin icinga2-common)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	# Installing nagios4 must not start it on the host.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		POLICY_RC_MADE=yes
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${need_pkgs[@]}" >"$T/apt.log" 2>&1; then
		apt-get update >>"$T/apt.log" 2>&1
		apt-get install -y --no-install-recommends "${need_pkgs[@]}" >>"$T/apt.log" 2>&1
	fi
	check "apt installed ${need_pkgs[*]}" sh -c "command -v lintian && command -v nagios4 && command -v visudo"
	if [ -n "$POLICY_RC_MADE" ]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_MADE=""; fi
fi

# --- build ----------------------------------------------------------------------------------
DEB=${CLAMAV_FRESHEN_DEB:-}
if [ -z "$DEB" ]; then
	if ! cargo deb --version >/dev/null 2>&1; then
		cargo install --locked cargo-deb >"$T/cargo-install.log" 2>&1
	fi
	mkdir -p "$T/out"
	if cargo deb --output "$T/out/" >"$T/cargo-deb.log" 2>&1; then
		DEB=$(ls "$T"/out/clamav-freshen_*.deb 2>/dev/null | head -n 1)
	fi
	if [ -n "$DEB" ]; then
		ok "cargo deb built $(basename "$DEB")"
	else
		nok "cargo deb failed"
		tail -n 30 "$T/cargo-deb.log" | sed 's/^/#   /'
		finish
	fi
fi

R=$T/root
C=$T/control
dpkg-deb -x "$DEB" "$R"
dpkg-deb -e "$DEB" "$C"

# --- lintian --------------------------------------------------------------------------------
# Every tag lintian has, pedantic and experimental included: each one either fixed or
# overridden with its reason in debian/lintian-overrides, so any tag at all is new.
lintian_clean() {  # lintian_clean DEB LABEL: no tag at all, or each one shown
	local out rc tags
	out=$T/lintian.$(basename "$1").out
	lintian --fail-on error,warning,info,pedantic,experimental --pedantic --info --display-experimental \
		--no-tag-display-limit "$1" >"$out" 2>&1
	rc=$?
	tags=$(grep -c -E '^[EWIPX]: ' "$out")
	if [ "$rc" -eq 0 ] && [ "$tags" -eq 0 ]; then
		ok "$2lintian --pedantic --info --display-experimental: no tag (0 errors, 0 warnings)"
	else
		nok "$2lintian: $tags tag(s) (exit $rc)"
		sed 's/^/#   /' "$out"
	fi
}
lintian_clean "$DEB" ""

# --- contents: every file with its mode and owner, and nothing else ----------------------
cat >"$T/expected" <<'EOF'
-r--r----- 0/0 etc/sudoers.d/clamav-freshen
-rw-r--r-- 0/0 etc/clamav-freshen/clamav-freshen.toml
-rw-r--r-- 0/0 etc/nagios-plugins/config/clamav-freshen.cfg
-rw-r--r-- 0/0 etc/nagios/nrpe.d/clamav-freshen.cfg
-rw-r--r-- 0/0 etc/nagios4/conf.d/clamav-freshen.cfg
-rw-r--r-- 0/0 etc/cron.d/clamav-freshen
-rw-r--r-- 0/0 usr/share/clamav-freshen/icinga2/clamav-freshen.conf
-rw-r--r-- 0/0 usr/share/clamav-freshen/icinga2/clamav-freshen-service.conf
-rw-r--r-- 0/0 usr/share/clamav-freshen/maint-lib.sh
-rw-r--r-- 0/0 usr/lib/systemd/system/clamav-freshen-heal.service
-rw-r--r-- 0/0 usr/lib/systemd/system/clamav-freshen-heal.timer
-rw-r--r-- 0/0 usr/lib/systemd/system/clamav-freshclam.service.d/clamav-freshen.conf
-rw-r--r-- 0/0 usr/share/doc/clamav-freshen/README.md
-rw-r--r-- 0/0 usr/share/doc/clamav-freshen/changelog.Debian.gz
-rw-r--r-- 0/0 usr/share/doc/clamav-freshen/copyright
-rw-r--r-- 0/0 usr/share/doc/clamav-freshen/examples/icinga2/clamav-freshen.conf
-rw-r--r-- 0/0 usr/share/lintian/overrides/clamav-freshen
-rw-r--r-- 0/0 usr/share/man/man1/check_clamav_freshness.1.gz
-rw-r--r-- 0/0 usr/share/man/man8/clamav-freshen.8.gz
-rwxr-xr-x 0/0 usr/lib/nagios/plugins/check_clamav_freshness
-rwxr-xr-x 0/0 usr/sbin/clamav-freshen
EOF
sort -o "$T/expected" "$T/expected"
dpkg-deb --fsys-tarfile "$DEB" | tar -tv --numeric-owner >"$T/listing"
awk '$1 !~ /^d/ { p = $6; sub(/^\.\//, "", p); print $1, $2, p }' "$T/listing" | sort >"$T/actual"
check "package files, modes and owners are exactly the expected ones" diff -u "$T/expected" "$T/actual"
check "every directory is root-owned 0755" \
	sh -c "awk '\$1 ~ /^d/ && (\$1 != \"drwxr-xr-x\" || \$2 != \"0/0\")' '$T/listing' | grep . && exit 1 || exit 0"
check "sudoers drop-in name has no '.' (sudo skips such files in sudoers.d)" \
	sh -c "ls '$R/etc/sudoers.d' | grep -v '\\.' | grep -qx clamav-freshen"
check "binaries are ELF executables" \
	sh -c "head -c4 '$R/usr/sbin/clamav-freshen' | grep -q ELF && head -c4 '$R/usr/lib/nagios/plugins/check_clamav_freshness' | grep -q ELF"
# The test re-rooting exists only in builds with the test-root feature (never cargo deb's).
check "the shipped handler carries no test hook (no CLAMAV_FRESHEN_TEST_ROOT in /usr/sbin/clamav-freshen)" \
	sh -c "! grep -aq CLAMAV_FRESHEN_TEST_ROOT '$R/usr/sbin/clamav-freshen'"

# --- control ---------------------------------------------------------------------------------
field() { sed -n "s/^$1: //p" "$C/control"; }
check "Package: clamav-freshen" test "$(field Package)" = clamav-freshen
check "Section: admin" test "$(field Section)" = admin
check "Priority: optional" test "$(field Priority)" = optional
check "Depends has clamav-freshclam, sudo (>= 1.9.10) and libc6 (\$auto)" \
	sh -c "d='$(field Depends)'; echo \"\$d\" | grep -q 'clamav-freshclam' && echo \"\$d\" | grep -q 'sudo (>= 1.9.10)' && echo \"\$d\" | grep -q 'libc6'"
check "Recommends: nagios4 | icinga2 | nagios-nrpe-server" \
	test "$(field Recommends)" = "nagios4 | icinga2 | nagios-nrpe-server"
check "Maintainer has a name and an address" sh -c "echo '$(field Maintainer)' | grep -Eq '^[^<]+ <[^@ ]+@[^> ]+>$'"
check "Description has a synopsis and a long description of several paragraphs" \
	sh -c "test -n '$(field Description)' && test \$(sed -n '/^Description:/,\$p' '$C/control' | grep -c '^ \\.$') -ge 2"
printf '%s\n' /etc/clamav-freshen/clamav-freshen.toml /etc/cron.d/clamav-freshen \
	/etc/nagios-plugins/config/clamav-freshen.cfg \
	/etc/nagios/nrpe.d/clamav-freshen.cfg /etc/nagios4/conf.d/clamav-freshen.cfg \
	/etc/sudoers.d/clamav-freshen >"$T/conffiles.expected"
check "conffiles are exactly the six files under /etc" \
	diff -u "$T/conffiles.expected" <(sort "$C/conffiles")

# --- maintainer scripts ----------------------------------------------------------------------
for s in postinst prerm postrm; do
	check "$s: present, executable, POSIX sh, set -e" \
		sh -c "test -x '$C/$s' && head -n1 '$C/$s' | grep -qx '#!/bin/sh' && grep -qx 'set -e' '$C/$s' && dash -n '$C/$s'"
done
check "maint-lib.sh parses with dash" dash -n "$R/usr/share/clamav-freshen/maint-lib.sh"
if command -v shellcheck >/dev/null; then
	check "shellcheck: maintainer scripts and maint-lib.sh" \
		shellcheck -s sh -e SC1091 "$C/postinst" "$C/prerm" "$C/postrm" "$R/usr/share/clamav-freshen/maint-lib.sh"
else
	skip "shellcheck not installed"
fi
# Every Policy argument has a branch (grep the case labels), and the no-op ones really are
# no-ops (safe to run on this host); an unknown argument fails.
check "postinst handles configure abort-upgrade abort-remove abort-deconfigure triggered" \
	sh -c "for a in configure abort-upgrade abort-remove abort-deconfigure triggered; do grep -Eq \"^[[:space:]]*([a-z|-]*\\|)?\$a(\\|[a-z|-]*)?\\)\" '$C/postinst' || { echo missing \$a; exit 1; }; done"
check "prerm handles remove upgrade deconfigure failed-upgrade" \
	sh -c "for a in remove upgrade deconfigure failed-upgrade; do grep -Eq \"^[[:space:]]*([a-z|-]*\\|)?\$a(\\|[a-z|-]*)?\\)\" '$C/prerm' || { echo missing \$a; exit 1; }; done"
check "postrm handles remove purge upgrade failed-upgrade abort-install abort-upgrade disappear" \
	sh -c "for a in remove purge upgrade failed-upgrade abort-install abort-upgrade disappear; do grep -Eq \"^[[:space:]]*([a-z|-]*\\|)?\$a(\\|[a-z|-]*)?\\)\" '$C/postrm' || { echo missing \$a; exit 1; }; done"
check "no-op arguments exit 0 (postinst abort-upgrade/abort-deconfigure, prerm upgrade/deconfigure/failed-upgrade, postrm upgrade/failed-upgrade/abort-install/abort-upgrade)" \
	sh -c "'$C/postinst' abort-upgrade 0.1.0-1 && '$C/postinst' abort-deconfigure in-favour x 1 && '$C/prerm' upgrade 0.1.0-1 && '$C/prerm' deconfigure in-favour x 1 && '$C/prerm' failed-upgrade 0.1.0-1 && '$C/postrm' upgrade 0.1.0-1 && '$C/postrm' failed-upgrade 0.1.0-1 && '$C/postrm' abort-install && '$C/postrm' abort-upgrade 0.1.0-1"
refute "postinst rejects an unknown argument" "$C/postinst" bogus
# File triggers: nagios4 or icinga2 installed (or removed) after us runs postinst triggered,
# which validates and activates our objects (the system layer's icinga group does it for real).
check "triggers: noawait interest in /usr/sbin/nagios4 and /usr/sbin/icinga2, nothing else" \
	sh -c "test \"\$(grep -v '^#' '$C/triggers' | grep .)\" = 'interest-noawait /usr/sbin/nagios4
interest-noawait /usr/sbin/icinga2'"
# cf_icinga_gone: Icinga 2 removed, our copy in its ITL goes, then the empty directories
# nobody owns up to the top given; with icinga2 still there, or another file beside ours,
# nothing more.
G=$T/gone/usr/share/icinga2 GLIB=$R/usr/share/clamav-freshen/maint-lib.sh
mkdir -p "$G/include/plugins-contrib.d" && echo x >"$G/include/plugins-contrib.d/clamav-freshen.conf"
printf '#!/bin/sh\nexit 0\n' >"$T/fake-icinga2" && chmod 755 "$T/fake-icinga2"
dash -c ". '$GLIB'; set -e; cf_icinga_gone '$T/fake-icinga2' '$G/include/plugins-contrib.d/clamav-freshen.conf' '$G'" >"$T/gone.out" 2>&1
check "triggered logic, Icinga 2 still installed: its ITL copy of ours kept" \
	sh -c "test -e '$G/include/plugins-contrib.d/clamav-freshen.conf' && test ! -s '$T/gone.out'"
echo y >"$G/include/theirs.conf"
dash -c ". '$GLIB'; set -e; cf_icinga_gone '$T/no-icinga2' '$G/include/plugins-contrib.d/clamav-freshen.conf' '$G'" >"$T/gone.out" 2>&1
check "triggered logic, Icinga 2 removed: our copy and its empty directory gone, said so; a directory with another file kept" \
	sh -c "test ! -e '$G/include/plugins-contrib.d' && test -e '$G/include/theirs.conf' && grep -q 'Icinga 2 removed' '$T/gone.out'"
mkdir -p "$G/include/plugins-contrib.d" && echo x >"$G/include/plugins-contrib.d/clamav-freshen.conf" && rm "$G/include/theirs.conf"
dash -c ". '$GLIB'; set -e; cf_icinga_gone '$T/no-icinga2' '$G/include/plugins-contrib.d/clamav-freshen.conf' '$G'" >"$T/gone.out" 2>&1
check "triggered logic, Icinga 2 removed: the empty tree up to the top removed, nothing above it" \
	sh -c "test ! -e '$G' && test -d '$T/gone/usr/share'"
rm -rf "$T/gone" "$T/fake-icinga2" "$T/gone.out"
refute "prerm rejects an unknown argument" "$C/prerm" bogus
refute "postrm rejects an unknown argument" "$C/postrm" bogus
check "postrm purge removes state, runtime and every moved-aside file (no helper library needed)" \
	sh -c "grep -q '/var/lib/clamav-freshen' '$C/postrm' && grep -q '/run/clamav-freshen' '$C/postrm' && for f in /etc/nagios4/conf.d/clamav-freshen.cfg.disabled /etc/nagios-plugins/config/clamav-freshen.cfg.disabled /etc/nagios/nrpe.d/clamav-freshen.cfg.disabled /etc/clamav-freshen/sudoers.disabled; do grep -qF \"\$f\" '$C/postrm' || { echo missing \$f; exit 1; }; done; ! grep -q maint-lib '$C/postrm'"

# --- docs and man pages ------------------------------------------------------------------------
check "changelog.Debian.gz parses and matches the package version" \
	sh -c "zcat '$R/usr/share/doc/clamav-freshen/changelog.Debian.gz' > '$T/changelog' && test \"\$(dpkg-parsechangelog -l '$T/changelog' -S Version)\" = '$(field Version)'"
check "copyright is machine-readable (DEP-5) with the MIT license text" \
	sh -c "head -n1 '$R/usr/share/doc/clamav-freshen/copyright' | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' && grep -q '^License: MIT' '$R/usr/share/doc/clamav-freshen/copyright' && grep -q 'Permission is hereby granted' '$R/usr/share/doc/clamav-freshen/copyright'"
for m in man8/clamav-freshen.8 man1/check_clamav_freshness.1; do
	name=$(basename "$m" | sed 's/\.[0-9]$//')
	sec=${m##*.}
	check "man page $m.gz: gzip, .TH $name $sec, renders without groff warnings" \
		sh -c "gzip -t '$R/usr/share/man/$m.gz' && zcat '$R/usr/share/man/$m.gz' | grep -q '^\\.TH $name $sec' && zcat '$R/usr/share/man/$m.gz' | LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z 2>&1 | (! grep .)"
done
man_has_commands() {
	local c
	for c in handle heal repair status; do
		zcat "$R/usr/share/man/man8/clamav-freshen.8.gz" | grep -q "^\\\\fB$c" || { echo "missing $c"; return 1; }
	done
}
check "handler man page documents handle, heal, repair, status" man_has_commands

# --- sudoers drop-in ---------------------------------------------------------------------------
SUDOERS=$R/etc/sudoers.d/clamav-freshen
check "visudo -cf accepts the drop-in" visudo -c -f "$SUDOERS"
check "drop-in changes no global default (only Defaults!/usr/sbin/clamav-freshen)" \
	sh -c "! grep -E '^[[:space:]]*Defaults' '$SUDOERS' | grep -v '^Defaults!/usr/sbin/clamav-freshen '"
check "drop-in grants only user nagios" \
	sh -c "grep -Ev '^[[:space:]]*(#|Defaults|$)' '$SUDOERS' | awk '{print \$1}' | sort -u | grep -qx nagios"

# The grammar, for real: a private mount namespace where /etc/sudoers.d holds only our file
# and /usr/sbin/clamav-freshen is a stub recording how it was called (overlay: nothing of
# the host's /usr/sbin is changed). `sudo -l -U nagios CMD` says whether CMD is allowed;
# runuser + sudo -n runs it the way Nagios does.
if ! getent passwd nagios >/dev/null; then
	nok "user nagios exists (nagios4-common creates it)"
else
	mkdir -p "$T/sd" "$T/up" "$T/work"
	install -m 0440 "$SUDOERS" "$T/sd/clamav-freshen"
	cat >"$T/grammar.sh" <<'EOF'
set -u
T=$1
mount --make-rprivate /
mount --bind "$T/sd" /etc/sudoers.d
mount -t overlay overlay -o "lowerdir=/usr/sbin,upperdir=$T/up,workdir=$T/work" /usr/sbin
printf '#!/bin/sh\necho "uid=$(id -u) argc=$# args=$*" > %s/ran\n' "$T" >/usr/sbin/clamav-freshen
chmod 755 /usr/sbin/clamav-freshen
allowed() { sudo -n -l -U nagios /usr/sbin/clamav-freshen "$@" >/dev/null 2>&1; }
verdict() { if allowed "$@"; then echo "allowed"; else echo "refused"; fi; }
echo "full=$(visudo -c -q >/dev/null 2>&1 && echo valid || echo invalid)"
while IFS='|' read -r want a b c d e; do
	set --
	for x in "$a" "$b" "$c" "$d" "$e"; do [ -n "$x" ] && set -- "$@" "$x"; done
	echo "$want|$(verdict "$@")|$*"
done <<'CASES'
allowed|handle|CRITICAL|HARD|3
allowed|handle|OK|SOFT|1
allowed|handle|WARNING|SOFT|999
allowed|handle|UNKNOWN|HARD|42
allowed|heal
refused|handle|CRITICAL|HARD|3|x
refused|handle|critical|HARD|3
refused|handle|CRITICAL|hard|3
refused|handle|CRITICAL|HARD|0
refused|handle|CRITICAL|HARD|1000
refused|handle|CRITICAL|HARD|03
refused|handle|CRITICAL|HARD
refused|handle|PENDING|HARD|3
refused|heal|x
refused|heal|--verbose
refused|repair
refused|repair|--wait
refused|status
refused|worker
refused|--help
refused
CASES
# Another program, and the newline trick.
if sudo -n -l -U nagios /usr/bin/id >/dev/null 2>&1; then echo "refused|allowed|/usr/bin/id"; else echo "refused|refused|/usr/bin/id"; fi
nl='
'
if allowed handle CRITICAL HARD "3${nl}"; then echo "refused|allowed|handle CRITICAL HARD 3<newline>"; else echo "refused|refused|handle CRITICAL HARD 3<newline>"; fi
# sudo matches the arguments joined by spaces: one argument "CRITICAL HARD 3" is
# indistinguishable here; the handler refuses it (checked below on the real binary).
if allowed handle "CRITICAL HARD 3"; then echo "joined|allowed"; else echo "joined|refused"; fi
# Run for real as nagios, as Nagios does: runs as root with exactly our arguments...
rm -f "$T/ran"
runuser -u nagios -- sudo -n /usr/sbin/clamav-freshen handle CRITICAL HARD 3 >/dev/null 2>&1
echo "run-allowed|$(cat "$T/ran" 2>/dev/null)"
# ...and a refused command never runs, and sudo does not wait for a password.
rm -f "$T/ran"
timeout 10 runuser -u nagios -- sudo -n /usr/sbin/clamav-freshen status >/dev/null 2>&1
echo "run-refused|rc=$?|$(test -e "$T/ran" && echo ran || echo not-run)"
EOF
	if unshare -m bash "$T/grammar.sh" "$T" >"$T/grammar.out" 2>&1; then
		check "sudo accepts the whole configuration with the drop-in (visudo -c)" grep -qx 'full=valid' "$T/grammar.out"
		while IFS='|' read -r want got args; do
			case $want in
			allowed | refused)
				if [ "$want" = "$got" ]; then ok "sudo $want for nagios: clamav-freshen $args"; else nok "sudo should have $want, but $got: clamav-freshen $args"; fi
				;;
			joined)
				# Documented sudo behaviour; if sudo ever refuses it, even better.
				ok "sudo sees handle 'CRITICAL HARD 3' (one argument) as $got (args joined by spaces; the handler refuses it)"
				;;
			run-allowed)
				check "nagios ran 'sudo -n clamav-freshen handle CRITICAL HARD 3' as root with 4 args" \
					test "$got|$args" = "uid=0 argc=4 args=handle CRITICAL HARD 3|"
				;;
			run-refused)
				check "nagios 'sudo -n clamav-freshen status' refused at once, not run" \
					sh -c "echo '$got|$args' | grep -Eq '^rc=1\\|not-run$'"
				;;
			esac
		done <"$T/grammar.out"
	else
		nok "sudo grammar checks need unshare -m and overlayfs"
		sed 's/^/#   /' "$T/grammar.out" | head -n 20
	fi
	check "host's /usr/sbin/clamav-freshen untouched by the namespace test" \
		sh -c "test ! -e /usr/sbin/clamav-freshen || dpkg -S /usr/sbin/clamav-freshen"
fi

# The handler itself must refuse what sudo cannot tell apart. Only with the real handler:
# the stub of an unmerged branch prints no version.
HANDLER=$R/usr/sbin/clamav-freshen
if "$HANDLER" --version 2>/dev/null | grep -q clamav-freshen; then
	mkdir -p "$T/handler-root"
	CLAMAV_FRESHEN_TEST_ROOT=$T/handler-root "$HANDLER" handle "CRITICAL HARD 3" >/dev/null 2>&1
	rc=$?
	check "handler refuses handle 'CRITICAL HARD 3' (one argument) with exit 2" test "$rc" -eq 2
else
	skip "handler is a stub (no --version): one-argument refusal tested once merged"
fi

# --- Nagios objects against a stock Debian nagios4 configuration ----------------------------
# A copy of /etc/nagios4 and /etc/nagios-plugins/config with the main file's paths rewritten;
# the objects come from the .deb. The copy is taken once, without our objects (live or
# disabled) when this package is installed on the host: the same stock configuration either way.
N=$T/nagios
STOCK=$T/nagios-stock
stock_nagios() {
	mkdir -p "$STOCK/etc/nagios-plugins"
	cp -a /etc/nagios4 "$STOCK/etc/"
	cp -a /etc/nagios-plugins/config "$STOCK/etc/nagios-plugins/"
	rm -f "$STOCK"/etc/nagios4/conf.d/clamav-freshen.cfg* "$STOCK"/etc/nagios-plugins/config/clamav-freshen.cfg*
}
new_nagios() {
	rm -rf "$N"
	mkdir -p "$N"
	cp -a "$STOCK/etc" "$N/"
	sed -i "s#/etc/nagios4#$N/etc/nagios4#g; s#/etc/nagios-plugins#$N/etc/nagios-plugins#g" "$N/etc/nagios4/nagios.cfg"
	NCFG=$N/etc/nagios4/nagios.cfg
	SVC=$N/etc/nagios4/conf.d/clamav-freshen.cfg
	CMDS=$N/etc/nagios-plugins/config/clamav-freshen.cfg
}
add_ours() {
	cp "$R/etc/nagios4/conf.d/clamav-freshen.cfg" "$SVC"
	cp "$R/etc/nagios-plugins/config/clamav-freshen.cfg" "$CMDS"
}
services_checked() { nagios4 -v "$NCFG" 2>&1 | sed -n 's/^[[:space:]]*Checked \([0-9]*\) services\./\1/p'; }

if [ ! -r /etc/nagios4/nagios.cfg ]; then
	nok "stock /etc/nagios4/nagios.cfg present (nagios4-core installed)"
else
	stock_nagios
	new_nagios
	check "stock nagios4 configuration copy is valid" nagios4 -v "$NCFG"
	before=$(services_checked)
	add_ours
	check "nagios4 -v accepts the stock configuration plus our objects" nagios4 -v "$NCFG"
	after=$(services_checked)
	check "our service is read (services: $before -> $after)" test "$after" -eq $((before + 1))
	check "nagios4 -v lists no warning with our objects" sh -c "nagios4 -v '$NCFG' | grep -q '^Total Warnings: 0'"
	printf 'this is not a nagios object\n' >"$SVC.disabled"
	check "nagios4 cfg_dir ignores *.cfg.disabled (what we disable to)" nagios4 -v "$NCFG"
	rm -f "$SVC.disabled"
	check "service uses generic-service, host localhost, our check and handler" \
		sh -c "grep -Eq '^[[:space:]]*use[[:space:]]+generic-service' '$SVC' && grep -Eq '^[[:space:]]*host_name[[:space:]]+localhost$' '$SVC' && grep -Eq '^[[:space:]]*service_description[[:space:]]+ClamAV signatures$' '$SVC' && grep -Eq '^[[:space:]]*check_command[[:space:]]+clamav-freshen-check$' '$SVC' && grep -Eq '^[[:space:]]*event_handler[[:space:]]+clamav-freshen-handler$' '$SVC'"
	check "handler command: sudo -n, exact path, the three macros" \
		grep -Eq '^[[:space:]]*command_line[[:space:]]+/usr/bin/sudo -n /usr/sbin/clamav-freshen handle \$SERVICESTATE\$ \$SERVICESTATETYPE\$ \$SERVICEATTEMPT\$$' "$CMDS"

	# The maintainer-script logic itself (maint-lib.sh from the .deb, run by dash as dpkg
	# would), with fake systemctl/invoke-rc.d that say "fake-nagios is running" and log
	# reloads, so nothing on the host is reloaded.
	mkdir -p "$T/bin"
	for tool in systemctl invoke-rc.d; do
		cat >"$T/bin/$tool" <<EOF
#!/bin/sh
case "\$*" in
*reload*) echo "$tool \$*" >> "$T/reloads" ;;
esac
case "\$*" in *fake-nagios*) exit 0 ;; esac
exit 3
EOF
		chmod 755 "$T/bin/$tool"
	done
	LIB=$R/usr/share/clamav-freshen/maint-lib.sh
	lib() { PATH="$T/bin:$PATH" dash -c ". '$LIB'; set -e; $1" >"$T/lib.out" 2>&1; }
	reloads() { if [ -e "$T/reloads" ]; then wc -l <"$T/reloads"; else echo 0; fi; }

	# 1. stock configuration: stays live, reloaded (running and valid).
	rm -f "$T/reloads"
	lib "cf_nagios_enable /usr/sbin/nagios4 '$NCFG' fake-nagios '$SVC' '$CMDS'"
	check "postinst logic, stock config: objects stay live, Nagios reloaded once" \
		sh -c "test -e '$SVC' && test -e '$CMDS' && test ! -e '$SVC.disabled' && test $(reloads) -eq 1"
	rm -f "$T/reloads"
	lib "cf_nagios_enable /usr/sbin/nagios4 '$NCFG' stopped-nagios '$SVC' '$CMDS'"
	check "postinst logic: a monitor that is not running is not reloaded" test "$(reloads)" -eq 0

	# 2. no host localhost (the admin's host has another name): our service is disabled, Nagios stays valid, message says why.
	new_nagios
	sed -i 's/\<localhost\>/filter1/g' "$N/etc/nagios4/objects/localhost.cfg"
	add_ours
	refute "config without localhost is invalid with our service (precondition)" nagios4 -v "$NCFG"
	rm -f "$T/reloads"
	lib "cf_nagios_enable /usr/sbin/nagios4 '$NCFG' fake-nagios '$SVC' '$CMDS'"
	lib_rc=$?
	check "postinst logic, no localhost: returns 0 (a warning, not a failure)" test "$lib_rc" -eq 0
	check "postinst logic, no localhost: service moved to .cfg.disabled, commands kept" \
		sh -c "test ! -e '$SVC' && test -e '$SVC.disabled' && test -e '$CMDS'"
	check "postinst logic, no localhost: Nagios valid afterwards" nagios4 -v "$NCFG"
	check "postinst logic, no localhost: message names the cause and how to enable" \
		sh -c "grep -q 'DISABLED' '$T/lib.out' && grep -q \"localhost\" '$T/lib.out' && grep -q 'dpkg-reconfigure clamav-freshen' '$T/lib.out'"
	check "postinst logic, no localhost: reloaded (valid again, running)" test "$(reloads)" -eq 1
	# Admin restores localhost; dpkg-reconfigure re-enables.
	cp "$STOCK/etc/nagios4/objects/localhost.cfg" "$N/etc/nagios4/objects/localhost.cfg"
	lib "cf_nagios_enable /usr/sbin/nagios4 '$NCFG' fake-nagios '$SVC' '$CMDS'"
	check "postinst logic, localhost back: service re-enabled, no .disabled left" \
		sh -c "test -e '$SVC' && test ! -e '$SVC.disabled' && nagios4 -v '$NCFG' >/dev/null"

	# 3. duplicate command name (an admin's own clamav-freshen-check): both files disabled.
	new_nagios
	add_ours
	printf 'define command {\n    command_name clamav-freshen-check\n    command_line /bin/true\n}\n' >"$N/etc/nagios4/conf.d/admin.cfg"
	refute "duplicate command makes the config invalid (precondition)" nagios4 -v "$NCFG"
	lib "cf_nagios_enable /usr/sbin/nagios4 '$NCFG' fake-nagios '$SVC' '$CMDS'"
	check "postinst logic, duplicate command: service and commands disabled, Nagios valid" \
		sh -c "test -e '$SVC.disabled' && test -e '$CMDS.disabled' && test ! -e '$SVC' && test ! -e '$CMDS' && nagios4 -v '$NCFG' >/dev/null"
	check "postinst logic, duplicate command: message quotes Nagios" grep -q "Duplicate definition found for command 'clamav-freshen-check'" "$T/lib.out"

	# 4. duplicate service (Nagios only warns, and would silently keep one): ours disabled.
	new_nagios
	add_ours
	printf 'define service {\n    use generic-service\n    host_name localhost\n    service_description ClamAV signatures\n    check_command check_ping!1,1%%!2,2%%\n}\n' >"$N/etc/nagios4/conf.d/admin.cfg"
	lib "cf_nagios_enable /usr/sbin/nagios4 '$NCFG' fake-nagios '$SVC' '$CMDS'"
	check "postinst logic, duplicate service: ours disabled, commands kept, Nagios valid without warning" \
		sh -c "test -e '$SVC.disabled' && test -e '$CMDS' && nagios4 -v '$NCFG' | grep -q '^Total Warnings: 0'"

	# 5. the admin's config is broken anyway: ours stay disabled, NO reload.
	new_nagios
	add_ours
	printf 'define service {\n    host_name nosuchhost\n}\n' >"$N/etc/nagios4/conf.d/broken.cfg"
	rm -f "$T/reloads"
	lib "cf_nagios_enable /usr/sbin/nagios4 '$NCFG' fake-nagios '$SVC' '$CMDS'"
	check "postinst logic, config invalid anyway: not reloaded, ours disabled, told so" \
		sh -c "test $(reloads) -eq 0 && test -e '$SVC.disabled' && grep -q 'invalid even without' '$T/lib.out' && grep -q 'NOT reloaded' '$T/lib.out'"

	# 6. prerm remove: the service goes to .disabled, reloaded; reinstall brings it back.
	new_nagios
	add_ours
	rm -f "$T/reloads"
	lib "cf_nagios_disable /usr/sbin/nagios4 '$NCFG' fake-nagios '$SVC'"
	check "prerm logic, remove: service disabled, commands kept, Nagios valid, reloaded" \
		sh -c "test ! -e '$SVC' && test -e '$SVC.disabled' && test -e '$CMDS' && nagios4 -v '$NCFG' >/dev/null && test $(reloads) -eq 1"
	lib "cf_nagios_enable /usr/sbin/nagios4 '$NCFG' fake-nagios '$SVC' '$CMDS'"
	check "postinst logic after remove (reinstall): service live again" sh -c "test -e '$SVC' && test ! -e '$SVC.disabled'"

	# 7. prerm remove when the admin's objects refer to our service: kept, Nagios stays valid.
	printf 'define servicegroup {\n    servicegroup_name av\n    alias av\n    members localhost,ClamAV signatures\n}\n' >"$N/etc/nagios4/conf.d/admin.cfg"
	check "servicegroup referring to our service is valid (precondition)" nagios4 -v "$NCFG"
	lib "cf_nagios_disable /usr/sbin/nagios4 '$NCFG' fake-nagios '$SVC'"
	check "prerm logic, service referenced by admin: kept live, Nagios valid, told so" \
		sh -c "test -e '$SVC' && test ! -e '$SVC.disabled' && nagios4 -v '$NCFG' >/dev/null && grep -q 'stays active' '$T/lib.out'"

	# 8. NRPE file: our syntax check, and disable on bad syntax.
	NRPE=$T/nrpe.cfg
	cp "$R/etc/nagios/nrpe.d/clamav-freshen.cfg" "$NRPE"
	check "NRPE file: only command[clamav-freshen-check] and command[clamav-freshen-heal]" \
		sh -c "grep -Ev '^[[:space:]]*(#|$)' '$NRPE' | sed 's/\\].*//' | tr '\n' ' ' | grep -qx 'command\\[clamav-freshen-check command\\[clamav-freshen-heal '"
	check "NRPE heal command is sudo -n with exactly 'heal'" \
		grep -qx 'command\[clamav-freshen-heal\]=/usr/bin/sudo -n /usr/sbin/clamav-freshen heal' "$NRPE"
	rm -f "$T/reloads"
	lib "cf_nrpe_enable '$NRPE' fake-nagios"
	check "postinst logic, NRPE file valid: kept, running daemon reloaded" sh -c "test -e '$NRPE' && test $(reloads) -eq 1"
	echo 'garbage line' >>"$NRPE"
	lib "cf_nrpe_enable '$NRPE' fake-nagios"
	check "postinst logic, NRPE file with a bad line: disabled" sh -c "test ! -e '$NRPE' && test -e '$NRPE.disabled'"

	# 9. sudoers: a drop-in sudo rejects is parked outside sudoers.d and postinst fails.
	mkdir -p "$T/sudo/sudoers.d" "$T/sudo/park"
	install -m 0440 "$SUDOERS" "$T/sudo/sudoers.d/clamav-freshen"
	lib "cf_sudoers_check '$T/sudo/sudoers.d/clamav-freshen' '$T/sudo/park/sudoers.disabled'"
	check "postinst logic, valid drop-in: accepted and left in place" \
		sh -c "test -e '$T/sudo/sudoers.d/clamav-freshen' && test ! -e '$T/sudo/park/sudoers.disabled'"
	# (visudo does not compile argument regexes: a syntax error it is.)
	echo 'nagios ALL=(root) NOPASSWD: /usr/sbin/clamav-freshen heal,' >"$T/sudo/sudoers.d/clamav-freshen"
	lib "cf_sudoers_check '$T/sudo/sudoers.d/clamav-freshen' '$T/sudo/park/sudoers.disabled'"
	lib_rc=$?
	check "postinst logic, rejected drop-in: fails loudly, parked, nothing left in sudoers.d" \
		sh -c "test $lib_rc -ne 0 && test ! -e '$T/sudo/sudoers.d/clamav-freshen' && test -e '$T/sudo/park/sudoers.disabled' && test -z \"\$(ls -A '$T/sudo/sudoers.d')\" && grep -q ERROR '$T/lib.out'"
	lib "cf_sudoers_check '$T/sudo/sudoers.d/clamav-freshen' '$T/sudo/park/sudoers.disabled'"
	lib_rc=$?
	check "postinst logic, parked drop-in still rejected: fails again (dpkg --configure -a stays loud)" \
		sh -c "test $lib_rc -ne 0 && test ! -e '$T/sudo/sudoers.d/clamav-freshen' && grep -q 'still rejected' '$T/lib.out'"
	install -m 0440 "$SUDOERS" "$T/sudo/park/sudoers.disabled"
	lib "cf_sudoers_check '$T/sudo/sudoers.d/clamav-freshen' '$T/sudo/park/sudoers.disabled'"
	check "postinst logic, parked drop-in valid again: restored with mode 0440" \
		sh -c "test \"\$(stat -c %a '$T/sudo/sudoers.d/clamav-freshen')\" = 440 && test ! -e '$T/sudo/park/sudoers.disabled'"

	# prerm remove: a running repair (a process named clamav-freshen holding the lock, its
	# pid in the file) is asked to stop and waited for; a holder of another name is never
	# signalled; no lock, or a free one, returns at once.
	L=$T/stop/repair.lock
	mkdir -p "$T/stop"
	cp /bin/sleep "$T/stop/clamav-freshen"
	lib "cf_stop_repair '$L' 5"
	check "prerm logic: no repair lock, nothing to stop" sh -c "test ! -s '$T/lib.out'"
	flock "$L" sh -c "echo \$\$ >'$L'; exec '$T/stop/clamav-freshen' 60" &
	holder=$!
	for _ in $(seq 50); do [ -s "$L" ] && break; sleep 0.1; done
	t_stop=$SECONDS
	lib "cf_stop_repair '$L' 20"
	check "prerm logic: the running repair is stopped (SIGTERM) and waited for" \
		sh -c "test $((SECONDS - t_stop)) -lt 15 && grep -q 'stopping the running repair' '$T/lib.out' && flock -n '$L' true"
	wait "$holder" 2>/dev/null || true
	flock "$L" sh -c "echo \$\$ >'$L'; exec sleep 60" &
	holder=$!
	for _ in $(seq 50); do [ -s "$L" ] && break; sleep 0.1; done
	lib "cf_stop_repair '$L' 1"
	check "prerm logic: a lock holder not named clamav-freshen is not signalled, and said so" \
		sh -c "kill -0 $holder && ! grep -q 'stopping' '$T/lib.out' && grep -q 'left to finish' '$T/lib.out'"
	kill "$(cat "$L")" "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true
	lib "cf_stop_repair '$L' 5"
	check "prerm logic: a free lock, nothing to stop" sh -c "test ! -s '$T/lib.out'"
fi

# --- Icinga 2: the ITL-style commands and the example service ---------------------------------
ICINGA=$R/usr/share/doc/clamav-freshen/examples/icinga2/clamav-freshen.conf
check "Icinga 2: the documented example is the service the package activates" \
	cmp -s "$ICINGA" "$R/usr/share/clamav-freshen/icinga2/clamav-freshen-service.conf"
ICMDS=$R/usr/share/clamav-freshen/icinga2/clamav-freshen.conf
check "Icinga 2 commands: the event command passes state, state type, attempt through sudo -n" \
	sh -c "grep -q '\"/usr/bin/sudo\", \"-n\", \"/usr/sbin/clamav-freshen\", \"handle\"' '$ICMDS' && grep -q '\"\$service.state\$\", \"\$service.state_type\$\", \"\$service.check_attempt\$\"' '$ICMDS'"
# Every option of the plugin (but -h, -V) is an argument of the CheckCommand, each from a
# clamav_freshen_* macro.
missing=""
for o in $("$R/usr/lib/nagios/plugins/check_clamav_freshness" --help | sed -n -E 's/^ {2,6}(-[a-zA-Z], )?(--[a-z-]+).*/\1\2/p' | tr -d ' '); do
	case $o in -h,--help | -V,--version) continue ;; esac
	long=${o#*,} short=${o%%,*}
	[ "$short" != "$o" ] || short=$long
	grep -qE "^[[:space:]]*\"($short|$long)\" = \{" "$ICMDS" || missing="$missing $o"
done
check "Icinga 2 CheckCommand: an argument for every plugin option (missing:${missing:- none})" test -z "$missing"
check "Icinga 2 CheckCommand: 18 options found in --help, each argument from a clamav_freshen_ macro" \
	sh -c "test \"\$(grep -cE '^[[:space:]]*(value|set_if) = \"\\\$clamav_freshen_[a-z_]+\\\$\"\$' '$ICMDS')\" -eq 18 && test \"\$(grep -cE '(value|set_if) = ' '$ICMDS')\" -eq 18"
if command -v icinga2 >/dev/null; then
	# A private Icinga 2 configuration (ITL + plugin commands + one host named NodeName +
	# the commands directory as postinst fills it + conf.d), so nothing of the host's
	# /etc/icinga2 is read or touched.
	I=$T/icinga2
	mkdir -p "$I/lib" "$I/log" "$I/cache" "$I/run" "$I/contrib" "$I/conf.d"
	cat >"$I/icinga2.conf" <<EOF
const PluginDir = "/usr/lib/nagios/plugins"
const NodeName = "filter1"
include <itl>
include <plugins>
object Host "filter1" {
  check_command = "hostalive"
  address = "127.0.0.1"
}
include_recursive "$I/contrib"
include_recursive "$I/conf.d"
EOF
	# icinga2 with the private directories, called as maint-lib.sh calls it (daemon -C -c CONF)
	mkdir -p "$T/bin"
	cat >"$T/bin/icinga2-private" <<EOF
#!/bin/sh
exec icinga2 "\$@" -DDataDir="$I/lib" -DLogDir="$I/log" -DCacheDir="$I/cache" -DInitRunDir="$I/run" -DRunAsUser=root -DRunAsGroup=root
EOF
	chmod 755 "$T/bin/icinga2-private"
	icinga2_check() {
		"$T/bin/icinga2-private" daemon -C -c "$I/icinga2.conf" >"$I/out" 2>&1
		local rc=$?
		cat "$I/out"
		return $rc
	}
	LIB=$R/usr/share/clamav-freshen/maint-lib.sh
	ilib() { PATH="$T/bin:$PATH" dash -c ". '$LIB'; set -e; $1" >"$T/ilib.out" 2>&1; }
	DEST=$I/contrib/clamav-freshen.conf
	ilib "cf_icinga_enable '$T/bin/icinga2-private' '$I/icinga2.conf' '$ICMDS' '$DEST'"
	check "postinst logic, Icinga 2: the commands copied into the ITL directory, said so" \
		sh -c "cmp -s '$ICMDS' '$DEST' && grep -q 'Icinga 2 commands active' '$T/ilib.out'"
	# The node's own service (conf.d): copied where conf.d is included, validated, never
	# overwritten, parked on remove and when invalid, left out on an agent.
	ISRC=$R/usr/share/clamav-freshen/icinga2/clamav-freshen-service.conf
	SDEST=$I/conf.d/clamav-freshen.conf
	ilib "cf_icinga_service_enable '$T/bin/icinga2-private' '$I/icinga2.conf' '$ISRC' '$SDEST'"
	check "postinst logic, Icinga 2 standalone (conf.d included): the service copied, said so" \
		sh -c "cmp -s '$ISRC' '$SDEST' && grep -q \"service 'ClamAV signatures' active\" '$T/ilib.out'"
	check "icinga2 daemon -C accepts the commands and the service" icinga2_check
	check "icinga2 instantiates our service and event command" \
		sh -c "grep -q 'Instantiated 1 Service\.' '$I/out' && grep -q 'Instantiated 1 EventCommand\.' '$I/out'"
	sed -i 's/check_interval = 15m/check_interval = 10m/' "$SDEST"
	ilib "cf_icinga_service_enable '$T/bin/icinga2-private' '$I/icinga2.conf' '$ISRC' '$SDEST'"
	check "postinst logic, Icinga 2: the admin's edit of the service is kept" grep -q 'check_interval = 10m' "$SDEST"
	cp "$ISRC" "$SDEST"
	# removed while the service uses the commands: both stay until prerm parks the service
	ilib "cf_icinga_disable '$T/bin/icinga2-private' '$I/icinga2.conf' '$DEST'"
	check "prerm logic, Icinga 2 objects use the commands: kept, told so, valid" \
		sh -c "test -e '$DEST' && grep -q 'kept' '$T/ilib.out' && '$T/bin/icinga2-private' daemon -C -c '$I/icinga2.conf' >/dev/null"
	ilib "cf_icinga_service_disable '$T/bin/icinga2-private' '$I/icinga2.conf' '$SDEST'"
	ilib "cf_icinga_disable '$T/bin/icinga2-private' '$I/icinga2.conf' '$DEST'"
	check "prerm logic, Icinga 2: service parked, commands removed, still valid" \
		sh -c "test ! -e '$SDEST' && test -e '$SDEST.disabled' && test -z \"\$(ls -A '$I/contrib')\" && '$T/bin/icinga2-private' daemon -C -c '$I/icinga2.conf' >/dev/null"
	# configure again without the commands (say, their name taken): the service cannot be
	# valid, so it stays parked, said so, and Icinga 2 stays valid
	ilib "cf_icinga_service_enable '$T/bin/icinga2-private' '$I/icinga2.conf' '$ISRC' '$SDEST'"
	check "postinst logic, Icinga 2 service invalid (no commands): parked, reason and remedy said, still valid" \
		sh -c "test ! -e '$SDEST' && test -e '$SDEST.disabled' && grep -q 'DISABLED' '$T/ilib.out' && grep -q 'dpkg-reconfigure clamav-freshen' '$T/ilib.out' && '$T/bin/icinga2-private' daemon -C -c '$I/icinga2.conf' >/dev/null"
	rm -f "$SDEST.disabled"
	# an agent (conf.d not included): no service, and the reason said
	grep -v 'conf.d"' "$I/icinga2.conf" >"$I/agent.conf"
	ilib "cf_icinga_service_enable '$T/bin/icinga2-private' '$I/agent.conf' '$ISRC' '$SDEST'"
	check "postinst logic, Icinga 2 agent (no conf.d): no service, told where it belongs" \
		sh -c "test ! -e '$SDEST' && test ! -e '$SDEST.disabled' && grep -q 'does not include conf.d' '$T/ilib.out'"
	# a command of the same name already defined: ours are not activated, Icinga 2 stays valid
	printf 'object CheckCommand "clamav_freshness" {\n  command = [ "/bin/true" ]\n}\n' >"$I/conf.d/mine.conf"
	ilib "cf_icinga_enable '$T/bin/icinga2-private' '$I/icinga2.conf' '$ICMDS' '$DEST'"
	check "postinst logic, Icinga 2 command name taken: not activated, reason and remedy said, still valid" \
		sh -c "test -z \"\$(ls -A '$I/contrib')\" && grep -q 'NOT activated' '$T/ilib.out' && grep -q 'dpkg-reconfigure clamav-freshen' '$T/ilib.out' && '$T/bin/icinga2-private' daemon -C -c '$I/icinga2.conf' >/dev/null"
	rm -f "$I/conf.d/mine.conf"
	ilib "cf_icinga_enable '$T/bin/icinga2-private' '$I/icinga2.conf' '$ICMDS' '$I/nonexistent/clamav-freshen.conf'"
	check "postinst logic, no ITL directory (icinga2 not installed): nothing done, nothing said" \
		sh -c "test ! -e '$I/nonexistent' && test ! -s '$T/ilib.out'"
	# commands and service in one configure: a running Icinga 2 is reloaded once, not per step
	rm -f "$T/reloads"
	ilib "cf_icinga_enable '$T/bin/icinga2-private' '$I/icinga2.conf' '$ICMDS' '$DEST'; cf_icinga_service_enable '$T/bin/icinga2-private' '$I/icinga2.conf' '$ISRC' '$SDEST'; cf_icinga_reload_if_asked fake-nagios"
	check "postinst logic, Icinga 2: commands and service live, one reload of a running Icinga 2" \
		sh -c "test -e '$DEST' && test -e '$SDEST' && test \"\$(wc -l <'$T/reloads')\" -eq 1"
	# The api feature: an ApiUser allowed only reschedule-check, valid, its password also in
	# root's 0600 file for the handler; made once; the admin's files are not touched; gone on
	# remove. Without the feature: nothing made, the reason said.
	IUSER=$I/conf.d/clamav-freshen-api-user.conf IAPI=$T/icinga2-api.toml
	ilib "cf_icinga_api_enable '$T/bin/icinga2-private' '$I/icinga2.conf' '$IUSER' '$IAPI'"
	check "postinst logic, Icinga 2 without the api feature: no ApiUser, told how" \
		sh -c "test ! -e '$IUSER' && test ! -e '$IAPI' && grep -q 'Icinga 2 API not enabled' '$T/ilib.out'"
	mkdir -p "$I/features-enabled" && : >"$I/features-enabled/api.conf"
	ilib "cf_icinga_api_enable '$T/bin/icinga2-private' '$I/icinga2.conf' '$IUSER' '$IAPI'"
	check "postinst logic, Icinga 2 api feature: ApiUser made and valid, said so" \
		sh -c "grep -q \"ApiUser 'clamav-freshen' made\" '$T/ilib.out' && '$T/bin/icinga2-private' daemon -C -c '$I/icinga2.conf' 2>&1 | grep -q 'Instantiated 1 ApiUser\.'"
	pw_user=$(sed -n 's/^  password = "\(.*\)"$/\1/p' "$IUSER" 2>/dev/null)
	pw_api=$(sed -n 's/^password = "\(.*\)"$/\1/p' "$IAPI" 2>/dev/null)
	check "postinst logic, Icinga 2 api: the handler's file is 0600 with the ApiUser's password (${#pw_api} characters)" \
		sh -c "test \"\$(stat -c %a '$IAPI')\" = 600 && test \"\$(stat -c %a '$IUSER')\" = 640 -o \"\$(stat -c %a '$IUSER')\" = 600 && test '$pw_user' = '$pw_api' && test ${#pw_api} -ge 24"
	check "postinst logic, Icinga 2 api: the ApiUser may only reschedule checks of our CheckCommand" \
		sh -c "test \"\$(grep -c 'permission = ' '$IUSER')\" -eq 1 && grep -q 'permission = \"actions/reschedule-check\"' '$IUSER' && grep -q 'service.check_command == \"clamav_freshness\"' '$IUSER'"
	ilib "cf_icinga_api_enable '$T/bin/icinga2-private' '$I/icinga2.conf' '$IUSER' '$IAPI'"
	check "postinst logic, Icinga 2 api: configured again, the same password, nothing said" \
		sh -c "grep -q 'password = \"$pw_api\"' '$IUSER' && test ! -s '$T/ilib.out'"
	ilib "cf_icinga_api_disable '$T/bin/icinga2-private' '$I/icinga2.conf' '$IUSER' '$IAPI'"
	check "prerm logic, Icinga 2 api: the package's ApiUser and file removed, still valid" \
		sh -c "test ! -e '$IUSER' && test ! -e '$IAPI' && '$T/bin/icinga2-private' daemon -C -c '$I/icinga2.conf' >/dev/null"
	printf 'object ApiUser "clamav-freshen" {\n  password = "mine"\n  permissions = [ "*" ]\n}\n' >"$IUSER"
	ilib "cf_icinga_api_enable '$T/bin/icinga2-private' '$I/icinga2.conf' '$IUSER' '$IAPI'; cf_icinga_api_disable '$T/bin/icinga2-private' '$I/icinga2.conf' '$IUSER' '$IAPI'"
	check "postinst/prerm logic, Icinga 2 api: an ApiUser of the admin's is neither replaced nor removed" \
		sh -c "grep -q 'password = \"mine\"' '$IUSER' && test ! -e '$IAPI'"
	rm -f "$IUSER" "$I/features-enabled/api.conf"
	rm -f "$T/reloads"
	ilib "cf_icinga_service_disable '$T/bin/icinga2-private' '$I/icinga2.conf' '$SDEST'; cf_icinga_disable '$T/bin/icinga2-private' '$I/icinga2.conf' '$DEST'; cf_icinga_reload_if_asked fake-nagios"
	check "prerm logic, Icinga 2: service parked, commands gone, one reload" \
		sh -c "test ! -e '$SDEST' && test ! -e '$DEST' && test \"\$(wc -l <'$T/reloads')\" -eq 1"
	rm -f "$T/reloads" "$SDEST.disabled"
else
	skip "icinga2 not installed: the commands and the example not validated with icinga2 daemon -C"
fi


# --- the monitoring host's package: clamav-freshen-monitor (issue 14) ----------------------
# `cargo deb --variant monitor`: commands and a service template for filters watched through
# NRPE, and the event handler that asks a filter's NRPE for clamav-freshen-heal.
MDEB=${CLAMAV_FRESHEN_MONITOR_DEB:-}
if [ -z "$MDEB" ]; then
	mkdir -p "$T/mout"
	if cargo deb --variant monitor --no-build --output "$T/mout/" >"$T/cargo-deb-monitor.log" 2>&1; then
		MDEB=$(ls "$T"/mout/clamav-freshen-monitor_*.deb 2>/dev/null | head -n 1)
	fi
fi
if [ -z "$MDEB" ]; then
	nok "cargo deb --variant monitor failed"
	tail -n 30 "$T/cargo-deb-monitor.log" | sed 's/^/#   /'
else
	ok "clamav-freshen-monitor package: $(basename "$MDEB")"
	MR=$T/mroot
	dpkg-deb -x "$MDEB" "$MR"
	lintian_clean "$MDEB" "clamav-freshen-monitor: "
	cat >"$T/mexpected" <<'EOF'
-rw-r--r-- 0/0 etc/nagios4/conf.d/clamav-freshen-monitor.cfg
-rw-r--r-- 0/0 usr/share/clamav-freshen-monitor/icinga2/clamav-freshen.conf
-rw-r--r-- 0/0 usr/share/clamav-freshen-monitor/maint-lib.sh
-rw-r--r-- 0/0 usr/share/doc/clamav-freshen-monitor/changelog.Debian.gz
-rw-r--r-- 0/0 usr/share/doc/clamav-freshen-monitor/examples/icinga2/mail-filters.conf
-rw-r--r-- 0/0 usr/share/doc/clamav-freshen-monitor/copyright
-rw-r--r-- 0/0 usr/share/lintian/overrides/clamav-freshen-monitor
-rwxr-xr-x 0/0 usr/lib/nagios/plugins/clamav-freshen-remote-heal
EOF
	dpkg-deb -c "$MDEB" | awk '$1 !~ /^d/ {sub("^\\./", "", $6); print $1, $2, $6}' | sort >"$T/mactual"
	check "clamav-freshen-monitor: exactly its files, modes and owners" diff <(sort "$T/mexpected") "$T/mactual"
	check "clamav-freshen-monitor: Depends nagios4 | icinga2, Recommends nagios-nrpe-plugin; conffile; no binary of ours" \
		sh -c "dpkg-deb -f '$MDEB' Depends | grep -qx 'nagios4 | icinga2' && dpkg-deb -f '$MDEB' Recommends | grep -qx 'nagios-nrpe-plugin' && dpkg-deb -I '$MDEB' conffiles | grep -qx /etc/nagios4/conf.d/clamav-freshen-monitor.cfg && ! dpkg-deb -c '$MDEB' | grep -q 'usr/sbin'"
	if [ -r /etc/nagios4/nagios.cfg ]; then
		new_nagios
		before=$(services_checked)
		cp "$MR/etc/nagios4/conf.d/clamav-freshen-monitor.cfg" "$N/etc/nagios4/conf.d/"
		check "nagios4 -v accepts the monitor's templates and commands alone (nothing checked)" \
			sh -c "nagios4 -v '$NCFG' >/dev/null && test \"\$(nagios4 -v '$NCFG' 2>&1 | sed -n 's/^[[:space:]]*Checked \\([0-9]*\\) services\\./\\1/p')\" -eq $before"
		cat >"$N/etc/nagios4/conf.d/filters.cfg" <<'EOF'
define host {
    use         generic-host
    host_name   mailfilter1
    address     192.0.2.2
    check_command check-host-alive
    max_check_attempts 3
    contact_groups admins
}
define service {
    use         clamav-freshen-remote
    host_name   mailfilter1
}
EOF
		check "nagios4 -v accepts a filter's service from the template, with no warning" \
			sh -c "nagios4 -v '$NCFG' | grep -q '^Total Warnings: 0'"
		after=$(services_checked)
		check "the filter's service is read (services: $before -> $after)" test "$after" -eq $((before + 1))
	else
		nok "stock /etc/nagios4/nagios.cfg present (for the monitor's objects)"
	fi
	check "clamav-freshen-monitor: the Icinga 2 commands are clamav-freshen's (one ITL copy, whichever package brings it)" \
		cmp -s "$MR/usr/share/clamav-freshen-monitor/icinga2/clamav-freshen.conf" "$ICMDS"
	if command -v icinga2 >/dev/null; then
		# A master's configuration: its own zone and a filter's agent as a child zone, the
		# commands, and the example service for the group mail-filter.
		rm -rf "$I/contrib" "$I/conf.d" && mkdir -p "$I/contrib" "$I/conf.d"
		cp "$ICMDS" "$I/contrib/clamav-freshen.conf"
		sed -e 's/^const NodeName = .*/const NodeName = "icinga-master"/' -e '/^object Host "filter1"/,/^}/d' "$I/icinga2.conf" >"$I/master.conf"
		cat >>"$I/master.conf" <<'EOF'
object Endpoint "icinga-master" { }
object Zone "master" { endpoints = [ "icinga-master" ] }
object Endpoint "mailfilter1" { host = "192.0.2.2" }
object Zone "mailfilter1" { endpoints = [ "mailfilter1" ]; parent = "master" }
EOF
		# the example in the master's zone, as the admin puts it (zones.d/master)
		echo "include_zones \"clamav-freshen\", \"$I/zones.d\"" >>"$I/master.conf"
		mkdir -p "$I/zones.d/master"
		cat >"$I/zones.d/master/hosts.conf" <<'EOF'
object Host "mailfilter1" {
  check_command = "hostalive"
  address = "192.0.2.2"
  groups = [ "mail-filter" ]
}
EOF
		cp "$MR/usr/share/doc/clamav-freshen-monitor/examples/icinga2/mail-filters.conf" "$I/zones.d/master/"
		check "icinga2 daemon -C accepts the monitor's example service for agents on a master" \
			sh -c "'$T/bin/icinga2-private' daemon -C -c '$I/master.conf' >'$I/out' 2>&1 && grep -q 'Instantiated 1 Service\.' '$I/out' && grep -q 'Instantiated 1 HostGroup\.' '$I/out' || { tail -n 20 '$I/out'; false; }"
		# the master's ApiUser for its filters' re-checks: made with the api feature, valid,
		# the file for the filters pointing at the master; not the filter package's to remove
		mkdir -p "$I/features-enabled" && : >"$I/features-enabled/api.conf"
		MUSER=$I/conf.d/clamav-freshen-api-user.conf MAPI=$T/monitor-etc/icinga2-api.toml
		ilib "CF_PKG=clamav-freshen-monitor; cf_icinga_api_enable '$T/bin/icinga2-private' '$I/master.conf' '$MUSER' '$MAPI' master"
		check "monitor postinst logic, Icinga 2 master: ApiUser made and valid, told to copy the file to the filters" \
			sh -c "grep -q \"ApiUser 'clamav-freshen' made.*copy $MAPI to each mail filter\" '$T/ilib.out' && '$T/bin/icinga2-private' daemon -C -c '$I/master.conf' 2>&1 | grep -q 'Instantiated 1 ApiUser\.'"
		mpw=$(sed -n 's/^password = "\(.*\)"$/\1/p' "$MAPI" 2>/dev/null)
		check "monitor postinst logic, Icinga 2 master: the filters' file is 0600, points at the master, leaves host to set" \
			sh -c "test \"\$(stat -c %a '$MAPI')\" = 600 && grep -q '^url = \"https://[^\"]*:5665\"' '$MAPI' && grep -q '^#host = ' '$MAPI' && test -n '$mpw' && grep -qF 'password = \"$mpw\"' '$MUSER'"
		ilib "cf_icinga_api_disable '$T/bin/icinga2-private' '$I/master.conf' '$MUSER' /nonexistent/icinga2-api.toml"
		check "filter prerm logic: the monitor's ApiUser is not the filter package's to remove" test -e "$MUSER"
		ilib "CF_PKG=clamav-freshen-monitor; cf_icinga_api_disable '$T/bin/icinga2-private' '$I/master.conf' '$MUSER' '$MAPI'"
		check "monitor prerm logic: its ApiUser and the filters' file removed" sh -c "test ! -e '$MUSER' && test ! -e '$MAPI'"
		rm -rf "$I/conf.d" "$I/zones.d" "$I/features-enabled" && mkdir -p "$I/conf.d"
	fi
	RH=$MR/usr/lib/nagios/plugins/clamav-freshen-remote-heal
	check "remote heal: OK does nothing" dash "$RH" OK 192.0.2.2
	rh_refuses() { dash "$RH" "$@" >/dev/null 2>&1; test $? -eq 3; }
	check "remote heal: a state outside the grammar is refused (exit 3)" rh_refuses HARD 192.0.2.2
	check "remote heal: an address like an option is refused" rh_refuses CRITICAL -H
	check "remote heal: an address with shell or space characters is refused" rh_refuses CRITICAL 'a;b c'
	check "remote heal: no address is refused" rh_refuses CRITICAL
	check "remote heal asks NRPE for clamav-freshen-heal only, with no argument" \
		grep -qx 'exec /usr/lib/nagios/plugins/check_nrpe -H "$2" -t 30 -c clamav-freshen-heal' "$RH"
fi

# --- heal timer (issue 11) ------------------------------------------------------------------
# shellcheck source=t_timer.sh
. "$(dirname "$0")/t_timer.sh"
timer_package_checks

# --- releases (issue 16): the changelog, the previous release the upgrade test builds -----
# shellcheck source=t_release.sh
. "$(dirname "$0")/t_release.sh"
release_checks
check "the freshclam daemon is started as its database owner (drop-in User=clamav Group=clamav)" \
	sh -c "grep -qx 'User=clamav' '$R/usr/lib/systemd/system/clamav-freshclam.service.d/clamav-freshen.conf' && grep -qx 'Group=clamav' '$R/usr/lib/systemd/system/clamav-freshclam.service.d/clamav-freshen.conf'"

finish
