# shellcheck shell=bash
# shellcheck disable=SC2016  # the scripts run inside the container are single-quoted
# Issue 15: a site's own mirror is the truth. The filter's freshclam.conf names the rig's
# mirror as PrivateMirror with DNSDatabaseInfo no; the check asks that mirror for the first
# 512 bytes of its daily (Range), the real freshclam repairs from it, and a mirror that lags
# ClamAV's DNS is named as such, with no repair. Runs in the shared container after the
# diagnosis group, with its helpers, Nagios's own checks off.

# m_private CT: freshclam.conf with the rig's mirror as PrivateMirror and no DNS (the old
# file kept where `systest reset` restores it from after a failure).
m_private() {
    ct_sh "$1" '
        cp -p /etc/clamav/freshclam.conf /run/d-freshclam.conf
        sed -i -e "/^DatabaseMirror /d" -e "s/^DNSDatabaseInfo .*/DNSDatabaseInfo no/" /etc/clamav/freshclam.conf
        echo "PrivateMirror http://127.0.0.1:8001" >>/etc/clamav/freshclam.conf'
}
m_restore() {
    ct_sh "$1" 'cp -p /run/d-freshclam.conf /etc/clamav/freshclam.conf && rm -f /run/d-freshclam.conf
        systemctl start systest-dns.service'
}
m_check() { ct_exec "$1" runuser -u nagios -- /usr/lib/nagios/plugins/check_clamav_freshness "${@:2}"; }

# No DNS at all: the mirror publishes daily 6, the check (as nagios) sees the filter behind
# it, `heal` repairs from the mirror, the check is OK again.
m_private_no_dns() {
    local ct=$1 t0 out rc=0 t1
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    m_private "$ct"
    ct_exec "$ct" systest publish 6
    ct_exec "$ct" systemctl stop systest-dns.service
    out=$(m_check "$ct") || rc=$?
    echo "check: $out"
    ((rc == 2)) || fail "check exit $rc behind the mirror's daily 6, want 2"
    grep -q "behind published 6 (published by mirror http://127.0.0.1:8001: daily 6)" <<<"$out" ||
        fail "the check does not name the mirror's daily"
    ct_exec "$ct" tail -n 4 /var/log/systest-mirror.log
    ct_exec "$ct" grep -qE 'GET /daily.cvd 206' /var/log/systest-mirror.log ||
        fail "the check did not ask daily.cvd with a Range (206)"
    t1=$(date +%s.%N)
    out=$(ct_exec "$ct" runuser -u nagios -- sudo -n /usr/sbin/clamav-freshen heal) || true
    echo "heal: $out"
    wait_repair "$ct" "$t0" 120 || { show_audit "$ct" "$t0"; fail "no repair end"; }
    show_audit "$ct" "$t0"
    out=$(outcome_of "$ct" "$t0")
    st_outcome "$out"
    [[ $out == updated* ]] || fail "repair outcome '$out', want updated"
    [[ $(ct_exec "$ct" systest local-daily) == 6 ]] || fail "the filter's daily is not the mirror's 6"
    rc=0; out=$(m_check "$ct") || rc=$?
    echo "check: $out"
    ((rc == 0)) || fail "check exit $rc after the repair, want 0"
    grep -q "daily 6 is current (published by mirror http://127.0.0.1:8001: daily 6)" <<<"$out" ||
        fail "the check does not say current with the mirror"
    echo "# stale -> OK through the mirror in $(st_since "$t1") s"
    check "the daemon runs" daemon_active "$ct"
    m_restore "$ct"
    fault_end "$ct"
}

# The mirror at daily 3 (the filter's), ClamAV's DNS at 6: with --compare-dns the check is
# WARNING naming the mirror (--max-age past the signed test databases' age: they were built
# years ago, and a lagging mirror past --max-age is CRITICAL); with check_compare_dns the handler starts no repair for
# handle or heal (audited as mirror-lag), however often asked; the daemon is left alone.
m_mirror_lag() {
    local ct=$1 t0 out rc=0 pid n
    t0=$(fault_begin "$ct" "${F_CONF[@]}" "check_compare_dns = true")
    m_private "$ct"
    ct_sh "$ct" 'echo 6 >/etc/systest/daily && systemctl restart systest-dns.service'
    pid=$(d_daemon_pid "$ct")
    out=$(m_check "$ct" --compare-dns --max-age 87600) || rc=$?
    echo "check: $out"
    ((rc == 1)) || fail "check exit $rc with the mirror 3 behind DNS, want 1"
    grep -q "daily 3 is current (published by mirror http://127.0.0.1:8001: daily 3).*the mirror lags the published daily by 3 (DNS says 6): repair the mirror" <<<"$out" ||
        fail "the check does not name the lagging mirror"
    grep -q "mirror_lag=3;" <<<"$out" || fail "no mirror_lag perfdata"
    rc=0; out=$(m_check "$ct" --compare-dns) || rc=$?
    if ((rc != 2)) || ! grep -q "repair the mirror; over the 48h limit" <<<"$out"; then
        fail "past --max-age a lagging mirror is CRITICAL: exit $rc ($out)"
    fi
    rc=0; out=$(m_check "$ct") || rc=$?
    ((rc == 0)) || fail "without --compare-dns the filter is current with its mirror: exit $rc ($out)"
    handle "$ct" WARNING HARD 3 || fail "handle exited $?"
    out=$(ct_exec "$ct" runuser -u nagios -- sudo -n /usr/sbin/clamav-freshen heal) || true
    echo "heal: $out"
    grep -q "no repair: mirror-lag" <<<"$out" || fail "heal does not say why it did not repair"
    handle "$ct" WARNING HARD 3 || fail "handle exited $?"
    sleep 2
    show_audit "$ct" "$t0"
    n=$(audit_count "$ct" "$t0" 'event=decision action=skip reason="mirror-lag: ')
    ((n == 3)) || fail "$n mirror-lag decisions audited, want 3"
    ! audit_has "$ct" "$t0" 'event=repair-start' || fail "a repair started for the mirror's lag"
    d_untouched "$ct" "$pid" "$t0"
    st_outcome "no repair: mirror-lag (3 decisions)"
    m_restore "$ct"
    fault_end "$ct"
}

group_mirror() {
    local rel=$1 ct=$2
    nagios_own_checks "$ct" off || true
    fault_test "$rel" "$ct" "mirror: PrivateMirror without DNS, repaired from the mirror" m_private_no_dns
    fault_test "$rel" "$ct" "mirror: a mirror lagging DNS, no repair" m_mirror_lag
    st_reset "$ct" >/dev/null 2>&1 || true
    restore_handler_config "$ct" || true
    nagios_own_checks "$ct" on || true
}
