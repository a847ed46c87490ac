# shellcheck shell=bash
# shellcheck disable=SC2016  # the scripts run inside the container are single-quoted
# Issue 14, Icinga 2 standalone (trixie): a booted container with icinga2 (installed offline
# from the image's /opt/systest-fleet/icinga2) and then the package. Its postinst puts the
# commands into the ITL and the node's service into conf.d, each after `icinga2 daemon -C`;
# with the test's fast intervals it loads; the database goes stale; Icinga's
# check goes non-OK, its event command runs the handler through sudo, the repair happens,
# Icinga's next check is OK. Nagios and the heal timer are off: only Icinga can repair.
# The service's state is read from Icinga's REST API (`icinga2 api setup`, its root user).
# Then the re-check through Icinga's command pipe, and remove and purge.

IC_CMDS=/usr/share/icinga2/include/plugins-contrib.d/clamav-freshen.conf

# ic_svc CT: the service's state (0..3), its last output, its host, the times of its last and
# next check, a line each, from the API.
ic_svc() {
    ct_exec "$1" python3 -c '
import base64, json, re, ssl, urllib.request
pw = re.search(r"password = \"([^\"]+)\"", open("/etc/icinga2/conf.d/api-users.conf").read()).group(1)
req = urllib.request.Request(
    "https://127.0.0.1:5665/v1/objects/services?attrs=state&attrs=last_check_result&attrs=host_name&attrs=last_check&attrs=next_check",
    headers={"Accept": "application/json",
             "Authorization": "Basic " + base64.b64encode(("root:" + pw).encode()).decode()})
ctx = ssl.create_default_context(cafile="/var/lib/icinga2/ca/ca.crt")
ctx.check_hostname = False
ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT  # the Icinga 2.14 CA has no Authority Key Identifier
for r in json.load(urllib.request.urlopen(req, context=ctx, timeout=5))["results"]:
    if r["name"].endswith("!ClamAV signatures"):
        a = r["attrs"]
        print(int(a["state"]))
        print((a.get("last_check_result") or {}).get("output", "").splitlines()[0] if a.get("last_check_result") else "")
        print(a["host_name"])
        print(int(a["last_check"]))
        print(int(a["next_check"]))
'
}
ic_state_is() { [[ $(ic_svc "$1" | head -n 1) == "$2" ]]; }
ic_not_ok() { local s; s=$(ic_svc "$1" | head -n 1); [[ -n $s && $s != 0 ]]; }
ic_checked_since() { local l; l=$(ic_svc "$1" | sed -n 4p); [[ -n $l ]] && ((l >= $2)); }
ic_next_after() { local n; n=$(ic_svc "$1" | sed -n 5p); [[ -n $n ]] && ((n >= $2)); }
ic_checked_ok() { ic_svc "$1" | sed -n 2p | grep -q '^CLAMAV OK'; }

