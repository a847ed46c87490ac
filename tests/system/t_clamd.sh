# shellcheck shell=bash
# shellcheck disable=SC2016  # the scripts run inside the container are single-quoted
# Issue 13: what the scanner uses. A fresh container with the real clamav-daemon
# (installed offline from the debs the prepared image carries), loading the signed test
# databases: the check compares clamd's loaded daily with the files; the handler makes a
# lagging clamd reload, alone when only clamd lags, after freshclam otherwise; a stopped
# clamd is CRITICAL and named by `status`. Nagios's own checks and event handler for the
# service are off: only the test triggers repairs.

C_PLUGIN=/usr/lib/nagios/plugins/check_clamav_freshness

c_check() {  # c_check CT: the check as nagios; prints its output, returns its exit code
    ct_exec "$1" runuser -u nagios -- "$C_PLUGIN"
}
c_clamd_daily() {  # clamd's loaded daily, from its VERSION reply
    ct_exec "$1" systest clamd-version 2>/dev/null | cut -d/ -f2
}
c_clamd_has() { [[ $(c_clamd_daily "$1") = "$2" ]]; }
c_freshclam_pid() { ct_exec "$1" systemctl show -p MainPID --value clamav-freshclam.service; }

t_c_setup() {
    local ct=$1 out
    out=$(pkg_install "$ct" "$ST_DEB_BASE") || { printf '%s\n' "$out" | tail -n 30; fail "install failed"; }
    ct_exec "$ct" sh -c 'ls /opt/systest-debs/*.deb' >/dev/null ||
        skip "the prepared image carries no clamav-daemon debs"
    out=$(T=300 ct_sh "$ct" 'dpkg -i /opt/systest-debs/*.deb 2>&1') ||
        { printf '%s\n' "$out" | tail -n 30; fail "dpkg -i clamav-daemon failed"; }
    nagios_own_checks "$ct" off
    st_reset "$ct"
    ct_exec "$ct" grep -E '^(LocalSocket|SelfCheck|User) ' /etc/clamav/clamd.conf
    ct_exec "$ct" systemctl restart clamav-daemon.service
    wait_for 90 "clamd to load daily 3" c_clamd_has "$ct" 3 ||
        fail "clamd does not answer with daily 3: $(ct_exec "$ct" systest clamd-version 2>&1)"
    ct_exec "$ct" systest clamd-version
}

# The check reads clamd's loaded version next to the files'.
t_c_check_both() {
    local ct=$1 out rc=0
    out=$(c_check "$ct") || rc=$?
    echo "$out"
    ((rc == 0)) || fail "check exit $rc, want 0 (files 3, clamd 3)"
    [[ $out == *clamd_daily=3* ]] || fail "no clamd_daily=3 in the perfdata"
    [[ $out == *daily=3* ]] || fail "no daily=3 in the perfdata"
}

# Files updated behind clamd's back (hours ago, longer than its SelfCheck grace): the
# check says so; `heal` (NRPE's and the timer's trigger) makes clamd reload and leaves
# freshclam and its daemon alone.
t_c_lag_only() {
    local ct=$1 out rc=0 t0 pid audit
    ct_sh "$ct" '
        install -m 0644 -o clamav -g clamav /usr/local/share/systest/testdb/test-4.cvd /var/lib/clamav/daily.cvd
        touch -d "-3 hours" /var/lib/clamav/daily.cvd'
    ct_exec "$ct" systest publish 4
    c_clamd_has "$ct" 3 || fail "clamd reloaded by itself: $(c_clamd_daily "$ct")"
    out=$(c_check "$ct") || rc=$?
    echo "check: $out"
    ((rc == 1 || rc == 2)) || fail "check exit $rc with clamd behind the files, want WARNING or CRITICAL"
    [[ $out == *clamd_daily=3* ]] || fail "no clamd_daily=3 in the perfdata"
    pid=$(c_freshclam_pid "$ct")
    t0=$(date +%s)
    out=$(ct_exec "$ct" runuser -u nagios -- sudo -n /usr/sbin/clamav-freshen heal) || true
    echo "heal: $out"
    wait_for 60 "the repair to end" worker_idle "$ct" || fail "the repair still runs"
    wait_for 30 "clamd to report daily 4" c_clamd_has "$ct" 4 || fail "clamd still at daily $(c_clamd_daily "$ct")"
    audit=$(audit_since "$ct" "$t0")
    printf '%s\n' "$audit" | grep -E 'event=(repair-|clamd|daemon-|freshclam )'
    printf '%s\n' "$audit" | grep -qE 'event=repair-start mode="?clamd-only' || fail "not a clamd-only repair"
    printf '%s\n' "$audit" | grep -qE 'event=clamd result=reloaded .*loaded_before=3 loaded_after=4' ||
        fail "no audit line clamd result=reloaded 3 -> 4"
    printf '%s\n' "$audit" | grep -qE 'event=repair-end outcome="?reloaded' || fail "outcome not reloaded"
    ! printf '%s\n' "$audit" | grep -qE 'event=(daemon-stop|freshclam) ' || fail "freshclam or its daemon was touched"
    [[ $(c_freshclam_pid "$ct") = "$pid" ]] || fail "the freshclam daemon was restarted"
    rc=0; out=$(c_check "$ct") || rc=$?
    echo "check after: $out"
    ((rc == 0)) || fail "check exit $rc after the reload, want 0"
    [[ $out == *clamd_daily=4* ]] || fail "no clamd_daily=4 after the reload"
    out=$(ct_exec "$ct" clamav-freshen status) || true
    printf '%s\n' "$out"
    grep -qE '^clamd: .*loaded daily 4' <<<"$out" || fail "status does not show clamd at daily 4"
    grep -qE '^last reload: +reloaded daily 3 -> 4' <<<"$out" || fail "status does not show the last reload"
}

