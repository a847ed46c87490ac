# shellcheck shell=bash
# Issue 11: healing that keeps trying, with or without the monitor. The package's
# clamav-freshen-heal.timer runs `clamav-freshen heal` as root (no sudo) in its sandboxed
# service; with Nagios stopped it alone repairs a stale database, retries a failed repair
# when the backoff allows, restarts a daemon a SIGKILLed worker left stopped; purge leaves
# nothing of it.
#
# Test-only change: a drop-in makes the timer fire every 5 s (shipped: every 30 minutes
# at a fixed random offset) and is removed at the end. Between tests (st_reset) the timer
# is stopped, so that only a test that wants it gets timer runs.

TM_TIMER=clamav-freshen-heal.timer
TM_SERVICE=clamav-freshen-heal.service
TM_DROPIN=/etc/systemd/system/$TM_TIMER.d/systest.conf

# timer_fast CT: the timer every 5 s, no random delay, started now.
timer_fast() {
    # shellcheck disable=SC2016
    ct_sh "$1" '
        mkdir -p "${2%/*}"
        printf "[Timer]\nOnCalendar=\nOnCalendar=*:*:0/5\nRandomizedDelaySec=0\nAccuracySec=1s\n" >"$2"
        systemctl daemon-reload
        systemctl restart "$1"' sh "$TM_TIMER" "$TM_DROPIN"
}
# timer_shipped CT: the drop-in gone, the timer stopped (st_reset keeps it so).
timer_shipped() {
    # shellcheck disable=SC2016
    ct_sh "$1" 'systemctl stop "$1"; rm -rf "${2%/*}"; systemctl daemon-reload' sh "$TM_TIMER" "$TM_DROPIN"
}

# The handler's audit lines that the heal service itself logged (not a worker's scope).
audit_from_timer() {
    ct_exec "$1" journalctl -q --no-pager -o cat -t clamav-freshen _SYSTEMD_UNIT="$TM_SERVICE" --since "@$2"
}
# audit_unix CT SINCE: the audit trail with epoch timestamps ("1733097600.123456 ... msg").
audit_unix() {
    ct_exec "$1" journalctl -q --no-pager -o short-unix -t clamav-freshen --since "@$2"
}
# first_time AUDIT_UNIX REGEX [NTH]: epoch (integer) of the NTH line matching REGEX.
nth_time() {
    printf '%s\n' "$1" | grep -E -- "$2" | sed -n "${3:-1}p" | cut -d. -f1
}
nagios_stop() { ct_exec "$1" systemctl stop nagios4.service; }
nagios_start() { ct_exec "$1" systemctl start nagios4.service; }

t_timer_installed() {
    local ct=$1 out
    check "the timer unit is installed" ct_exec "$ct" test -f /usr/lib/systemd/system/$TM_TIMER
    check "the service unit is installed" ct_exec "$ct" test -f /usr/lib/systemd/system/$TM_SERVICE
    check "the cron stand-in is installed" ct_exec "$ct" test -f /etc/cron.d/clamav-freshen
    [[ $(ct_exec "$ct" systemctl is-enabled $TM_TIMER) = enabled ]] || fail "timer not enabled: $(ct_exec "$ct" systemctl is-enabled $TM_TIMER)"
    ct_exec "$ct" systemctl is-active --quiet $TM_TIMER || fail "timer not started by postinst"
    out=$(ct_exec "$ct" systemctl show -p NextElapseUSecRealtime --value $TM_TIMER)
    echo "next elapse: $out"
    out=$(date -d "$out" +%s) || fail "the timer has no next elapse"
    # every 30 minutes: the next run is within the next hour (half hour + fixed offset)
    ((out - $(date +%s) <= 3600)) || fail "next run more than an hour away: $out"
    ! ct_exec "$ct" systemctl is-active --quiet $TM_SERVICE || fail "postinst started the heal service itself"
    ct_exec "$ct" systemd-analyze verify --man=no /usr/lib/systemd/system/$TM_SERVICE /usr/lib/systemd/system/$TM_TIMER ||
        fail "systemd-analyze verify complains"
    out=$(ct_exec "$ct" /usr/sbin/clamav-freshen status) || true
    printf '%s\n' "$out"
    grep -qE "^heal timer: +$TM_TIMER enabled, active; next [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5} UTC \(in " <<<"$out" ||
        fail "status does not show the timer"
    # the cron stand-in does nothing under systemd
    out=$(ct_sh "$ct" "sed -n 's/^[*][/]30 [*] [*] [*] [*] root //p' /etc/cron.d/clamav-freshen")
    [[ -n $out ]] || fail "no */30 root entry in the cron file"
    ct_exec "$ct" sh -c "$out" || true
    ! ct_exec "$ct" pgrep -x clamav-freshen >/dev/null || fail "the cron entry ran heal under systemd"
}