t_icinga_standalone() {
    local ct=$1 out t0 t_stale secs
    out=$(T=300 ct_sh "$ct" 'dpkg -i /opt/systest-fleet/icinga2/*.deb 2>&1') ||
        { printf '%s\n' "$out" | tail -n 20; fail "dpkg -i icinga2 failed"; }
    ct_exec "$ct" icinga2 --version | head -n 1
    ct_exec "$ct" systemctl disable --now nagios4.service clamav-freshen-heal.timer >/dev/null 2>&1 || true
    # the API, for the test to read the service's state
    ct_exec "$ct" icinga2 api setup >/dev/null
    out=$(pkg_install "$ct" "$ST_DEB_BASE") || { printf '%s\n' "$out" | tail -n 30; fail "install failed"; }
    printf '%s\n' "$out" | grep -F 'Icinga 2 commands active' ||
        { printf '%s\n' "$out" | grep clamav-freshen; fail "postinst did not activate the Icinga 2 commands"; }
    ct_exec "$ct" cmp -s /usr/share/clamav-freshen/icinga2/clamav-freshen.conf "$IC_CMDS" ||
        fail "no copy of the commands in the ITL"
    ct_exec "$ct" systemctl disable --now clamav-freshen-heal.timer >/dev/null 2>&1 || true
    # the service the package activated (a standalone node: conf.d included), every 6 s and
    # retried every 3 s for the test
    printf '%s\n' "$out" | grep -F "Icinga 2 service 'ClamAV signatures' active" ||
        fail "postinst did not activate the Icinga 2 service"
    ct_exec "$ct" cmp -s /usr/share/clamav-freshen/icinga2/clamav-freshen-service.conf /etc/icinga2/conf.d/clamav-freshen.conf ||
        fail "the service in conf.d is not the package's"
    ct_sh "$ct" 'sed -i -e "s/check_interval = 15m/check_interval = 6s/" -e "s/retry_interval = 5m/retry_interval = 3s/" \
        /etc/icinga2/conf.d/clamav-freshen.conf'
    out=$(ct_exec "$ct" icinga2 daemon -C 2>&1) || { printf '%s\n' "$out" | tail -n 20; fail "icinga2 daemon -C rejects the configuration"; }
    printf '%s\n' "$out" | grep -E 'Instantiated [0-9]+ (Service|EventCommand)s?\.' || true
    # (the API's own security notice aside) no warning about our objects
    if printf '%s\n' "$out" | grep -A2 'warning/' | grep -qiE 'clamav|ClamAV signatures'; then
        printf '%s\n' "$out" | grep -A2 'warning/'; fail "icinga2 daemon -C warns about our objects"
    fi
    ct_exec "$ct" systemctl restart icinga2.service
    wait_for 60 "the service OK in Icinga 2" ic_state_is "$ct" 0 ||
        fail "not OK at the start: $(ic_svc "$ct" | tr '\n' ' ')"
    ic_checked_ok "$ct" || fail "OK without a check result of ours: $(ic_svc "$ct" | tr '\n' ' ')"
    t0=$(date +%s)
    sleep 1
    t_stale=$(st_now)
    ct_exec "$ct" systest publish 6
    wait_for 60 "the service non-OK" ic_not_ok "$ct" || fail "the service stayed OK with the database stale"
    echo "non-OK: $(ic_svc "$ct" | sed -n 2p)"
    wait_for 120 "the repair" audit_has "$ct" "$t0" 'event=repair-end' ||
        { show_audit "$ct" "$t0"; fail "no repair"; }
    wait_for 60 "the service OK again" ic_state_is "$ct" 0 ||
        fail "not OK after the repair: $(ic_svc "$ct" | tr '\n' ' ')"
    secs=$(st_since "$t_stale")
    show_audit "$ct" "$t0"
    audit_has "$ct" "$t0" 'event=invoke caller=sudo:nagios .*arg1=handle arg2=(WARNING|CRITICAL)' ||
        fail "the repair was not started by Icinga's event command through sudo"
    audit_has "$ct" "$t0" 'event=repair-end outcome=updated' || fail "the repair did not update"
    [[ $(ct_exec "$ct" systest local-daily) == 6 ]] || fail "daily is not 6"
    st_report_line "icinga2 standalone ($(ct_exec "$ct" cat /etc/systest-suite)): database stale -> Icinga 2 service OK in ${secs} s (checks every 6 s, retries every 3 s; no forced re-check)"
    st_outcome "stale -> OK in ${secs} s"
}

