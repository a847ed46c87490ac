# shellcheck shell=bash
# shellcheck disable=SC2016  # the scripts run inside the container are single-quoted
# Issue 12: the real cause, named, and never worse. Each cause is produced for real with
# the real freshclam; the test asserts the cause in the audit (repair-end outcome), in
# `status` and in the check's text (the last-repair note), and that the freshclam daemon
# that ran before the repair runs after it (the same process where the repair was refused
# before touching it). Runs in the shared container after the fault matrix, with the fault
# tests' helpers and Nagios's own checks and event handler for the service off.

d_daemon_pid() { ct_exec "$1" systemctl show -p MainPID --value clamav-freshclam.service; }

# d_named CT SINCE PATTERN: the cause PATTERN (ERE) in the audit's outcome, in `status`
# and in the check's text as nagios.
d_named() {
    local ct=$1 t0=$2 pat=$3 outcome out
    outcome=$(outcome_of "$ct" "$t0")
    st_outcome "$outcome"
    echo "outcome: $outcome"
    grep -qE -- "$pat" <<<"$outcome" || fail "the outcome does not name the cause /$pat/: $outcome"
    out=$(ct_exec "$ct" clamav-freshen status) || true
    printf '%s\n' "$out" | sed 's/^/    status: /'
    grep -E '^last repair:' <<<"$out" | grep -qE -- "$pat" || fail "status does not name the cause"
    grep -qE '^advice: +[a-z]' <<<"$out" || fail "status gives no advice for the cause"
    out=$(ct_exec "$ct" runuser -u nagios -- /usr/lib/nagios/plugins/check_clamav_freshness) || true
    echo "check: $out"
    grep -qE -- "last repair .* ago: .*$pat" <<<"$out" || fail "the check's text does not name the cause"
}

# d_untouched CT PID SINCE: the daemon running before is the same process, and was never
# stopped by the repair.
d_untouched() {
    local ct=$1 pid=$2 t0=$3
    daemon_active "$ct" || fail "the daemon is not running after the repair"
    [[ $(d_daemon_pid "$ct") = "$pid" ]] || fail "the daemon was restarted (pid $pid -> $(d_daemon_pid "$ct"))"
    ! audit_has "$ct" "$t0" 'event=daemon-stop' || fail "the repair stopped the daemon"
}

# The database filesystem is full: a 16 MiB tmpfs over /var/lib/clamav holding the
# databases and a filler. Refused before the daemon is touched.
d_full_fs() {
    local ct=$1 t0 pid
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_sh "$ct" '
        set -e
        mkdir -p /run/d-save && cp -a /var/lib/clamav/. /run/d-save/
        mount -t tmpfs -o size=16m,mode=0755 d-full /var/lib/clamav
        cp -a /run/d-save/. /var/lib/clamav/ && chown clamav:clamav /var/lib/clamav
        dd if=/dev/zero of=/var/lib/clamav/filler bs=1M count=64 2>/dev/null || true
        df -k /var/lib/clamav | tail -n 1'
    pid=$(d_daemon_pid "$ct")
    ct_exec "$ct" systest publish 6
    repair_by_handle "$ct" "$t0" 120
    d_named "$ct" "$t0" 'database filesystem full: [0-9]+ KiB free on /var/lib/clamav'
    d_untouched "$ct" "$pid" "$t0"
    ct_sh "$ct" 'umount /var/lib/clamav && rm -rf /run/d-save'
    fault_end "$ct"
}

# A typo in freshclam.conf while the daemon runs: freshclam's own parser refuses it, the
# repair stops before the daemon, which keeps running with the configuration it read.
d_conf_typo() {
    local ct=$1 t0 pid
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_sh "$ct" 'cp -p /etc/clamav/freshclam.conf /run/d-freshclam.conf && echo "DatabaseMirorr db.local.clamav.net" >>/etc/clamav/freshclam.conf'
    pid=$(d_daemon_pid "$ct")
    ct_exec "$ct" systest publish 6
    repair_by_handle "$ct" "$t0" 120
    d_named "$ct" "$t0" 'refused: freshclam.conf error at /etc/clamav/freshclam.conf:[0-9]+'
    d_untouched "$ct" "$pid" "$t0"
    ct_sh "$ct" 'cp -p /run/d-freshclam.conf /etc/clamav/freshclam.conf && rm -f /run/d-freshclam.conf'
    fault_end "$ct"
}