t_timer_heals_alone() {
    local ct=$1 t_stale t_fixed audit unit_audit bad
    st_reset "$ct"
    set_handler_config "$ct"
    nagios_stop "$ct"
    # something for the sandboxed repair to fix: a root-owned database file (CAP_CHOWN)
    ct_exec "$ct" chown root:root /var/lib/clamav/main.cvd
    sleep 1
    t_stale=$(date +%s)
    ct_exec "$ct" systest publish 6
    timer_fast "$ct"
    wait_for 90 "the timer to repair the database" daily_is "$ct" 6 ||
        { audit_since "$ct" "$t_stale"; fail "daily still $(ct_exec "$ct" systest local-daily) after 90 s"; }
    t_fixed=$(date +%s)
    wait_for 60 "the worker to exit" worker_idle "$ct" || fail "worker still running"
    timer_shipped "$ct"
    st_report_line "timer $(ct_exec "$ct" cat /etc/systest-suite): database stale -> repaired by the timer alone in $((t_fixed - t_stale)) s (Nagios stopped; timer every 5 s for the test)"
    echo "stale at $t_stale, repaired at $t_fixed: $((t_fixed - t_stale)) s"
    audit=$(audit_since "$ct" "$t_stale")
    printf '%s\n' "$audit"
    audit_has_repair "$audit" updated || fail "audit trail incomplete"
    unit_audit=$(audit_from_timer "$ct" "$t_stale")
    grep -qE 'event=invoke caller=uid:0 .*arg1=heal' <<<"$unit_audit" || fail "no heal run by the timer's service (root, no sudo)"
    grep -qE 'event=decision action=repair reason="check (WARNING|CRITICAL)" failures=0 next_allowed=' <<<"$unit_audit" ||
        fail "the timer's heal did not decide the repair"
    [[ -z $(ct_exec "$ct" journalctl -q --no-pager -o cat -t sudo --since "@$t_stale") ]] || fail "sudo was involved"
    grep -qE 'event=chown' <<<"$audit" || fail "the root-owned file was not chowned (audit)"
    bad=$(ct_exec "$ct" find /var/lib/clamav ! -user clamav)
    [[ -z $bad ]] || fail "not owned by clamav after the repair: $bad"
    [[ $(ct_exec "$ct" systemctl show -p Result --value $TM_SERVICE) = success ]] || fail "the heal service did not end in success"
    check "daemon active" daemon_active "$ct"
    st_outcome "repaired in $((t_fixed - t_stale)) s"
    nagios_start "$ct"
}

