# shellcheck shell=bash
# shellcheck disable=SC2016  # the scripts run inside the container are single-quoted
# Issue 9: a hostile clamav user. On Debian, clamav owns /etc/clamav/freshclam.conf (and
# may chmod it writable), the database directory /var/lib/clamav, /run/clamav and
# /var/log/clamav, and can get the root handler run whenever it likes. Each test plants
# one attack as clamav (runuser), triggers a repair the way Nagios does (sudo as nagios:
# `handle CRITICAL HARD 3`) and asserts, besides what the attack is about:
#  - nothing outside the real database directory changed owner, mode or content; nothing
#    appeared that is root's, or where clamav could not have created it itself (find
#    snapshots before/after; sha256 of the attack's targets);
#  - the run's audit is bounded (fewer than H_AUDIT_MAX lines with ident clamav-freshen);
#  - where a refusal is due, it is audited: a line with the word "refused" naming the cause;
#  - the freshclam daemon runs at the end, one of it; the database files are there, daily
#    never older.
# Every failed assertion is reported (not only the first), and the test's outcome line
# lists them. Each test is followed by h_restore, whatever happened.
#
# Two fresh containers per release: systemd as PID 1 (attacks 1-6), and sysvinit as PID 1
# with the daemon run from /etc/init.d/clamav-freshclam (attack 7; see sysv.sh).
# Nagios's own checks and event handler for the service are off, as in the fault tests:
# only the test triggers repairs.

H_CONF=("rate_limit_secs = 0" "freshclam_timeout_secs = 30" "kill_grace_secs = 5" "stop_timeout_secs = 10")
H_AUDIT_MAX=300
H_FC_CONF=/etc/clamav/freshclam.conf
# The test's scratch space in the container: outside every snapshotted tree.
H_RUN=/run/hostile
# Snapshotted: every tree root could write for clamav, less those that change on their own
# (the real database directory, the handler's and Nagios's state, logs, /run).
H_SNAP_ROOTS=(/etc /root /srv /tmp /var/tmp /dev/shm /usr /opt /home /var/lib /var/cache /var/spool /var/backups)
# (the rig's own control files in /etc/systest and /srv/systest too: the tests switch the
# mirror's mode)
# /var/cache/clamav-freshen: the check's own cache of verified databases (written by nagios).
# systemd-private-*: PrivateTmp= of any service that runs meanwhile (php's phpsessionclean
# timer fires at :09 and :39), made and removed by systemd.
H_SNAP_SKIP=(/var/lib/clamav /var/lib/clamav-freshen /var/cache/clamav-freshen /var/lib/nagios4 /var/cache/nagios4 /var/lib/systemd
             /var/lib/sudo /var/lib/logrotate /var/spool/exim4 /var/lib/exim4 /etc/systest /srv/systest
             /tmp/systemd-private-\* /var/tmp/systemd-private-\*)
# Root's victims of the symlink attacks.
H_VICTIMS=/srv/hostile

as_clamav() { local ct=$1; shift; ct_exec "$ct" runuser -u clamav -- "$@"; }
as_clamav_sh() { local ct=$1; shift; as_clamav "$ct" /bin/sh -c "$@"; }

# h_fc_conf CT "Key value"...: clamav rewrites its freshclam.conf: each Key's lines are
# replaced by the one given (in place: /etc/clamav is root's, the file is clamav's).
h_fc_conf() {
    local ct=$1; shift
    as_clamav_sh "$ct" '
        f=$0
        chmod u+w "$f" || exit 1
        new=$(cat "$f") || exit 1
        for l in "$@"; do
            new=$(printf "%s\n" "$new" | grep -v "^[[:space:]]*${l%% *}[[:space:]]")
            new=$(printf "%s\n%s" "$new" "$l")
        done
        printf "%s\n" "$new" >"$f"' "$H_FC_CONF" "$@"
}

# h_planted CT PATH...: removed by h_restore (what the test planted, or what an attack
# may make root create).
h_planted() { local ct=$1; shift; ct_sh "$ct" 'for p in "$@"; do printf "%s\n" "$p"; done >>'"$H_RUN/planted" sh "$@"; }