# The re-check after a repair through Icinga's command pipe (the `command` feature), the
# handler's nagios_command_file and nagios_host set to it: the service checked every 5
# minutes is checked again within seconds of a repair.
t_icinga_recheck() {
    local ct=$1 host t0 last next out
    ct_exec "$ct" icinga2 feature enable command >/dev/null
    ct_sh "$ct" 'sed -i -e "s/check_interval = 6s/check_interval = 5m/" -e "s/retry_interval = 3s/retry_interval = 5m/" \
        /etc/icinga2/conf.d/clamav-freshen.conf'
    out=$(ct_exec "$ct" icinga2 daemon -C 2>&1) || { printf '%s\n' "$out" | tail -n 20; fail "icinga2 daemon -C rejects the configuration"; }
    ct_exec "$ct" systemctl restart icinga2.service
    wait_for 30 "Icinga's command pipe" ct_exec "$ct" test -p /run/icinga2/cmd/icinga2.cmd || fail "no command pipe"
    wait_for 60 "the service known to the API" ic_state_is "$ct" 0 || fail "not OK: $(ic_svc "$ct" | tr '\n' ' ')"
    host=$(ic_svc "$ct" | sed -n 3p)
    set_handler_config "$ct" "nagios_command_file = \"/run/icinga2/cmd/icinga2.cmd\"" "nagios_host = \"$host\""
    # Conclusive only when Icinga's own next check is well after the window: after a
    # restart it may come soon, so let it pass first.
    next=$(ic_svc "$ct" | sed -n 5p)
    if ((next < $(date +%s) + 45)); then
        echo "Icinga's own check is due in $((next - $(date +%s))) s: letting it pass"
        wait_for 60 "Icinga's scheduled check" ic_next_after "$ct" $(($(date +%s) + 60)) || fail "Icinga does not reschedule"
        next=$(ic_svc "$ct" | sed -n 5p)
    fi
    sleep 1
    t0=$(date +%s)
    last=$(ic_svc "$ct" | sed -n 4p)
    echo "host $host, last check $((t0 - last)) s ago, next in $((next - t0)) s"
    ct_exec "$ct" /usr/sbin/clamav-freshen repair --wait >/dev/null || true
    audit_has "$ct" "$t0" 'event=nagios-recheck result="?sent' ||
        { show_audit "$ct" "$t0"; fail "the re-check was not sent to Icinga's pipe"; }
    wait_for 30 "Icinga 2 to check the service again" ic_checked_since "$ct" "$t0" ||
        fail "no check after the repair (last check $(ic_svc "$ct" | sed -n 4p), repair at $t0)"
    ic_state_is "$ct" 0 || fail "not OK after the forced check: $(ic_svc "$ct" | tr '\n' ' ')"
    restore_handler_config "$ct"
    (($(ic_svc "$ct" | sed -n 4p) < next)) || fail "the check came no sooner than Icinga's own schedule"
    st_outcome "re-checked $(( $(ic_svc "$ct" | sed -n 4p) - t0 )) s after the repair began"
}

# Remove parks the service and takes the commands away, Icinga 2 valid and running; purge
# leaves neither.
t_icinga_remove() {
    local ct=$1 out
    out=$(T=300 ct_exec "$ct" apt-get remove -y clamav-freshen 2>&1) || { printf '%s\n' "$out" | tail; fail "apt-get remove failed"; }
    ! ct_exec "$ct" test -e /etc/icinga2/conf.d/clamav-freshen.conf || fail "the service is still live after remove"
    ct_exec "$ct" test -e /etc/icinga2/conf.d/clamav-freshen.conf.disabled || fail "the service was not parked"
    ! ct_exec "$ct" test -e "$IC_CMDS" || fail "the commands are still in the ITL after remove"
    out=$(ct_exec "$ct" icinga2 daemon -C 2>&1) || { printf '%s\n' "$out" | tail -n 20; fail "Icinga 2 invalid after remove"; }
    check "icinga2 active after remove" ct_exec "$ct" systemctl is-active --quiet icinga2.service
    out=$(T=300 ct_exec "$ct" apt-get purge -y clamav-freshen 2>&1) || { printf '%s\n' "$out" | tail; fail "apt-get purge failed"; }
    ! ct_sh "$ct" 'ls /etc/icinga2/conf.d/clamav-freshen* /usr/share/icinga2/include/plugins-contrib.d/clamav-freshen* 2>/dev/null | grep .' ||
        fail "purge left Icinga 2 files of ours"
    ct_exec "$ct" icinga2 daemon -C >/dev/null 2>&1 || fail "Icinga 2 invalid after purge"
}

group_icinga() {
    local rel=$1 deb=$2 ct=cfs-$1-icinga
    boot_container "$rel" "$ct" "$deb" || return 0
    st_test "$rel" "$ct" "icinga2 standalone: commands and service activated after daemon -C, the local loop heals" t_icinga_standalone
    if [[ ${ST_RESULTS[-1]} == *"|pass"* ]]; then
        st_test "$rel" "$ct" "icinga2 standalone: the re-check after a repair through Icinga's command pipe" t_icinga_recheck
        st_test "$rel" "$ct" "icinga2 standalone: remove parks the service and takes the commands, Icinga 2 valid; purge leaves nothing" t_icinga_remove
    fi
    ct_destroy "$ct"
}