t_timer_backoff() {
    local ct=$1 t0 audit au e1 s2 e2 s3 na1 na2 n out
    st_reset "$ct"
    # a short rate limit so that two backoff steps fit in a test: 20 s, then 40 s
    set_handler_config "$ct" "rate_limit_secs = 20" "backoff_max_secs = 300"
    nagios_stop "$ct"
    ct_exec "$ct" systemctl stop systest-mirror.service
    sleep 1; t0=$(date +%s)
    ct_exec "$ct" systest publish 6
    timer_fast "$ct"
    # two failed repairs (the second one the backoff's first doubling later)...
    wait_for 120 "the second failed repair" tm_repairs_ended "$ct" "$t0" 2 ||
        { audit_since "$ct" "$t0"; fail "no second repair"; }
    out=$(ct_exec "$ct" /usr/sbin/clamav-freshen status) || true
    printf '%s\n' "$out" | grep -E '^(last repair|failures|next repair):'
    grep -qE '^failures: +2 consecutive, last: failed' <<<"$out" || fail "status does not show 2 consecutive failures"
    grep -qE '^next repair: +allowed from .* \(backoff after 2 failures' <<<"$out" || fail "status does not show the backoff"
    # ...then the mirror returns: the next allowed timer run repairs, no monitor involved
    ct_exec "$ct" systemctl start systest-mirror.service
    wait_for 120 "the repair after the backoff" daily_is "$ct" 6 || { audit_since "$ct" "$t0"; fail "not repaired after the mirror returned"; }
    wait_for 60 "the worker to exit" worker_idle "$ct" || true
    timer_shipped "$ct"
    audit=$(audit_since "$ct" "$t0")
    printf '%s\n' "$audit" | grep -E 'event=(decision|state|repair-start|repair-end)'
    au=$(audit_unix "$ct" "$t0")
    n=$(grep -c 'event=repair-start' <<<"$audit" || true)
    [[ $n = 3 ]] || fail "$n repairs (want 3: failed, failed, updated)"
    grep -qE 'event=state result=saved failures=1 next_allowed=' <<<"$audit" || fail "first failure not recorded"
    grep -qE 'event=state result=saved failures=2 next_allowed=' <<<"$audit" || fail "second failure not recorded"
    grep -qE 'event=decision action=skip reason="rate limit: .*\(backoff after 2 consecutive failures: 40s\)" failures=2 next_allowed=' <<<"$audit" ||
        fail "the backoff is not audited at a decision"
    grep -qE 'event=state result=saved failures=0 ' <<<"$audit" || fail "the success did not reset the failures"
    e1=$(nth_time "$au" 'event=repair-end' 1); s2=$(nth_time "$au" 'event=repair-start' 2)
    e2=$(nth_time "$au" 'event=repair-end' 2); s3=$(nth_time "$au" 'event=repair-start' 3)
    # the next allowed times the worker recorded (whole seconds: the end it counts from may
    # be up to 1 s before the audit line's time)
    na1=$(tm_next_allowed "$audit" 1); na2=$(tm_next_allowed "$audit" 2)
    echo "repair 1 ended $e1 (next allowed $na1), repair 2 started $s2 (+$((s2 - e1)) s); ended $e2 (next allowed $na2), repair 3 started $s3 (+$((s3 - e2)) s)"
    ((na1 - e1 == 20 || na1 - e1 == 19)) || fail "first failure: next allowed $((na1 - e1)) s after its end (rate limit 20 s)"
    ((na2 - e2 == 40 || na2 - e2 == 39)) || fail "second failure: next allowed $((na2 - e2)) s after its end (backoff 40 s)"
    ((s2 >= na1)) || fail "second repair at $s2, before its next allowed time $na1"
    ((s3 >= na2)) || fail "third repair at $s3, before its next allowed time $na2"
    # every repair came from the timer's heal: no monitor event
    [[ $(audit_from_timer "$ct" "$t0" | grep -c 'event=decision action=repair') = 3 ]] || fail "not every repair was decided by the timer's heal"
    ! grep -q 'arg1=handle' <<<"$audit" || fail "a monitor event was involved"
    st_outcome "gaps $((s2 - e1)) s, $((s3 - e2)) s"
    check "daemon active" daemon_active "$ct"
    restore_handler_config "$ct"
    nagios_start "$ct"
}

# tm_next_allowed AUDIT N: epoch of next_allowed= in the state saved with failures=N.
tm_next_allowed() {
    date -d "$(printf '%s\n' "$1" | sed -nE "s/.*event=state result=saved failures=$2 next_allowed=([^ ]+).*/\1/p" | head -n 1)" +%s
}

# tm_repairs_ended CT SINCE N: at least N repair-end lines since SINCE, no worker running.
tm_repairs_ended() {
    [[ $(audit_since "$1" "$2" | grep -c 'event=repair-end' || true) -ge $3 ]] && worker_idle "$1"
}