# A repair that updated the files, with freshclam not notifying clamd: the handler makes
# clamd load them.
t_c_after_update() {
    local ct=$1 out t0 audit rc=0
    ct_sh "$ct" 'sed -i "/^NotifyClamd/d" /etc/clamav/freshclam.conf'
    ct_exec "$ct" systest publish 5
    t0=$(date +%s)
    out=$(ct_exec "$ct" clamav-freshen repair --wait) || fail "repair --wait failed: $out"
    printf '%s\n' "$out"
    grep -q 'updated (daily 4 -> 5' <<<"$out" || fail "the files were not updated to daily 5"
    grep -q 'clamd reloaded daily 4 -> 5' <<<"$out" || fail "repair --wait does not say clamd reloaded"
    audit=$(audit_since "$ct" "$t0")
    printf '%s\n' "$audit" | grep -qE 'event=clamd result=reloaded .*files_daily=5 loaded_before=4 loaded_after=5' ||
        fail "no audit line clamd result=reloaded 4 -> 5"
    c_clamd_has "$ct" 5 || fail "clamd at daily $(c_clamd_daily "$ct")"
    out=$(c_check "$ct") || rc=$?
    ((rc == 0)) || fail "check exit $rc after the repair: $out"
    check "the freshclam daemon runs" daemon_active "$ct"
}

# clamd stopped: mail is not scanned. CRITICAL, and `status` names it.
t_c_stopped() {
    local ct=$1 out rc=0
    ct_exec "$ct" systemctl stop clamav-daemon.socket clamav-daemon.service 2>/dev/null ||
        ct_exec "$ct" systemctl stop clamav-daemon.service
    out=$(c_check "$ct") || rc=$?
    echo "check: $out"
    ((rc == 2)) || fail "check exit $rc with clamd stopped, want 2"
    grep -qi 'clamd' <<<"$out" || fail "the check does not name clamd"
    rc=0; out=$(ct_exec "$ct" clamav-freshen status) || rc=$?
    printf '%s\n' "$out"
    ((rc == 1)) || fail "status exit $rc with clamd stopped, want 1 (not healthy)"
    grep -qE '^clamd: .*NOT answering' <<<"$out" || fail "status does not say clamd is not answering"
    ct_exec "$ct" systemctl start clamav-daemon.service
    wait_for 90 "clamd to answer again" c_clamd_has "$ct" 5 || fail "clamd did not come back"
}

# The published databases need a functionality level the engine lacks (TXT field 5 above
# what clamd's release has): a CRITICAL of its own, naming the upgrade, since no repair can
# fix it.
t_c_old_engine() {
    local ct=$1 out rc=0
    ct_exec "$ct" systest txt 999 0
    out=$(c_check "$ct") || rc=$?
    echo "check: $out"
    ct_exec "$ct" systest txt 90 0
    ((rc == 2)) || fail "check exit $rc with f-level 999 published, want 2"
    grep -q 'can no longer use the published signatures: they need functionality level 999' <<<"$out" ||
        fail "the check does not name the outdated engine"
    grep -q 'upgrade ClamAV' <<<"$out" || fail "no advice to upgrade"
}

group_clamd() {
    local rel=$1 deb=$2 ct=cfs-$1-clamd
    boot_container "$rel" "$ct" "$deb" || return 0
    st_test "$rel" "$ct" "clamd: setup (clamav-daemon installed offline, clamd loads daily 3)" t_c_setup
    if [[ ${ST_RESULTS[-1]} == *"|pass"* ]]; then
        st_test "$rel" "$ct" "clamd: the check reads what clamd loaded beside the files" t_c_check_both
        st_test "$rel" "$ct" "clamd: files updated behind clamd's back -> check not OK; heal reloads clamd only -> OK" t_c_lag_only
        st_test "$rel" "$ct" "clamd: a repair that updated the files makes clamd load them (no NotifyClamd)" t_c_after_update
        st_test "$rel" "$ct" "clamd: published f-level above the engine's -> check CRITICAL: upgrade ClamAV" t_c_old_engine
        st_test "$rel" "$ct" "clamd: clamd stopped -> check CRITICAL, status names it" t_c_stopped
    fi
    ct_destroy "$ct"
}
