# shellcheck shell=bash
# The rig itself: an offline booted Debian with nagios4 and clamav-freshclam running
# under systemd, a local DNS TXT record and mirror that a real freshclam updates from.
# These need no .deb: they prove the ground the package tests stand on.

t_rig_boot() {
    local ct=$1 st routes
    st=$(ct_exec "$ct" systemctl is-system-running) || true
    [[ $st = running || $st = degraded ]] || fail "system state '$st'"
    [[ $(ct_exec "$ct" cat /proc/1/comm) = systemd ]] || fail "PID 1 is not systemd"
    check "nagios4 active" ct_exec "$ct" systemctl is-active --quiet nagios4.service
    check "clamav-freshclam active" ct_exec "$ct" systemctl is-active --quiet clamav-freshclam.service
    # offline: loopback only, no route anywhere
    routes=$(ct_exec "$ct" awk 'NR>1' /proc/net/route)
    [[ -z $routes ]] || fail "the container has routes: $routes"
    ct_exec "$ct" sh -c '! ls /sys/class/net | grep -vx lo' || fail "interfaces besides lo: $(ct_exec "$ct" ls /sys/class/net)"
}

t_rig_mirror() {
    local ct=$1 v
    ct_exec "$ct" systest reset
    ct_exec "$ct" systest publish 4
    # the daemon holds the log lock: stop it, run freshclam as a unit, restart it
    ct_exec "$ct" systemctl stop clamav-freshclam.service
    T=60 ct_exec "$ct" systemd-run --wait --pipe --quiet /usr/bin/freshclam --foreground=true ||
        fail "freshclam from the local mirror failed"
    ct_exec "$ct" systemctl start clamav-freshclam.service
    v=$(ct_exec "$ct" systest local-daily)
    [[ $v = 4 ]] || fail "local daily is $v after the update, want 4"
    ct_exec "$ct" grep -q ' GET /daily.cvd 200$' /var/log/systest-mirror.log || fail "the mirror served no daily.cvd"
    # fault modes of the mirror answer as configured
    ct_exec "$ct" systest mirror-mode 429 120
    [[ $(ct_exec "$ct" python3 -c 'import urllib.request,urllib.error
try: urllib.request.urlopen("http://127.0.0.1:8001/daily.cvd", timeout=5)
except urllib.error.HTTPError as e: print(e.code, e.headers.get("Retry-After"))') = "429 120" ]] ||
        fail "mirror mode 429 does not answer 429 + Retry-After"
    ct_exec "$ct" systest reset
    [[ $(ct_exec "$ct" systest local-daily) = 3 ]] || fail "reset did not restore daily 3"
}

t_rig_nagios() {
    local ct=$1 sf
    ct_exec "$ct" nagios4 -v /etc/nagios4/nagios.cfg >/dev/null || fail "nagios4 -v failed on the stock config"
    sf=$(ct_exec "$ct" systest status-file)
    wait_for 30 "status file $sf" ct_exec "$ct" test -s "$sf" || fail "no $sf"
    ct_exec "$ct" grep -q '^programstatus {' "$sf" || fail "$sf has no programstatus"
    # the external command file works: a forced check of a stock service happens
    ct_exec "$ct" env SYSTEST_SERVICE="Current Load" systest svc last_check >/dev/null || fail "no 'Current Load' in $sf"
    ct_exec "$ct" systest nagios-cmd "SCHEDULE_FORCED_SVC_CHECK;localhost;Current Load;$(date +%s)"
    wait_for 40 "a forced check of Current Load" ct_exec "$ct" \
        sh -c '[ "$(SYSTEST_SERVICE="Current Load" systest svc last_check)" -gt 0 ]' ||
        fail "forced check through the command file did not happen"
}

group_rig() {
    local rel=$1 ct=$2
    st_test "$rel" "$ct" "rig: offline boot, nagios4 and clamav-freshclam under systemd" t_rig_boot
    st_test "$rel" "$ct" "rig: freshclam updates from the local DNS TXT + mirror" t_rig_mirror
    st_test "$rel" "$ct" "rig: Nagios config valid, status file and command file work" t_rig_nagios
}