t_timer_recovers_killed_worker() {
    local ct=$1 t0 w t1 cg ns1 nsw st
    st_reset "$ct"
    set_handler_config "$ct" "freshclam_timeout_secs = 60"
    nagios_stop "$ct"
    ct_exec "$ct" systest mirror-mode hang
    sleep 1; t0=$(date +%s)
    ct_exec "$ct" systest publish 6
    timer_fast "$ct"
    wait_for 60 "freshclam run by the timer's worker" ct_sh "$ct" '
        ! systemctl is-active --quiet clamav-freshclam.service && pgrep -x freshclam' ||
        { audit_since "$ct" "$t0"; fail "no repair started by the timer"; }
    # heal returns after heal_wait_secs; the oneshot service ends; the worker lives on in
    # its own scope, and carries the service's sandbox
    ct_exec "$ct" systemctl stop $TM_TIMER
    wait_for 30 "the heal service to finish" ct_sh "$ct" "! systemctl is-active --quiet $TM_SERVICE" || fail "heal service still active"
    w=$(ct_exec "$ct" pgrep -f '^/usr/sbin/clamav-freshen worker --by timer$' | head -n 1)
    [[ -n $w ]] || fail "no worker process after heal returned"
    ct_exec "$ct" test -e "/proc/$w" || fail "the worker died with the heal service"
    cg=$(ct_exec "$ct" cat "/proc/$w/cgroup")
    echo "worker $w cgroup: $cg"
    grep -q 'clamav-freshen-repair-.*\.scope' <<<"$cg" || fail "the worker is not in its own scope"
    st=$(ct_exec "$ct" grep -E '^(NoNewPrivs|CapBnd):' "/proc/$w/status" | tr -s '\t ' ' ' | tr '\n' ' ')
    echo "worker: $st"
    [[ $st == *"NoNewPrivs: 1"* ]] || fail "worker without NoNewPrivileges"
    [[ $st == *"CapBnd: 00000000000000e3"* ]] || fail "worker capability bounding set is not chown,dac_override,kill,setgid,setuid"
    ns1=$(ct_exec "$ct" readlink /proc/1/ns/mnt); nsw=$(ct_exec "$ct" readlink "/proc/$w/ns/mnt")
    [[ $ns1 != "$nsw" ]] || fail "the worker is not in the sandbox's mount namespace"
    # (the timer is stopped and no heal runs: the recovery must come from the next run)
    ct_exec "$ct" /bin/kill -KILL "$w"
    wait_for 20 "the worker gone" ct_sh "$ct" "! test -e /proc/$w" || fail "worker survived SIGKILL"
    ct_exec "$ct" systest mirror-mode ok
    ct_exec "$ct" systemctl restart systest-mirror.service
    wait_for 30 "the orphaned freshclam gone" ct_sh "$ct" '! pgrep -x freshclam' || echo "(a freshclam still runs)"
    ! daemon_active "$ct" || fail "daemon already active: nothing to recover"
    sleep 1; t1=$(date +%s)
    ct_exec "$ct" systemctl start $TM_TIMER
    wait_for 40 "the timer to start the daemon again" daemon_active "$ct" ||
        { audit_since "$ct" "$t0"; fail "the daemon left stopped was not restarted by the timer"; }
    audit_from_timer "$ct" "$t1" | grep -E 'event=recover' || fail "the recovery is not audited by the timer's heal"
    # and the database, still stale, is repaired by the same or the next run
    wait_for 90 "the database repaired" daily_is "$ct" 6 || fail "not repaired after the recovery"
    wait_for 60 "the worker to exit" worker_idle "$ct" || true
    timer_shipped "$ct"
    check "daemon active" daemon_active "$ct"
    st_outcome "recovered by the next timer run"
    restore_handler_config "$ct"
    nagios_start "$ct"
}

