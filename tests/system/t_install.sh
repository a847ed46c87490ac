# shellcheck shell=bash
# Issue 5, test 1: install on a stock system.

t_install() {
    local ct=$1 deb pid_before pid_after out t0
    deb=$ST_DEB_BASE
    check "nagios4 runs before the install" nagios_healthy "$ct"
    pid_before=$(ct_exec "$ct" systemctl show -p MainPID --value nagios4.service)
    out=$(pkg_install "$ct" "$deb") || { printf '%s\n' "$out" | tail -n 30; fail "apt-get install ./$deb failed"; }
    printf '%s\n' "$out" | grep -E '^(clamav-freshen|Setting up clamav-freshen)' || true
    ! printf '%s\n' "$out" | grep -E '^(Err|Ign):' || fail "apt tried the network"
    [[ $(ct_exec "$ct" dpkg-query -W -f '${db:Status-Abbrev}' clamav-freshen) = "ii " ]] || fail "clamav-freshen not installed (ii)"

    for f in /usr/sbin/clamav-freshen /usr/lib/nagios/plugins/check_clamav_freshness \
             /etc/clamav-freshen/clamav-freshen.toml /etc/sudoers.d/clamav-freshen \
             /etc/nagios-plugins/config/clamav-freshen.cfg "$ST_NAGIOS_OBJ"; do
        ct_exec "$ct" test -e "$f" || fail "$f missing after the install"
    done
    [[ $(ct_exec "$ct" stat -c '%U:%G %a' /etc/sudoers.d/clamav-freshen) = "root:root 440" ]] ||
        fail "sudoers drop-in is $(ct_exec "$ct" stat -c '%U:%G %a' /etc/sudoers.d/clamav-freshen), want root:root 440"
    check "visudo -c" ct_exec "$ct" visudo -c
    check "nagios4 -v valid and nagios4 running" nagios_healthy "$ct"
    pid_after=$(ct_exec "$ct" systemctl show -p MainPID --value nagios4.service)
    echo "nagios4 main pid before $pid_before, after $pid_after (a reload keeps it)"

    # the service is scheduled (Nagios loaded our object) and OK on a fresh database
    wait_for 30 "ClamAV signatures in status.dat" svc "$ct" current_state ||
        fail "service 'ClamAV signatures' not in $(ct_exec "$ct" systest status-file)"
    [[ $(svc "$ct" next_check) -gt 0 ]] || fail "service 'ClamAV signatures' is not scheduled"
    t0=$(date +%s)
    ct_exec "$ct" systest force-check
    wait_for 45 "a forced check of ClamAV signatures returning OK" svc_ok_after "$ct" "$t0" ||
        fail "service not OK after a forced check: $(svc "$ct" current_state plugin_output | tr '\n' ' ')"
    out=$(svc "$ct" plugin_output)
    echo "plugin output: $out"
    [[ $out == "CLAMAV OK"* ]] || fail "plugin output '$out' does not start with 'CLAMAV OK'"
    check "the daemon still runs" daemon_active "$ct"
}

t_install_status() {
    local ct=$1 out rc=0
    out=$(ct_exec "$ct" /usr/sbin/clamav-freshen status 2>&1) || rc=$?
    printf '%s\n' "$out"
    [[ $rc = 0 ]] || fail "clamav-freshen status exits $rc on a healthy system"
    # the check as nagios runs it, by hand
    out=$(ct_exec "$ct" runuser -u nagios -- /usr/lib/nagios/plugins/check_clamav_freshness) || fail "check as nagios: $out"
    [[ $out == "CLAMAV OK"* ]] || fail "check output '$out'"
}

group_install() {
    local rel=$1 ct=$2
    st_test "$rel" "$ct" "install: apt install ./deb on a stock system; visudo, nagios4 -v, service OK" t_install
    st_test "$rel" "$ct" "install: clamav-freshen status healthy, check OK as nagios" t_install_status
}
