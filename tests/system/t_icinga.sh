# shellcheck shell=bash
# shellcheck disable=SC2016  # the scripts run inside the container are single-quoted
# Issue 14, Icinga 2 standalone (trixie): a booted container with icinga2 (installed offline
# from the image's /opt/systest-fleet/icinga2) and then the package. Its postinst puts the
# commands into the ITL and the node's service into conf.d, each after `icinga2 daemon -C`;
# with the test's fast intervals it loads; the database goes stale; Icinga's
# check goes non-OK, its event command runs the handler through sudo, the repair happens,
# Icinga's next check is OK. Nagios and the heal timer are off: only Icinga can repair.
# The service's state is read from Icinga's REST API (`icinga2 api setup`, its root user).
# Then the re-check after a repair through the API (the package's ApiUser), through the
# command pipe when the API refuses, and remove and purge.

IC_CMDS=/usr/share/icinga2/include/plugins-contrib.d/clamav-freshen.conf
IC_USER=/etc/icinga2/conf.d/clamav-freshen-api-user.conf
IC_API=/etc/clamav-freshen/icinga2-api.toml

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
    # the api feature is on: an ApiUser for the re-check, its password in root's file only
    printf '%s\n' "$out" | grep -F "Icinga 2 ApiUser 'clamav-freshen' made" ||
        { printf '%s\n' "$out" | grep -i icinga; fail "postinst did not make the ApiUser"; }
    [[ $(ct_exec "$ct" stat -c '%U:%G %a' "$IC_API") == "root:root 600" ]] ||
        fail "$IC_API is not root's 0600: $(ct_exec "$ct" stat -c '%U:%G %a' "$IC_API")"
    [[ $(ct_exec "$ct" stat -c '%U:%G %a' "$IC_USER") == "root:nagios 640" ]] ||
        fail "$IC_USER is not root:nagios 0640: $(ct_exec "$ct" stat -c '%U:%G %a' "$IC_USER")"
    ct_exec "$ct" grep -q 'permission = "actions/reschedule-check"' "$IC_USER" || fail "the ApiUser may do more than reschedule-check"
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
    st_report_line "icinga2 standalone ($(ct_exec "$ct" cat /etc/systest-suite)): database stale -> Icinga 2 service OK in ${secs} s (checks every 6 s, retries every 3 s; the event command repairs, the API re-checks)"
    st_outcome "stale -> OK in ${secs} s"
}

# ic_quiet_window CT: lets Icinga's own next check pass when it is due within 45 s, so a
# check right after the repair can only be the forced one; prints that next check's time.
ic_quiet_window() {
    local ct=$1 next
    next=$(ic_svc "$ct" | sed -n 5p)
    if ((next < $(date +%s) + 45)); then
        echo "Icinga's own check is due in $((next - $(date +%s))) s: letting it pass" >&2
        wait_for 60 "Icinga's scheduled check" ic_next_after "$ct" $(($(date +%s) + 60)) >&2 || return 1
        next=$(ic_svc "$ct" | sed -n 5p)
    fi
    echo "$next"
}

# ic_forced_recheck CT PATTERN...: a repair; each PATTERN in its audit; then Icinga checks the
# service (checked every 5 minutes) within seconds, sooner than its own schedule, OK.
ic_forced_recheck() {
    local ct=$1 t0 last next p
    shift
    next=$(ic_quiet_window "$ct") || fail "Icinga does not reschedule"
    sleep 1
    t0=$(date +%s)
    last=$(ic_svc "$ct" | sed -n 4p)
    echo "last check $((t0 - last)) s ago, next in $((next - t0)) s"
    ct_exec "$ct" /usr/sbin/clamav-freshen repair --wait >/dev/null || true
    for p in "$@"; do
        audit_has "$ct" "$t0" "$p" || { show_audit "$ct" "$t0"; fail "not in the audit: $p"; }
    done
    wait_for 30 "Icinga 2 to check the service again" ic_checked_since "$ct" "$t0" ||
        { show_audit "$ct" "$t0"; fail "no check after the repair (last check $(ic_svc "$ct" | sed -n 4p), repair at $t0)"; }
    ic_state_is "$ct" 0 || fail "not OK after the forced check: $(ic_svc "$ct" | tr '\n' ' ')"
    last=$(ic_svc "$ct" | sed -n 4p)
    ((last < next)) || fail "the check came no sooner than Icinga's own schedule"
    IC_RECHECK_SECS=$((last - t0)) IC_RECHECK_T0=$t0
}