t_timer_purge() {
    local ct=$1 deb=$2 out left p
    # the test's drop-in is an admin's file: purge would rightly keep it
    timer_shipped "$ct"
    st_reset "$ct"
    out=$(T=300 ct_exec "$ct" apt-get remove -y clamav-freshen 2>&1) || { printf '%s\n' "$out" | tail; fail "apt-get remove failed"; }
    ! ct_exec "$ct" systemctl is-active --quiet $TM_TIMER || fail "timer still active after remove"
    ! ct_exec "$ct" test -e /usr/lib/systemd/system/$TM_TIMER || fail "timer unit still there after remove"
    out=$(T=300 ct_exec "$ct" apt-get purge -y clamav-freshen 2>&1) || { printf '%s\n' "$out" | tail; fail "apt-get purge failed"; }
    left=""
    for p in /usr/lib/systemd/system/$TM_TIMER /usr/lib/systemd/system/$TM_SERVICE \
             /etc/systemd/system/$TM_TIMER /etc/systemd/system/timers.target.wants/$TM_TIMER \
             /var/lib/systemd/deb-systemd-helper-enabled/$TM_TIMER.dsh-also \
             /var/lib/systemd/deb-systemd-helper-enabled/timers.target.wants/$TM_TIMER \
             /var/lib/systemd/deb-systemd-helper-masked/$TM_TIMER \
             /var/lib/systemd/timers/stamp-$TM_TIMER /etc/cron.d/clamav-freshen; do
        if ct_exec "$ct" test -e "$p" -o -L "$p"; then left="$left $p"; fi
    done
    [[ -z $left ]] || fail "left after purge:$left"
    left=$(ct_exec "$ct" find /etc /usr/lib/systemd /lib/systemd /var/lib/systemd /run/systemd -name '*clamav-freshen-heal*' 2>/dev/null) || true
    [[ -z $left ]] || fail "left after purge: $left"
    [[ $(ct_exec "$ct" systemctl show -p LoadState --value $TM_TIMER) = not-found ]] || fail "systemd still knows the timer"
    # reinstalled where policy-rc.d forbids starting services: enabled, not started
    ct_exec "$ct" sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d'
    out=$(pkg_install "$ct" "$deb") || { ct_exec "$ct" rm -f /usr/sbin/policy-rc.d; printf '%s\n' "$out" | tail -n 30; fail "reinstall failed"; }
    ct_exec "$ct" rm -f /usr/sbin/policy-rc.d
    [[ $(ct_exec "$ct" systemctl is-enabled $TM_TIMER) = enabled ]] || fail "timer not enabled after reinstall"
    ! ct_exec "$ct" systemctl is-active --quiet $TM_TIMER || fail "timer started although policy-rc.d forbids it"
    # back as the package leaves it for the groups after this one
    ct_exec "$ct" systemctl start $TM_TIMER
}

group_timer() {
    local rel=$1 ct=$2
    if ! ct_exec "$ct" dpkg-query -W clamav-freshen >/dev/null 2>&1; then
        pkg_install "$ct" "$ST_DEB_BASE" >/dev/null || { echo "not ok - $rel: timer: install the package"; ST_FAILED=$((ST_FAILED + 1)); return 0; }
    fi
    st_test "$rel" "$ct" "timer: installed, enabled and started by the package; status shows it; cron entry idle" t_timer_installed
    st_test "$rel" "$ct" "timer: Nagios stopped, a stale database is repaired by the timer alone (sandboxed service)" t_timer_heals_alone
    st_test "$rel" "$ct" "timer: mirror unreachable, two failed repairs backing off, mirror back, the next allowed run repairs" t_timer_backoff
    st_test "$rel" "$ct" "timer: worker in its own scope outlives heal; SIGKILLed, its daemon is restarted by the next run" t_timer_recovers_killed_worker
    st_test "$rel" "$ct" "timer: remove stops it, purge leaves no unit, link, state, stamp or cron file; reinstall under a forbidding policy-rc.d enables it, does not start it" t_timer_purge "$ST_DEB_BASE"
    # never leave the fast timer or a stopped Nagios behind (e.g. after a failure)
    timer_shipped "$ct" >/dev/null 2>&1 || true
    nagios_start "$ct" >/dev/null 2>&1 || true
    restore_handler_config "$ct" >/dev/null 2>&1 || true
}
