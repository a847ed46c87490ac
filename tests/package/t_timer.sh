# shellcheck shell=bash
# Package-layer checks of the heal timer (issue 11), sourced by tests/package/run.sh after
# it has unpacked the .deb: uses its $R (data), $C (control), $T (temp dir) and its
# check/refute helpers. Call timer_package_checks once.
#
# The units and the cron entry as shipped, systemd-analyze verify on them (the handler
# itself need not be installed here), the cron entry
# run for real (with and without systemd, sleep stubbed), and the maintainer scripts' timer
# blocks run by dash against fake deb-systemd-helper/deb-systemd-invoke/systemctl in a
# private mount namespace (a tmpfs /run there says whether "systemd runs"), so nothing on
# this host is enabled, started or removed.

TP_UNITS=usr/lib/systemd/system

# tp_key FILE KEY: the values of KEY= in a unit file, one per line.
tp_key() { sed -n "s/^$2=//p" "$1"; }

# tp_block SCRIPT: the heal-timer block of a maintainer script (between its markers).
tp_block() { sed -n '/^# --- heal timer/,/^# --- end heal timer/p' "$1"; }

# tp_run SCRIPT SYSTEMD(yes|no) ARGS...: runs SCRIPT's heal-timer block with dash as dpkg
# would run the script with ARGS; prints the fake tools' calls. was-enabled answers
# $TP_WAS_ENABLED (0 enabled, 1 not).
tp_run() {
	local script=$1 systemd=$2
	shift 2
	mkdir -p "$T/tp/bin"
	tp_block "$script" >"$T/tp/block.sh"
	for tool in deb-systemd-helper deb-systemd-invoke systemctl; do
		cat >"$T/tp/bin/$tool" <<EOF
#!/bin/sh
echo "$tool \$*" >>"$T/tp/calls"
case "\$*" in *was-enabled*) exit \${TP_WAS_ENABLED:-0} ;; esac
exit 0
EOF
		chmod 755 "$T/tp/bin/$tool"
	done
	: >"$T/tp/calls"
	# shellcheck disable=SC2016
	TP_WAS_ENABLED=${TP_WAS_ENABLED:-0} unshare -m sh -c '
		mount --make-rprivate / && mount -t tmpfs tmpfs /run || exit 1
		if [ "$1" = yes ]; then mkdir -p /run/systemd/system; fi
		mount -t tmpfs tmpfs /var/lib/systemd 2>/dev/null || mount -t tmpfs tmpfs /var/lib
		shift; dir=$1; shift
		PATH="$dir/bin:$PATH" dash -e "$dir/block.sh" "$@"' sh "$systemd" "$T/tp" "$@" || echo "BLOCK FAILED rc=$?"
	cat "$T/tp/calls"
}

tp_expect() {  # tp_expect WANT GOT: exact list of calls
	if [ "$1" = "$2" ]; then return 0; fi
	echo "want:"; printf '%s\n' "$1"; echo "got:"; printf '%s\n' "$2"
	return 1
}