# The re-check after a repair, the service checked every 5 minutes: through the REST API with
# the package's ApiUser (status says so); then, the API refusing (a wrong password), through
# Icinga's command pipe (the `command` feature) named as the handler's nagios_command_file.
t_icinga_recheck() {
    local ct=$1 host out api_secs
    ct_sh "$ct" 'sed -i -e "s/check_interval = 6s/check_interval = 5m/" -e "s/retry_interval = 3s/retry_interval = 5m/" \
        /etc/icinga2/conf.d/clamav-freshen.conf'
    out=$(ct_exec "$ct" icinga2 daemon -C 2>&1) || { printf '%s\n' "$out" | tail -n 20; fail "icinga2 daemon -C rejects the configuration"; }
    ct_exec "$ct" systemctl restart icinga2.service
    wait_for 60 "the service known to the API" ic_state_is "$ct" 0 || fail "not OK: $(ic_svc "$ct" | tr '\n' ' ')"
    host=$(ic_svc "$ct" | sed -n 3p)
    out=$(ct_exec "$ct" /usr/sbin/clamav-freshen status)
    printf '%s\n' "$out" | grep -E '^re-check:.*Icinga 2 API https://127\.0\.0\.1:5665 as clamav-freshen' ||
        { printf '%s\n' "$out"; fail "status does not name the API as the re-check's way"; }
    ic_forced_recheck "$ct" 'event=icinga-recheck result="?sent: Successfully rescheduled'
    ! audit_has "$ct" "$IC_RECHECK_T0" 'event=nagios-recheck' || fail "the pipe was used as well as the API"
    api_secs=$IC_RECHECK_SECS
    # The ApiUser can do nothing else: another service of the host is not found for it, and
    # it may not read objects.
    out=$(ct_exec "$ct" python3 -c '
import base64, json, re, ssl, sys, urllib.error, urllib.request
pw = re.search(r"^password = \"([^\"]+)\"", open("/etc/clamav-freshen/icinga2-api.toml").read(), re.M).group(1)
auth = "Basic " + base64.b64encode(("clamav-freshen:" + pw).encode()).decode()
ctx = ssl.create_default_context(cafile="/var/lib/icinga2/certs/ca.crt")
ctx.check_hostname = False
ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
def code(path, body=None):
    req = urllib.request.Request("https://127.0.0.1:5665" + path, data=body,
        headers={"Accept": "application/json", "Content-Type": "application/json", "Authorization": auth})
    try:
        return urllib.request.urlopen(req, context=ctx, timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code
other = json.dumps({"type": "Service", "filter": "host.name==h&&service.name!=s",
                    "filter_vars": {"h": sys.argv[1], "s": "ClamAV signatures"}, "force": True}).encode()
print(code("/v1/actions/reschedule-check", other), code("/v1/objects/services"), code("/v1/actions/restart-process", b"{}"))
' "$host")
    # (Icinga answers 404 for an action the user may not see, 403 for an endpoint)
    [[ $out =~ ^404\ 403\ 40[34]$ ]] || fail "the ApiUser may do more than re-check our service (reschedule another, query, restart: $out; want 404 403 403|404)"
    echo "the ApiUser on other services, objects, restart-process: $out"
    echo "through the API: checked ${api_secs} s after the repair began"

    # The API refuses (wrong password): the pipe.
    ct_exec "$ct" icinga2 feature enable command >/dev/null
    ct_exec "$ct" systemctl restart icinga2.service
    wait_for 30 "Icinga's command pipe" ct_exec "$ct" test -p /run/icinga2/cmd/icinga2.cmd || fail "no command pipe"
    wait_for 60 "the service known to the API" ic_state_is "$ct" 0 || fail "not OK: $(ic_svc "$ct" | tr '\n' ' ')"
    set_handler_config "$ct" "nagios_command_file = \"/run/icinga2/cmd/icinga2.cmd\"" "nagios_host = \"$host\""
    ct_sh "$ct" "cp -p $IC_API /root/api.toml.orig && sed -i 's/^password = .*/password = \"wrong\"/' $IC_API"
    ic_forced_recheck "$ct" 'event=icinga-recheck result="?error: HTTP 401' 'event=nagios-recheck result="?sent'
    ct_sh "$ct" "cp -p /root/api.toml.orig $IC_API"
    restore_handler_config "$ct"
    st_outcome "re-checked ${api_secs} s after the repair began through the API, ${IC_RECHECK_SECS} s through the pipe"
}

# Remove parks the service and takes the commands away, Icinga 2 valid and running; purge
# leaves neither.
t_icinga_remove() {
    local ct=$1 out
    out=$(T=300 ct_exec "$ct" apt-get remove -y clamav-freshen 2>&1) || { printf '%s\n' "$out" | tail; fail "apt-get remove failed"; }
    ! ct_exec "$ct" test -e /etc/icinga2/conf.d/clamav-freshen.conf || fail "the service is still live after remove"
    ct_exec "$ct" test -e /etc/icinga2/conf.d/clamav-freshen.conf.disabled || fail "the service was not parked"
    ! ct_exec "$ct" test -e "$IC_CMDS" || fail "the commands are still in the ITL after remove"
    ! ct_exec "$ct" test -e "$IC_USER" || fail "the ApiUser is still there after remove"
    ! ct_exec "$ct" test -e "$IC_API" || fail "the handler's API file is still there after remove"
    out=$(ct_exec "$ct" icinga2 daemon -C 2>&1) || { printf '%s\n' "$out" | tail -n 20; fail "Icinga 2 invalid after remove"; }
    check "icinga2 active after remove" ct_exec "$ct" systemctl is-active --quiet icinga2.service
    out=$(T=300 ct_exec "$ct" apt-get purge -y clamav-freshen 2>&1) || { printf '%s\n' "$out" | tail; fail "apt-get purge failed"; }
    ! ct_sh "$ct" 'ls /etc/icinga2/conf.d/clamav-freshen* /usr/share/icinga2/include/plugins-contrib.d/clamav-freshen* 2>/dev/null | grep .' ||
        fail "purge left Icinga 2 files of ours"
    ct_exec "$ct" icinga2 daemon -C >/dev/null 2>&1 || fail "Icinga 2 invalid after purge"
}

# apt installs Recommends in any order, and an admin adds Icinga 2 later: icinga2 installed
# after the package. The file trigger (debian/triggers) runs postinst triggered, which puts
# the commands into the ITL and the service into conf.d, each after daemon -C, as configure
# does. Icinga 2 purged again: the trigger takes our ITL copy with it (dpkg does not know
# it), nothing is left in /usr/share/icinga2; our purge then leaves no directory of Icinga's.
IC_PKGS="icinga2 icinga2-bin icinga2-common"
t_icinga_later() {
    local ct=$1 out
    # Icinga 2 off the machine, its state too: a first install
    out=$(T=300 ct_sh "$ct" "dpkg --purge $IC_PKGS 2>&1") || { printf '%s\n' "$out" | tail; fail "dpkg --purge icinga2 failed"; }
    ct_exec "$ct" rm -rf /etc/icinga2 /var/lib/icinga2 /var/cache/icinga2 /var/log/icinga2
    out=$(pkg_install "$ct" "$ST_DEB_BASE") || { printf '%s\n' "$out" | tail -n 30; fail "install failed"; }
    if printf '%s\n' "$out" | grep -F 'Icinga 2'; then fail "Icinga 2 named by a package installed without it"; fi
    out=$(T=300 ct_sh "$ct" 'dpkg -i /opt/systest-fleet/icinga2/*.deb 2>&1') ||
        { printf '%s\n' "$out" | tail -n 20; fail "dpkg -i icinga2 failed"; }
    printf '%s\n' "$out" | grep -E 'Processing triggers for clamav-freshen|Icinga 2' ||
        { printf '%s\n' "$out" | tail -n 20; fail "no trigger of ours ran"; }
    printf '%s\n' "$out" | grep -qF 'Icinga 2 commands active' || fail "the trigger did not activate the commands"
    printf '%s\n' "$out" | grep -qF "Icinga 2 service 'ClamAV signatures' active" || fail "the trigger did not activate the service"
    ct_exec "$ct" cmp -s /usr/share/clamav-freshen/icinga2/clamav-freshen.conf "$IC_CMDS" || fail "no copy of the commands in the ITL"
    ct_exec "$ct" cmp -s /usr/share/clamav-freshen/icinga2/clamav-freshen-service.conf /etc/icinga2/conf.d/clamav-freshen.conf ||
        fail "the service in conf.d is not the package's"
    out=$(ct_exec "$ct" icinga2 daemon -C --dump-objects 2>&1) || { printf '%s\n' "$out" | tail -n 20; fail "icinga2 daemon -C rejects the configuration"; }
    wait_for 60 "icinga2 active" ct_exec "$ct" systemctl is-active --quiet icinga2.service || fail "icinga2 not running"
    ct_exec "$ct" icinga2 object list --type Service --name '*!ClamAV signatures' | grep -F 'ClamAV signatures' ||
        fail "Icinga 2 has no service 'ClamAV signatures'"
    # Icinga 2 purged, the package stays
    out=$(T=300 ct_sh "$ct" "dpkg --purge $IC_PKGS 2>&1") || { printf '%s\n' "$out" | tail; fail "dpkg --purge icinga2 failed"; }
    printf '%s\n' "$out" | grep -F 'Icinga 2 removed' || { printf '%s\n' "$out" | tail -n 20; fail "the trigger did not take our ITL copy away"; }
    ! ct_exec "$ct" test -e /usr/share/icinga2 || fail "left in /usr/share/icinga2: $(ct_exec "$ct" find /usr/share/icinga2 | head -n 5 | tr '\n' ' ')"
    check "the package still installed" pp_installed "$ct"
    out=$(T=300 ct_exec "$ct" apt-get purge -y clamav-freshen 2>&1) || { printf '%s\n' "$out" | tail; fail "apt-get purge failed"; }
    ! ct_exec "$ct" test -e /etc/icinga2/conf.d || fail "left in /etc/icinga2/conf.d: $(ct_exec "$ct" ls -A /etc/icinga2/conf.d | tr '\n' ' ')"
}

group_icinga() {
    local rel=$1 deb=$2 ct=cfs-$1-icinga
    boot_container "$rel" "$ct" "$deb" || return 0
    st_test "$rel" "$ct" "icinga2 standalone: commands and service activated after daemon -C, the local loop heals" t_icinga_standalone
    if [[ ${ST_RESULTS[-1]} == *"|pass"* ]]; then
        st_test "$rel" "$ct" "icinga2 standalone: the re-check after a repair through the REST API, the command pipe when the API refuses" t_icinga_recheck
        st_test "$rel" "$ct" "icinga2 standalone: remove parks the service and takes the commands, Icinga 2 valid; purge leaves nothing" t_icinga_remove
        st_test "$rel" "$ct" "icinga2 installed after the package: the trigger activates commands and service; icinga2 purged: our ITL copy goes too" t_icinga_later
    fi
    ct_destroy "$ct"
}