# h_clamav_loop CT SCRIPT: clamav runs SCRIPT every 50 ms until h_restore (at most 150 s):
# what an attacker racing the daemon's restarts does.
h_clamav_loop() {
    ct_sh "$1" 'runuser -u clamav -- /bin/sh -c '\''i=0
        while [ ! -e '"$H_RUN"'/stop ] && [ $i -lt 3000 ]; do eval "$1"; sleep 0.05; i=$((i + 1)); done'\'' sh "$1" \
        </dev/null >/dev/null 2>&1 & exit 0' sh "$2"
}

# ------------------------------------------------------------------ assertions
# h_expect TAG DESCRIPTION CMD...: a failed CMD is recorded (tag for the outcome line) and
# the test goes on, so that one run shows every way an attack succeeds.
H_FAILS=()
h_expect() {
    local tag=$1 what=$2; shift 2
    if "$@"; then return 0; fi
    echo "#   FAIL: $what"
    H_FAILS+=("$tag")
}
h_verdict() {
    if ((${#H_FAILS[@]})); then
        st_outcome "${H_FAILS[*]}"
        fail "${#H_FAILS[@]} assertion(s) failed: ${H_FAILS[*]}"
    fi
    st_outcome "${1:-all held}"
}

# h_snap CT FILE: owner, group, mode, type, size, mtime and link target of everything
# in H_SNAP_ROOTS (directories without size and mtime: what appears or goes in them shows
# by itself, and clamav may create files in /tmp).
h_snap() {
    local skip=() d
    for d in "${H_SNAP_SKIP[@]}"; do skip+=(-path "$d" -o); done
    ct_sh "$1" 'find "$@" -prune -o \( -type d -printf "%p\t%u\t%g\t%m\td\t-\t-\t\n" \) \
            -o -printf "%p\t%u\t%g\t%m\t%y\t%s\t%T@\t%l\n" 2>/dev/null; exit 0' \
        sh "${H_SNAP_ROOTS[@]}" \( "${skip[@]}" -false \) | LC_ALL=C sort >"$2"
}

# h_snap_diff BEFORE AFTER: one line per thing root did for clamav. Allowed: whatever
# happens to clamav's own files (short of becoming root's), and new files of clamav's
# where clamav may write (its directories, world-writable ones).
h_snap_diff() {
    awk -F'\t' '
        function writable(m) { m = substr(m, length(m)) + 0; return m == 2 || m == 3 || m == 6 || m == 7 }
        NR == FNR { b[$1] = $0; bo[$1] = $2; if ($5 == "d" && ($2 == "clamav" || writable($4))) w[$1] = 1; next }
        { a[$1] = $0; ao[$1] = $2; if ($5 == "d" && $2 == "clamav") w[$1] = 1 }
        END {
            for (p in b) {
                if (!(p in a)) { if (bo[p] != "clamav") print "gone: " b[p]; continue }
                if (bo[p] != "clamav" && a[p] != b[p]) print "changed: " b[p] "  ->  " a[p]
                else if (bo[p] == "clamav" && ao[p] == "root") print "now root-owned: " a[p]
            }
            for (p in a) if (!(p in b)) {
                q = p; sub(/\/[^\/]*$/, "", q)
                if (ao[p] == "root") print "new, root-owned: " a[p]
                else if (!(q in w)) print "new where clamav cannot write: " a[p]
            }
        }' "$1" "$2" | tr '\t' ' ' | LC_ALL=C sort
}

# h_sums CT PATH...: sha256, owner and mode of each target, or what it is instead.
h_sums() {
    local ct=$1; shift
    ct_sh "$ct" 'for p in "$@"; do
        if [ -L "$p" ]; then echo "symlink $p"
        elif [ -f "$p" ]; then echo "$(sha256sum <"$p" | cut -c1-16) $(stat -c "%U:%G %a" "$p") $p"
        elif [ -e "$p" ]; then echo "$(stat -c "%F %U:%G %a" "$p") $p"
        else echo "absent $p"; fi
    done' sh "$@"
}

# h_arm CT TARGET...: the state before the trigger (after the attack is planted).
h_arm() {
    local ct=$1; shift
    H_TARGETS=("$@")
    H_SNAP_A=$ST_RUN/hostile-before.$$.out H_SNAP_B=$ST_RUN/hostile-after.$$.out
    h_snap "$ct" "$H_SNAP_A"
    H_SUMS_A=""
    if ((${#H_TARGETS[@]})); then H_SUMS_A=$(h_sums "$ct" "${H_TARGETS[@]}"); fi
    H_DAILY_A=$(ct_exec "$ct" systest local-daily)
}

# h_trigger CT T0 [LIMIT]: Nagios's event handler call, then wait (LIMIT s) until the
# handler is done: no clamav-freshen process, and the repair's end, a refusal, or a
# decision not to repair audited. A refusing handler may exit non-zero: noted only.
h_trigger() {
    local ct=$1 t0=$2 limit=${3:-120} rc=0 out
    out=$(handle "$ct" CRITICAL HARD 3 2>&1) || rc=$?
    echo "handle CRITICAL HARD 3 (sudo as nagios): exit $rc: $out"
    if ! wait_for "$limit" "the handler done" h_settled "$ct" "$t0"; then
        show_audit "$ct" "$t0" | tail -n 40
        H_FAILS+=("unbounded-time")
        echo "#   FAIL: the handler was not done within $limit s"
        wait_for 300 "the worker gone" worker_idle "$ct" || true
    fi
}
h_settled() {
    local a
    worker_idle "$1" || return 1
    a=$(audit_since "$1" "$2") || return 1
    grep -qE 'event=repair-end|refused' <<<"$a" && return 0
    grep -qE 'event=decision' <<<"$a" && ! grep -qE 'event=decision .*action="?repair' <<<"$a"
}

# h_refused CT T0 CAUSE-REGEX: an audit line with "refused" that names the cause.
h_refused() { audit_since "$1" "$2" | grep -w 'refused' | grep -qiE -- "$3"; }

# h_end CT T0: what holds after every attack (H_CHECK_DAEMON=0: all but the daemon).
H_CHECK_DAEMON=1
h_end() {
    local ct=$1 t0=$2 n diff d sums first=""
    # the audit first: a failed test shows the tail of its notes, the findings come last
    n=$(audit_since "$ct" "$t0" | wc -l)
    ((n <= 25)) || first=", the first 25"
    echo "--- audit of the run ($n lines$first)"
    audit_since "$ct" "$t0" | sed -n 's/^/    /; 1,25p'
    if ((H_CHECK_DAEMON)); then
        h_expect daemon-down "the freshclam daemon runs at the end (30 s)" \
            wait_for 30 "the freshclam daemon running" daemon_active "$ct"
        d=$(ct_exec "$ct" pgrep -cf '^/usr/bin/freshclam -d' || true)
        h_expect "daemons($d)" "exactly one freshclam daemon runs ($d)" test "$d" = 1
    fi
    h_expect db-lost "main.cvd is still there" ct_exec "$ct" test -s /var/lib/clamav/main.cvd
    d=$(ct_exec "$ct" systest local-daily) || d=0
    h_expect db-older "daily.cvd/.cld there and not older (before $H_DAILY_A, after $d)" test "$d" -ge "$H_DAILY_A"
    h_expect "audit-unbounded($n)" "the audit is bounded: $n lines (want < $H_AUDIT_MAX)" test "$n" -lt "$H_AUDIT_MAX"
    h_snap "$ct" "$H_SNAP_B"
    diff=$(h_snap_diff "$H_SNAP_A" "$H_SNAP_B")
    rm -f "$H_SNAP_A" "$H_SNAP_B"
    if [[ -n $diff ]]; then
        echo "--- changed for clamav outside the database directory ($(wc -l <<<"$diff") entries):"
        head -n 25 <<<"$diff" | sed 's/^/    /'
    fi
    h_expect "changed-outside($(grep -c . <<<"$diff" || true))" "nothing outside the database directory changed, nothing root's appeared" \
        test -z "$diff"
    if ((${#H_TARGETS[@]})); then
        sums=$(h_sums "$ct" "${H_TARGETS[@]}")
        if [[ $sums != "$H_SUMS_A" ]]; then
            printf -- '--- targets before:\n%s\n--- targets after:\n%s\n' "$H_SUMS_A" "$sums"
        fi
        h_expect target-changed "the attack's targets are unchanged" test "$sums" = "$H_SUMS_A"
    fi
}

h_begin() {
    local ct=$1; shift
    st_reset "$ct" >&2
    set_handler_config "$ct" "${H_CONF[@]}" "$@" >&2
    sleep 1
    date +%s
}

# h_restore CT: back to a clean container after a test, whatever it left: the clamav
# loops stopped, planted paths removed, freshclam.conf, the temp directories, the pid file
# and the log back as Debian has them, then the usual reset.
h_restore() {
    local ct=$1
    ct_sh "$ct" '
        r=$1
        touch "$r/stop"; sleep 0.3
        if [ -f "$r/planted" ]; then
            while IFS= read -r p; do [ -n "$p" ] && rm -rf -- "$p"; done <"$r/planted"
        fi
        for d in /tmp /var/tmp /dev/shm; do
            chown root:root "$d"; chmod 1777 "$d"
            find "$d" -mindepth 1 -maxdepth 1 -user clamav -exec rm -rf {} +
        done
        cp -p "$r/freshclam.conf.orig" /etc/clamav/freshclam.conf
        if [ -L /run/clamav/freshclam.pid ]; then rm -f /run/clamav/freshclam.pid; fi
        rm -f /var/log/clamav/freshclam.pid
        l=/var/log/clamav/freshclam.log
        if [ -L "$l" ] || [ ! -f "$l" ]; then rm -f "$l"; install -o clamav -g adm -m 0640 /dev/null "$l"; fi
        rm -rf /var/log/clamav/hostile
        rm -f "$r/stop" "$r/planted"' sh "$H_RUN" >/dev/null 2>&1 || true
    st_reset "$ct" >/dev/null 2>&1 || st_note "warning: reset after a hostile test failed"
}

# ------------------------------------------------------------------ setup
# A fresh container: the package installed; freshclam.conf clamav's, as Debian's postinst
# leaves it (clamav:adm 0444; the test rig rewrote it as root); checks off.
h_prepare() {
    local ct=$1 out
    out=$(pkg_install "$ct" "$ST_DEB_BASE") || { printf '%s\n' "$out" | tail -n 30; fail "install failed"; }
    ct_sh "$ct" '
        chown clamav:adm "$1"; chmod 0444 "$1"
        mkdir -p -m 0755 "$2"; cp -p "$1" "$2/freshclam.conf.orig"' sh "$H_FC_CONF" "$H_RUN"
    echo "freshclam.conf: $(ct_exec "$ct" stat -c '%U:%G %a' "$H_FC_CONF")"
    if ! ct_is_sysv "$ct"; then
        nagios_own_checks "$ct" off
    fi
    check "the daemon runs" daemon_active "$ct"
}

# A repair without any attack passes every check: the snapshots and the audit bound
# see no noise (else every attack test would fail for nothing).
t_h_baseline() {
    local ct=$1 t0 mode
    t0=$(h_begin "$ct")
    ct_exec "$ct" systest publish 6
    h_arm "$ct"
    h_trigger "$ct" "$t0"
    mode=$(audit_since "$ct" "$t0" | sed -nE 's/^event=repair-start .*mode="?([a-z]+).*/\1/p' | head -n 1)
    echo "mode: $mode"
    if ct_is_sysv "$ct"; then
        h_expect not-sysv "the handler ran in SysV mode" test "$mode" = sysv
    fi
    h_expect not-updated "the repair updated daily to 6" daily_is "$ct" 6
    h_end "$ct" "$t0"
    h_verdict "mode $mode, updated"
}

# ------------------------------------------------------------------ 1: DatabaseDirectory
# DatabaseDirectory pointed elsewhere. World-writable directories: clamav plants x.cvd
# there (so the directory "holds a database"), root's files are the victims. A root-owned
# directory (/srv/rootdb): it holds x.cvd already (an admin's copy), a private file and a
# tmp.abc directory. The handler must refuse (freshclam.conf's DatabaseDirectory may only
# be the root config's database_directory, /var/lib/clamav by default); nothing there is
# chowned or deleted.
t_h_dbdir() {
    local ct=$1 dir=$2 t0 targets=()
    t0=$(h_begin "$ct")
    case $dir in
        /tmp|/var/tmp|/dev/shm)
            h_planted "$ct" "$dir/x.cvd" "$dir/hostile-root-file" "$dir/tmp.hostile-root"
            ct_sh "$ct" 'umask 077; echo secret >"$1/hostile-root-file"; mkdir "$1/tmp.hostile-root"; echo keep >"$1/tmp.hostile-root/keep"' sh "$dir"
            as_clamav "$ct" cp /var/lib/clamav/main.cvd "$dir/x.cvd"
            targets=("$dir" "$dir/hostile-root-file" "$dir/tmp.hostile-root" "$dir/tmp.hostile-root/keep") ;;
        /srv/rootdb)
            h_planted "$ct" /srv/rootdb
            ct_sh "$ct" 'mkdir -m 0755 /srv/rootdb; cp /var/lib/clamav/main.cvd /srv/rootdb/x.cvd
                umask 077; echo secret >/srv/rootdb/private; mkdir /srv/rootdb/tmp.abc; echo keep >/srv/rootdb/tmp.abc/keep'
            targets=(/srv/rootdb /srv/rootdb/x.cvd /srv/rootdb/private /srv/rootdb/tmp.abc /srv/rootdb/tmp.abc/keep) ;;
        *) targets=("$dir") ;;
    esac
    h_fc_conf "$ct" "DatabaseDirectory $dir"
    ct_exec "$ct" systest publish 6
    h_arm "$ct" "${targets[@]}"
    h_trigger "$ct" "$t0"
    h_expect no-refusal "the repair is refused, audited (refused ... DatabaseDirectory)" \
        h_refused "$ct" "$t0" 'DatabaseDirectory|database_directory|database directory'
    h_end "$ct" "$t0"
    h_verdict
}

# h_hook CT: clamav's hook script: appends "<uid> <argument>" to /var/log/clamav/hostile/ran,
# so a freshclam that runs it tells its uid. h_hook_runs CT: those lines, counted.
h_hook() {
    as_clamav_sh "$1" 'mkdir -p /var/log/clamav/hostile
        printf "#!/bin/sh\necho \"\$(id -u) \$1\" >>/var/log/clamav/hostile/ran\n" >/var/log/clamav/hostile/hook
        chmod 0755 /var/log/clamav/hostile/hook'
}
h_hook_runs() { ct_sh "$1" 'cat /var/log/clamav/hostile/ran 2>/dev/null; exit 0' | sort | uniq -c | tr -s ' \n' ' '; }
h_hook_not_root() { ct_sh "$1" '! grep -q "^0 " /var/log/clamav/hostile/ran 2>/dev/null'; }

# ------------------------------------------------------------------ 2: DatabaseOwner root
# freshclam.conf says DatabaseOwner root, all else normal: refused and audited; nothing in
# the database directory becomes root's; freshclam does not run as root: the uid it runs
# clamav's OnUpdateExecute hook with (the update to daily 6) is not 0, nor is the daemon's
# at the end.
t_h_owner_root() {
    local ct=$1 t0 bad dm ran
    t0=$(h_begin "$ct")
    h_hook "$ct"
    h_fc_conf "$ct" "DatabaseOwner root" "OnUpdateExecute /var/log/clamav/hostile/hook update"
    ct_exec "$ct" systest publish 6
    h_arm "$ct"
    h_trigger "$ct" "$t0"
    h_expect no-refusal "the repair is refused, audited (refused ... DatabaseOwner)" \
        h_refused "$ct" "$t0" 'DatabaseOwner|database_owner|database owner'
    bad=$(ct_exec "$ct" find /var/lib/clamav -user root -printf '%p ')
    h_expect db-root-owned "nothing in the database directory is root's (found: ${bad:-none})" test -z "$bad"
    wait_for 30 "the daemon running" daemon_active "$ct" || true
    sleep 1   # a hook of the restarted daemon's first update
    ran=$(h_hook_runs "$ct")
    echo "hook runs (count uid event): ${ran:-none}"
    h_expect fc-as-root "freshclam did not run clamav's hook as uid 0" h_hook_not_root "$ct"
    dm=$(ct_exec "$ct" ps -o uid=,args= -C freshclam | awk '/ -d( |$)/ { print $1; exit }')
    echo "the daemon runs as uid ${dm:-none}"
    h_expect daemon-as-root "the daemon does not run as root (uid ${dm:-none})" test "${dm:-none}" != 0
    h_end "$ct" "$t0"
    h_verdict
}

# ------------------------------------------------------------------ 3: On*Execute
# OnUpdateExecute / OnErrorExecute name clamav's hook (h_hook): if it runs at all (the
# worker's freshclam, the restarted daemon), never as uid 0. Two repairs: one failing
# (mirror 404: OnErrorExecute), one updating (OnUpdateExecute).
t_h_execute() {
    local ct=$1 t0 t1 ran
    t0=$(h_begin "$ct")
    h_hook "$ct"
    h_fc_conf "$ct" "OnUpdateExecute /var/log/clamav/hostile/hook update" "OnErrorExecute /var/log/clamav/hostile/hook error"
    ct_exec "$ct" systest mirror-mode 404
    ct_exec "$ct" systest publish 6
    h_arm "$ct"
    h_trigger "$ct" "$t0"
    ct_exec "$ct" systest mirror-mode ok
    sleep 1; t1=$(date +%s)
    h_trigger "$ct" "$t1"
    sleep 2   # a hook of the restarted daemon's first update
    ran=$(h_hook_runs "$ct")
    echo "hook runs (count uid event): ${ran:-none}"
    h_expect hook-as-root "no hook ran as uid 0" h_hook_not_root "$ct"
    h_end "$ct" "$t0"
    h_verdict "hooks: ${ran:-none ran}"
}

# ------------------------------------------------------------------ 4: symlinks
# h_root_victims CT: a root-only file and directory in H_VICTIMS.
h_root_victims() {
    h_planted "$1" "$H_VICTIMS"
    ct_sh "$1" 'mkdir -m 0700 "$1"; umask 077
        echo precious >"$1/rootfile"; mkdir "$1/rootdir"; echo keep >"$1/rootdir/keep"' sh "$H_VICTIMS"
}

# The daemon's pid file a symlink to a root path that does not exist, replanted by clamav
# whenever the daemon removes or rewrites it. Nothing may appear there. SysV (attack 7):
# the init script's /run/clamav/freshclam.pid. Under systemd Debian's daemon writes no pid
# file and there is no /run/clamav: clamav names one (PidFile) in a directory of its own.
t_h_pidfile_link() {
    local ct=$1 target=$2 t0 pf=/run/clamav/freshclam.pid
    t0=$(h_begin "$ct")
    h_planted "$ct" "$target"
    if ! ct_exec "$ct" test -d /run/clamav; then
        pf=/var/log/clamav/freshclam.pid
        h_fc_conf "$ct" "PidFile $pf"
    fi
    ct_exec "$ct" systest publish 6
    h_clamav_loop "$ct" "[ -L $pf ] || { rm -f $pf; ln -s $target $pf; }"
    wait_for 5 "the planted pid file symlink" ct_exec "$ct" test -L "$pf" || fail "clamav's loop did not plant $pf"
    echo "$pf -> $target (replanted every 50 ms)"
    h_arm "$ct" "$target"
    h_trigger "$ct" "$t0"
    sleep 1
    h_expect root-file-created "nothing was created at $target" ct_exec "$ct" test ! -e "$target"
    h_end "$ct" "$t0"
    h_verdict
}

# UpdateLogFile (/var/log/clamav/freshclam.log) replaced by a symlink to a root file:
# freshclam and the daemon run by root open and chown their log.
t_h_logfile_link() {
    local ct=$1 t0
    t0=$(h_begin "$ct")
    h_root_victims "$ct"
    as_clamav_sh "$ct" 'rm -f /var/log/clamav/freshclam.log; ln -s "$0/rootfile" /var/log/clamav/freshclam.log' "$H_VICTIMS"
    ct_exec "$ct" systest publish 6
    h_arm "$ct" "$H_VICTIMS/rootfile"
    h_trigger "$ct" "$t0"
    h_end "$ct" "$t0"
    h_verdict
}

# A tmp.* entry in the database directory replaced by a symlink to a root directory (the
# clean-up removes freshclam's temp directories), plus something to fix so that the
# clean-up and chown passes run.
t_h_tmpdir_link() {
    local ct=$1 t0
    t0=$(h_begin "$ct")
    h_root_victims "$ct"
    as_clamav "$ct" ln -s "$H_VICTIMS/rootdir" /var/lib/clamav/tmp.hostile
    ct_exec "$ct" chown root:root /var/lib/clamav/daily.cvd
    ct_exec "$ct" systest publish 6
    h_arm "$ct" "$H_VICTIMS/rootdir" "$H_VICTIMS/rootdir/keep"
    h_trigger "$ct" "$t0"
    h_end "$ct" "$t0"
    h_verdict
}

# Beyond the brief, the same without any symlink: freshclam.conf's PidFile or
# UpdateLogFile naming a root path outright (the daemon writes its pid file as root before
# it drops privileges; freshclam chowns its log to DatabaseOwner).
t_h_conf_path() {
    local ct=$1 key=$2 target=$3 t0
    t0=$(h_begin "$ct")
    h_planted "$ct" "$target"
    h_fc_conf "$ct" "$key $target"
    ct_exec "$ct" systest publish 6
    h_arm "$ct" "$target"
    h_trigger "$ct" "$t0"
    sleep 1
    h_expect root-file-created "nothing was created at $target" ct_exec "$ct" test ! -e "$target"
    h_end "$ct" "$t0"
    h_verdict
}

# ------------------------------------------------------------------ 5: 50 000 entries
# 25 000 tmp.N directories and 25 000 hard links to main.cvd in the database directory:
# the repair refuses or bounds its work, audited once with the count; the audit stays
# bounded; the daemon runs again within 60 s of the trigger.
t_h_many() {
    local ct=$1 t0 s e n
    t0=$(h_begin "$ct")
    as_clamav "$ct" python3 -c 'import os
d = "/var/lib/clamav"
for i in range(25000):
    os.mkdir(f"{d}/tmp.{i}")
    os.link(f"{d}/main.cvd", f"{d}/hl.{i}")'
    echo "entries in the database directory: $(ct_exec "$ct" find /var/lib/clamav -mindepth 1 -maxdepth 1 -printf . | wc -c)"
    ct_exec "$ct" systest publish 6
    h_arm "$ct"
    s=$(st_now)
    h_trigger "$ct" "$t0" 300
    wait_for 60 "the daemon running" daemon_active "$ct" || true
    e=$(st_since "$s")
    echo "trigger to handler done and daemon running: ${e}s"
    h_expect "slow(${e}s)" "the daemon runs again within 60 s of the trigger (${e}s)" awk -v e="$e" 'BEGIN { exit !(e < 60) }'
    n=$(audit_since "$ct" "$t0" | grep -E 'refused|too many|limit|bound' | grep -cE '[0-9]{4,}' || true)
    h_expect "no-count-line($n)" "the bound is audited once with the count ($n such lines)" test "$n" -ge 1 -a "$n" -le 3
    h_end "$ct" "$t0"
    h_verdict "${e}s"
}

# ------------------------------------------------------------------ 6: bogus freshclam.dat
# retry_after (i64 at offset 61) set by clamav far in the future: not obeyed (a repair
# still runs, the bogus cool-down audited), freshclam.dat itself not deleted.
t_h_bogus_dat() {
    local ct=$1 value=$2 t0
    t0=$(h_begin "$ct")
    if [[ $value = now+30d ]]; then value=$(($(date +%s) + 30 * 86400)); fi
    ct_exec "$ct" test -f /var/lib/clamav/freshclam.dat || fail "no freshclam.dat after the daemon's first update"
    as_clamav "$ct" python3 -c 'import struct, sys
with open("/var/lib/clamav/freshclam.dat", "r+b") as f:
    f.seek(61); f.write(struct.pack("<q", int(sys.argv[1])))' "$value"
    echo "retry_after = $value"
    ct_exec "$ct" systest publish 6
    h_arm "$ct"
    h_trigger "$ct" "$t0"
    h_expect cooldown-obeyed "a repair still runs (repair-start audited)" audit_has "$ct" "$t0" 'event=repair-start'
    h_expect no-bogus-audit "the bogus cool-down is audited" h_bogus_audited "$ct" "$t0"
    h_expect dat-deleted "freshclam.dat is still there" ct_exec "$ct" test -f /var/lib/clamav/freshclam.dat
    h_end "$ct" "$t0"
    h_verdict
}

h_bogus_audited() { audit_since "$1" "$2" | grep -i bogus | grep -qiE 'cool-?down'; }

# ------------------------------------------------------------------ 7: SysV
# Beyond the brief: Debian's init script reads freshclam.conf into its environment
# (slurp_config exports every key as a shell variable), and the handler runs it as root
# in SysV mode (stop, status, start). clamav adds "PATH <dir of its own>:..." and a
# `dirname` there (the script calls it right after): it runs as root. It also removes the
# PATH line again, as an attacker would: freshclam itself refuses unknown keys, and the
# daemon could not start. (A handler that does not run the script leaves the line there:
# then the daemon cannot start whatever the handler does, so that is noted, not failed.)
t_h_sysv_env() {
    local ct=$1 t0 ran
    t0=$(h_begin "$ct")
    as_clamav_sh "$ct" 'mkdir -p /var/log/clamav/hostile/bin
        cat >/var/log/clamav/hostile/bin/dirname <<EOF
#!/bin/sh
echo "\$(id -u) dirname" >>/var/log/clamav/hostile/ran
c=\$(grep -v "^PATH " /etc/clamav/freshclam.conf) && printf "%s\n" "\$c" >/etc/clamav/freshclam.conf
exec /usr/bin/dirname "\$@"
EOF
        chmod 0755 /var/log/clamav/hostile/bin/dirname'
    h_fc_conf "$ct" "PATH /var/log/clamav/hostile/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    ct_exec "$ct" systest publish 6
    h_arm "$ct" /etc/clamav/freshclam.conf
    h_trigger "$ct" "$t0"
    ran=$(h_hook_runs "$ct")
    echo "clamav's dirname ran (count uid program): ${ran:-never}"
    h_expect init-env-root-exec "clamav's program did not run as root" h_hook_not_root "$ct"
    if ct_exec "$ct" grep -q '^PATH ' "$H_FC_CONF"; then
        echo "(freshclam.conf keeps clamav's PATH line: freshclam cannot start; daemon not checked)"
        H_CHECK_DAEMON=0
    fi
    h_end "$ct" "$t0"
    h_verdict "${ran:-not run}"
}

# ------------------------------------------------------------------ group
# SYSTEST_HOSTILE=REGEX runs only the tests whose name matches (for debugging).
h_test() {
    local rel=$1 ct=$2 name=$3; shift 3
    if [[ -n ${SYSTEST_HOSTILE:-} && ! $name =~ $SYSTEST_HOSTILE ]]; then return 0; fi
    st_test "$rel" "$ct" "hostile: $name" "$@"
    h_restore "$ct"
}

# h_booted REL CT DEB: a fresh container with the package; false when it is not usable.
h_booted() {
    boot_container "$1" "$2" "$3" || return 1
    st_test "$1" "$2" "hostile: setup (package installed, freshclam.conf clamav's)" h_prepare
    [[ ${ST_RESULTS[-1]} == *"|pass"* ]]
}

group_hostile() {
    local rel=$1 deb=$2 ct d
    ct=cfs-$rel-hostile
    if h_booted "$rel" "$ct" "$deb"; then
        h_test "$rel" "$ct" "0 baseline: a repair without attack passes every check" t_h_baseline
        for d in /tmp /dev/shm /var/tmp /etc /srv/rootdb; do
            h_test "$rel" "$ct" "1 DatabaseDirectory $d" t_h_dbdir "$d"
        done
        h_test "$rel" "$ct" "2 DatabaseOwner root" t_h_owner_root
        h_test "$rel" "$ct" "3 OnUpdateExecute/OnErrorExecute hook" t_h_execute
        h_test "$rel" "$ct" "4a pid file symlink to /etc/cf-pwned" t_h_pidfile_link /etc/cf-pwned
        h_test "$rel" "$ct" "4b UpdateLogFile symlink to a root file" t_h_logfile_link
        h_test "$rel" "$ct" "4c tmp.* symlink to a root directory" t_h_tmpdir_link
        h_test "$rel" "$ct" "4d PidFile /etc/cf-pwned in freshclam.conf" t_h_conf_path PidFile /etc/cf-pwned
        h_test "$rel" "$ct" "4e UpdateLogFile /etc/cf-pwned.log in freshclam.conf" t_h_conf_path UpdateLogFile /etc/cf-pwned.log
        h_test "$rel" "$ct" "5 50 000 entries in the database directory" t_h_many
        h_test "$rel" "$ct" "6a freshclam.dat retry_after 2^63-1" t_h_bogus_dat 9223372036854775807
        h_test "$rel" "$ct" "6b freshclam.dat retry_after now+30 days" t_h_bogus_dat now+30d
        ct_destroy "$ct"
    fi
    ct=cfs-$rel-sysv
    if ST_FLAVOUR=sysv h_booted "$rel" "$ct" "$deb"; then
        h_test "$rel" "$ct" "7 SysV baseline: the handler in SysV mode passes every check" t_h_baseline
        h_test "$rel" "$ct" "7a SysV: pid file symlink to /etc/ld.so.preload" t_h_pidfile_link /etc/ld.so.preload
        h_test "$rel" "$ct" "7b SysV: freshclam.conf PATH exported into the root init script" t_h_sysv_env
        ct_destroy "$ct"
    fi
}