timer_package_checks() {
	local timer=$R/$TP_UNITS/clamav-freshen-heal.timer svc=$R/$TP_UNITS/clamav-freshen-heal.service
	local cron=$R/etc/cron.d/clamav-freshen got
	check "heal timer and service shipped in /$TP_UNITS, 0644 root" \
		sh -c "test \"\$(stat -c '%a %u:%g' '$timer' '$svc' | sort -u)\" = '644 0:0'"
	check "timer: every 30 minutes, fixed random offset, Persistent, wanted by timers.target" \
		sh -c "test \"\$(sed -n 's/^OnCalendar=//p' '$timer')\" = '*:0/30' && grep -qx 'RandomizedDelaySec=30min' '$timer' && grep -qx 'FixedRandomDelay=true' '$timer' && grep -qx 'Persistent=true' '$timer' && grep -qx 'WantedBy=timers.target' '$timer'"
	check "service: oneshot running exactly /usr/sbin/clamav-freshen heal as root (no User=, no sudo), no [Install]" \
		sh -c "grep -qx 'Type=oneshot' '$svc' && test \"\$(sed -n 's/^ExecStart=//p' '$svc')\" = '/usr/sbin/clamav-freshen heal' && ! grep -Eq '^(User|Group|DynamicUser)=' '$svc' && ! grep -q '^\\[Install\\]' '$svc'"
	check "service sandbox: ProtectSystem=strict, writable DB/log/pid dirs, preserved runtime dir, NoNewPrivileges, the five capabilities" \
		sh -c "grep -qx 'ProtectSystem=strict' '$svc' && grep -qx 'ReadWritePaths=-/var/lib/clamav -/var/log/clamav -/run/clamav' '$svc' && grep -qx 'RuntimeDirectory=clamav-freshen' '$svc' && grep -qx 'RuntimeDirectoryPreserve=yes' '$svc' && grep -qx 'StateDirectory=clamav-freshen' '$svc' && grep -qx 'PrivateTmp=yes' '$svc' && grep -qx 'NoNewPrivileges=yes' '$svc' && grep -qx 'CapabilityBoundingSet=CAP_CHOWN CAP_DAC_OVERRIDE CAP_KILL CAP_SETUID CAP_SETGID' '$svc'"
	if command -v systemd-analyze >/dev/null; then
		# Judged by its messages, not its exit code: the handler itself is not installed
		# here, so verify always names it as not executable (and then exits 1).
		check "systemd-analyze verify accepts the units" \
			sh -c "out=\$(systemd-analyze verify --man=no '$timer' '$svc' 2>&1); printf '%s\n' \"\$out\"; ! printf '%s\n' \"\$out\" | grep -v 'clamav-freshen is not executable' | grep ."
	else
		skip "systemd-analyze not installed"
	fi

	# The cron stand-in: root, every 30 minutes, heal; nothing under systemd; guarded for a
	# removed (not purged) package. Run for real: sleep and the handler stubbed (the
	# command's own /usr/sbin path, overlaid in a private mount namespace).
	check "cron entry: one root job every 30 minutes running heal, skipped under systemd and without the binary" \
		sh -c "test \"\$(grep -Ev '^[[:space:]]*(#|$|[A-Z]+=)' '$cron' | wc -l)\" = 1 && grep -Eq '^\\*/30 \\* \\* \\* \\* root \\[ -d /run/systemd/system \\] \\|\\| \\{ \\[ -x /usr/sbin/clamav-freshen \\] && .*/usr/sbin/clamav-freshen heal( |>|$)' '$cron'"
	# cron turns \% into %; then what cron runs, as sh does
	sed -n 's/^\*\/30 \* \* \* \* root //p' "$cron" | sed 's/\\%/%/g' >"$T/tp-cron.sh"
	mkdir -p "$T/tpc/bin" "$T/tpc/up" "$T/tpc/work"
	printf '#!/bin/sh\necho "sleep $*" >>%s/tpc/ran\n' "$T" >"$T/tpc/bin/sleep"
	chmod 755 "$T/tpc/bin/sleep"
	cat >"$T/tpc/run.sh" <<EOF
set -u
mount --make-rprivate /
mount -t tmpfs tmpfs /run
[ "\$1" = yes ] && mkdir -p /run/systemd/system
mount -t overlay overlay -o "lowerdir=/usr/sbin,upperdir=$T/tpc/up,workdir=$T/tpc/work" /usr/sbin
printf '#!/bin/sh\necho "handler \$*" >>$T/tpc/ran\necho "CLAMAV OK - stub"\n' >/usr/sbin/clamav-freshen
chmod 755 /usr/sbin/clamav-freshen
PATH=$T/tpc/bin:/usr/sbin:/usr/bin:/sbin:/bin sh $T/tp-cron.sh
EOF
	rm -f "$T/tpc/ran"
	unshare -m sh "$T/tpc/run.sh" no >"$T/tpc/out" 2>&1
	check "cron entry without systemd: sleeps under 15 minutes, then runs heal, stdout discarded" \
		sh -c "grep -Eq '^sleep [0-9]+$' '$T/tpc/ran' && test \"\$(sed -n 's/^sleep //p' '$T/tpc/ran')\" -lt 900 && grep -qx 'handler heal' '$T/tpc/ran' && ! grep -q stub '$T/tpc/out'"
	rm -f "$T/tpc/ran" "$T/tpc/up/clamav-freshen"
	unshare -m sh "$T/tpc/run.sh" yes >"$T/tpc/out" 2>&1
	check "cron entry under systemd: does nothing" test ! -e "$T/tpc/ran"

	# Maintainer scripts: the timer blocks, as dh_installsystemd writes them.
	check "postinst/prerm/postrm each have one heal-timer block" \
		sh -c "for s in postinst prerm postrm; do test \"\$(grep -c '^# --- heal timer' '$C/'\$s)\" = 1 && test \"\$(grep -c '^# --- end heal timer' '$C/'\$s)\" = 1 || exit 1; done"
	refute "no plain 'systemctl start/enable/restart' (deb-systemd-invoke/-helper honour policy-rc.d and the admin's choice)" \
		grep -Eq 'systemctl[^|;]* (start|enable|restart|stop) ' "$C/postinst" "$C/prerm" "$C/postrm"
	got=$(tp_run "$C/postinst" yes configure "")
	check "postinst configure, first install, systemd running: unmask, enable, daemon-reload, start the timer only" tp_expect \
		"deb-systemd-helper unmask clamav-freshen-heal.timer
deb-systemd-helper --quiet was-enabled clamav-freshen-heal.timer
deb-systemd-helper enable clamav-freshen-heal.timer
systemctl --system daemon-reload
deb-systemd-invoke start clamav-freshen-heal.timer" "$got"
	got=$(TP_WAS_ENABLED=1 tp_run "$C/postinst" yes configure 0.1.0-1)
	check "postinst configure, upgrade, timer disabled by the admin: state updated, not enabled; restart left to deb-systemd-invoke (skips disabled units)" tp_expect \
		"deb-systemd-helper unmask clamav-freshen-heal.timer
deb-systemd-helper --quiet was-enabled clamav-freshen-heal.timer
deb-systemd-helper update-state clamav-freshen-heal.timer
systemctl --system daemon-reload
deb-systemd-invoke restart clamav-freshen-heal.timer" "$got"
	got=$(tp_run "$C/postinst" no configure "")
	check "postinst configure in a chroot (no systemd): enabled, nothing started or reloaded" tp_expect \
		"deb-systemd-helper unmask clamav-freshen-heal.timer
deb-systemd-helper --quiet was-enabled clamav-freshen-heal.timer
deb-systemd-helper enable clamav-freshen-heal.timer" "$got"
	got=$(tp_run "$C/prerm" yes remove)
	check "prerm remove: the timer and its service stopped" tp_expect \
		"deb-systemd-invoke stop clamav-freshen-heal.timer clamav-freshen-heal.service" "$got"
	got=$(tp_run "$C/prerm" yes upgrade 0.1.0-1)
	check "prerm upgrade: nothing stopped (postinst restarts)" tp_expect "" "$got"
	got=$(tp_run "$C/postrm" yes remove)
	check "postrm remove: masked as dh does, daemon-reload" tp_expect \
		"deb-systemd-helper mask clamav-freshen-heal.timer
systemctl --system daemon-reload" "$got"
	got=$(tp_run "$C/postrm" yes purge)
	check "postrm purge: deb-systemd-helper purge and unmask (no link, no state left)" tp_expect \
		"deb-systemd-helper purge clamav-freshen-heal.timer
deb-systemd-helper unmask clamav-freshen-heal.timer" "$got"
	check "postrm purge removes the Persistent= stamp" \
		grep -q 'rm -f /var/lib/systemd/timers/stamp-clamav-freshen-heal.timer' "$C/postrm"
}