# freshclam's log is root's and not writable by clamav: refused, the daemon untouched.
d_log_unwritable() {
    local ct=$1 t0 pid
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_sh "$ct" 'touch /var/log/clamav/freshclam.log && chown root:root /var/log/clamav/freshclam.log && chmod 0644 /var/log/clamav/freshclam.log'
    pid=$(d_daemon_pid "$ct")
    ct_exec "$ct" systest publish 6
    repair_by_handle "$ct" "$t0" 120
    d_named "$ct" "$t0" 'refused: permission denied: the log file /var/log/clamav/freshclam.log is not writable'
    d_untouched "$ct" "$pid" "$t0"
    ct_sh "$ct" 'chown clamav:adm /var/log/clamav/freshclam.log && chmod 0640 /var/log/clamav/freshclam.log'
    fault_end "$ct"
}

# The mirror serves an older daily (4) than DNS advertises (6): freshclam says the mirror
# is not synchronized; the outcome says so, and the daemon runs afterwards.
d_mirror_behind() {
    local ct=$1 t0
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_exec "$ct" systest publish 6
    ct_sh "$ct" 'cp /usr/local/share/systest/testdb/test-4.cvd /srv/systest/mirror/daily.cvd'
    repair_by_handle "$ct" "$t0" 180
    audit_since "$ct" "$t0" | grep -iE 'synchroni|older' | head -n 5 || true
    d_named "$ct" "$t0" 'mirror out of sync'
    check "the daemon runs after the repair" daemon_active "$ct"
    fault_end "$ct"
}

# A TXT record 13 hours old (freshclam's limit is 12): not the published version. The check
# names it and asks freshclam.conf's DatabaseMirror instead (issue 15): behind the mirror's
# daily 6, CRITICAL; `heal`'s audited check line and `status` carry the reason, and the
# daemon runs after whatever heal did.
d_stale_txt() {
    local ct=$1 t0 out rc=0
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_exec "$ct" systest publish 6
    ct_exec "$ct" systest txt 90 46800
    out=$(ct_exec "$ct" runuser -u nagios -- /usr/lib/nagios/plugins/check_clamav_freshness) || rc=$?
    echo "check: $out"
    ((rc == 2)) || fail "check exit $rc with a stale TXT record and the mirror at 6, want 2"
    grep -q "behind published 6 (the DNS record is stale; published by mirror http://127.0.0.1:8001: daily 6)" <<<"$out" ||
        fail "the check does not name the stale record and the mirror it asked instead"
    ct_exec "$ct" grep -E 'GET /daily.cvd .*206|GET /daily.cvd' /var/log/systest-mirror.log | tail -n 2 || true
    out=$(ct_exec "$ct" runuser -u nagios -- sudo -n /usr/sbin/clamav-freshen heal) || true
    echo "heal: $out"
    audit_has "$ct" "$t0" 'event=check state=(UNKNOWN|CRITICAL) .*is stale' ||
        fail "the audit's check line does not name the stale record"
    if audit_has "$ct" "$t0" 'event=spawn result=ok'; then
        wait_repair "$ct" "$t0" 120 || fail "the repair heal started did not end"
    fi
    show_audit "$ct" "$t0"
    out=$(ct_exec "$ct" clamav-freshen status) || true
    grep -E '^check:' <<<"$out" | grep -q 'is stale' || fail "status does not name the stale record"
    check "the daemon runs" daemon_active "$ct"
    st_outcome "check names the stale TXT record"
    ct_exec "$ct" systest txt 90 0
    fault_end "$ct"
}

group_diagnosis() {
    local rel=$1 ct=$2
    nagios_own_checks "$ct" off || true
    fault_test "$rel" "$ct" "cause: database filesystem full" d_full_fs
    fault_test "$rel" "$ct" "cause: typo in freshclam.conf, daemon running" d_conf_typo
    fault_test "$rel" "$ct" "cause: freshclam's log not writable by clamav" d_log_unwritable
    fault_test "$rel" "$ct" "cause: mirror serves an older daily than DNS advertises" d_mirror_behind
    fault_test "$rel" "$ct" "cause: DNS TXT record older than freshclam's limit" d_stale_txt
    st_reset "$ct" >/dev/null 2>&1 || true
    restore_handler_config "$ct" || true
    nagios_own_checks "$ct" on || true
}
