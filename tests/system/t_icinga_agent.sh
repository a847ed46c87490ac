# shellcheck shell=bash
# shellcheck disable=SC2016  # the scripts run inside the container are single-quoted
# Issue 14, Icinga 2 master + agent (trixie): two booted containers on the fleet group's
# private link (t_fleet.sh: fl_link_up, 192.0.2.1 the master, 192.0.2.2 the mail filter;
# no default route on either). Both get icinga2 offline from the image's
# /opt/systest-fleet/icinga2; the filter also gets the package and becomes an Icinga 2
# agent. The PKI is made by the test, offline: the master's CA and certificate from
# `icinga2 node setup --master`, the agent's key and CSR from `icinga2 pki new-cert`, the
# CSR carried to the master through the host (the containers' root file systems), signed
# there with `icinga2 pki sign-csr`, the certificate and the CA carried back; no ticket, no
# CSR sent over the network. On the master: the clamav-freshen-monitor package (the
# commands into the ITL), the filter's host and the service from that package's example
# (command_endpoint = host.name), checked every 6 s.
# The filter goes stale: the master's service goes non-OK (read from the master's REST
# API), the event command runs on the filter through command_endpoint (audited there as
# sudo:nagios ... handle), the repair updates, the master's service is OK again. Nagios and
# the heal timer are off on the filter: only Icinga can repair. Then the re-check after a
# repair through the master's REST API: the ApiUser the monitor package made on the master,
# its file for the filters copied to the filter; checked every 5 minutes, re-checked within
# seconds.

IA_MASTER_CN=icinga-master
IA_AGENT_CN=mailfilter1
IA_CERTS=/var/lib/icinga2/certs
IA_CSRS=/var/lib/icinga2/systest-csr   # on the master: the CSR carried there, the certificate signed
IA_ITL=/usr/share/icinga2/include/plugins-contrib.d/clamav-freshen.conf
IA_EXAMPLE=/usr/share/doc/clamav-freshen-monitor/examples/icinga2/mail-filters.conf

# ia_get MASTER TYPE NAME ATTR...: attributes of one object from the master's REST API, a
# line each (numbers as integers; a dotted ATTR goes into a dictionary, a text gives its
# first line). Fails when the API does not answer or has no such object.
ia_get() {
    ct_exec "$1" python3 -c '
import base64, json, re, ssl, sys, urllib.parse, urllib.request
typ, name, attrs = sys.argv[1], sys.argv[2], sys.argv[3:]
pw = re.search(r"password = \"([^\"]+)\"", open("/etc/icinga2/conf.d/api-users.conf").read()).group(1)
req = urllib.request.Request(
    "https://127.0.0.1:5665/v1/objects/%s/%s" % (typ, urllib.parse.quote(name, safe="")),
    headers={"Accept": "application/json",
             "Authorization": "Basic " + base64.b64encode(("root:" + pw).encode()).decode()})
ctx = ssl.create_default_context(cafile="/var/lib/icinga2/ca/ca.crt")
ctx.check_hostname = False
ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT  # the Icinga 2.14 CA has no Authority Key Identifier
a = json.load(urllib.request.urlopen(req, context=ctx, timeout=5))["results"][0]["attrs"]
for k in attrs:
    v = a
    for p in k.split("."):
        v = v.get(p) if isinstance(v, dict) else None
    if isinstance(v, float):
        v = int(v)
    s = "" if v is None else str(v)
    print(s.splitlines()[0] if s else "")
' "$2" "$3" "${@:4}"
}

# The filter's service on the master: state, output, the endpoint that ran the check, last
# check time (a line each).
ia_svc() {
    ia_get "$1" services "$IA_AGENT_CN!ClamAV signatures" \
        state last_check_result.output last_check_result.check_source last_check
}
ia_connected() { [[ $(ia_get "$1" endpoints "$IA_AGENT_CN" connected) == True ]]; }
ia_state_is() { [[ $(ia_svc "$1" | head -n 1) == "$2" ]]; }
ia_not_ok() { local s; s=$(ia_svc "$1" | head -n 1); [[ -n $s && $s != 0 ]]; }
# OK from a check result of ours that the agent ran (check_source)
ia_ok_from_agent() {
    local out
    out=$(ia_svc "$1") || return 1
    [[ $(sed -n 1p <<<"$out") == 0 && $(sed -n 2p <<<"$out") == "CLAMAV OK"* && $(sed -n 3p <<<"$out") == "$IA_AGENT_CN" ]]
}

# ia_diag MASTER FILTER: both Icinga logs (less the test's own API requests) and the
# filter's audit since IA_T0, short enough that the reason stays in st_test's tail.
ia_diag() {
    local c
    for c in "$@"; do
        echo "--- $c: icinga2 $(T=20 ct_exec "$c" systemctl is-active icinga2.service 2>&1); /var/log/icinga2/icinga2.log (tail)"
        T=20 ct_exec "$c" grep -vE 'HttpServerConnection|New client connection from \[::ffff:127\.0\.0\.1\]|WorkQueue' \
            /var/log/icinga2/icinga2.log 2>&1 | tail -n 12 | sed 's/^/    /'
    done
    if [[ -n ${IA_T0:-} ]]; then echo "--- $2: audit (tail)"; audit_since "$2" "$IA_T0" 2>&1 | tail -n 8 | sed 's/^/    /'; fi
    return 0
}
# ia_fail REASON: the diagnostics of IA_MST and IA_FIL, then the reason (last: st_test shows
# the output's tail)
ia_fail() { IA_DIAG_DONE=1; ia_diag "$IA_MST" "$IA_FIL" >&2; fail "$1"; }

# icinga2 daemon -C on CT, then a restart; the output's last lines on failure.
ia_validate_restart() {
    local out
    out=$(ct_exec "$1" icinga2 daemon -C 2>&1) || { printf '%s\n' "$out" | tail -n 20; ia_fail "icinga2 daemon -C rejects the configuration on $1"; }
    printf '%s\n' "$out" | grep -E 'Instantiated [0-9]+ (Endpoint|Zone|Service|EventCommand)s?\.' | sed "s/^/$1: /" || true
    ct_exec "$1" systemctl restart icinga2.service || ia_fail "icinga2 does not restart on $1"
}

t_icinga_agent() {
    local mst=$1 fil=$2 out m f c p t_stale t_bad secs
    m=$(ct_root "$mst"); f=$(ct_root "$fil")
    IA_MST=$mst IA_FIL=$fil     # (st_test's subshell: for ia_fail and the trap)
    # an unexpected error (errexit) gets the diagnostics too
    trap 'rc_=$?; if ((rc_ != 0 && rc_ != 77)) && [[ -z ${IA_DIAG_DONE:-} ]]; then ia_diag "$IA_MST" "$IA_FIL" >&2; fi' EXIT
    ls "$m"/opt/systest-fleet/icinga2/icinga2_*.deb >/dev/null 2>&1 || skip "no icinga2 debs in the image (/opt/systest-fleet/icinga2)"
    # the private link is all there is: no default route on either host
    for c in "$mst" "$fil"; do
        ct_exec "$c" awk 'NR > 1 && $2 == "00000000" { d = 1 } END { exit d }' /proc/net/route ||
            ia_fail "$c has a default route"
    done
    for c in "$mst" "$fil"; do
        out=$(T=300 ct_sh "$c" 'dpkg -i /opt/systest-fleet/icinga2/*.deb 2>&1') ||
            { printf '%s\n' "$out" | tail -n 20; ia_fail "dpkg -i icinga2 failed on $c"; }
        ct_exec "$c" systemctl disable --now nagios4.service >/dev/null 2>&1 || true
    done
    ct_exec "$mst" icinga2 --version | head -n 1

    # --- PKI, offline
    # the master: CA, its certificate, the api feature, zones.conf, the root ApiUser
    out=$(ct_exec "$mst" icinga2 node setup --master --cn "$IA_MASTER_CN" --zone master 2>&1) ||
        { printf '%s\n' "$out" | tail -n 20; ia_fail "icinga2 node setup --master failed"; }
    for p in /var/lib/icinga2/ca/ca.crt "$IA_CERTS/$IA_MASTER_CN.crt" /etc/icinga2/conf.d/api-users.conf; do
        [[ -s $m$p ]] || ia_fail "node setup --master made no $p"
    done
    # the agent: zones.conf (the master at 192.0.2.1:5665), the api feature accepting
    # commands, conf.d not included. Without --parent_host it neither connects nor asks for
    # a certificate; it leaves a self-signed one, replaced below.
    out=$(ct_exec "$fil" icinga2 node setup --cn "$IA_AGENT_CN" --zone "$IA_AGENT_CN" \
            --endpoint "$IA_MASTER_CN,$FL_MON_IP,5665" --parent_zone master \
            --accept-commands --accept-config --disable-confd 2>&1) ||
        { printf '%s\n' "$out" | tail -n 20; ia_fail "icinga2 node setup on the agent failed"; }
    # the agent's key and CSR; the CSR carried to the master, signed there, the certificate
    # and the CA carried back (through the host: the containers' root file systems). The
    # icinga2 CLI drops root for nagios (Debian's RunAsUser), so it reads and writes only
    # where nagios may: the certs directory, and a directory of the test's on the master.
    out=$(ct_sh "$fil" 'rm -f "$1/$2.key" "$1/$2.crt" "$1/$2.csr"
        icinga2 pki new-cert --cn "$2" --key "$1/$2.key" --csr "$1/$2.csr" 2>&1' sh "$IA_CERTS" "$IA_AGENT_CN") ||
        { printf '%s\n' "$out" | tail -n 10; ia_fail "icinga2 pki new-cert on the agent failed"; }
    ct_exec "$mst" install -d -o nagios -g nagios -m 0700 "$IA_CSRS"
    install -o "$(stat -c %u "$m$IA_CSRS")" -m 0600 "$f$IA_CERTS/$IA_AGENT_CN.csr" "$m$IA_CSRS/$IA_AGENT_CN.csr"
    out=$(ct_exec "$mst" icinga2 pki sign-csr --csr "$IA_CSRS/$IA_AGENT_CN.csr" --cert "$IA_CSRS/$IA_AGENT_CN.crt" 2>&1) ||
        { printf '%s\n' "$out" | tail -n 10; ia_fail "icinga2 pki sign-csr on the master failed"; }
    rm -f "$f$IA_CERTS/$IA_AGENT_CN.csr"
    cp "$m$IA_CSRS/$IA_AGENT_CN.crt" "$f$IA_CERTS/$IA_AGENT_CN.crt"
    cp "$m/var/lib/icinga2/ca/ca.crt" "$f$IA_CERTS/ca.crt"
    ct_sh "$fil" 'chown -R nagios:nagios "$1" && chmod 0600 "$1/$2.key"' sh "$IA_CERTS" "$IA_AGENT_CN"
    out=$(ct_exec "$fil" icinga2 pki verify --cn "$IA_AGENT_CN" --cert "$IA_CERTS/$IA_AGENT_CN.crt" --cacert "$IA_CERTS/ca.crt" 2>&1) ||
        { printf '%s\n' "$out" | tail -n 5; ia_fail "the agent's certificate does not verify against the master's CA"; }
    # the master knows the agent's endpoint and zone (the agent connects: no host here)
    cat >>"$m/etc/icinga2/zones.conf" <<EOC

// system test: the mail filter, an agent below the master
object Endpoint "$IA_AGENT_CN" { }
object Zone "$IA_AGENT_CN" {
  endpoints = [ "$IA_AGENT_CN" ]
  parent = "master"
}
EOC

    # --- the package on the agent (after node setup: its postinst sees an agent)
    out=$(pkg_install "$fil" "$ST_DEB_BASE") || { printf '%s\n' "$out" | tail -n 30; ia_fail "install on the filter failed"; }
    printf '%s\n' "$out" | grep -E '^clamav-freshen: .*Icinga 2' || true
    printf '%s\n' "$out" | grep -qF 'Icinga 2 commands active' || ia_fail "postinst did not activate the Icinga 2 commands on the agent"
    printf '%s\n' "$out" | grep -qF 'Icinga 2 service not activated' || ia_fail "postinst did not say the agent gets no local service"
    [[ ! -e $f/etc/icinga2/conf.d/clamav-freshen.conf ]] || ia_fail "postinst put a local service into the agent's conf.d"
    ct_exec "$fil" systemctl disable --now clamav-freshen-heal.timer >/dev/null 2>&1 || true
    ! ct_exec "$fil" systemctl is-active --quiet nagios4.service clamav-freshen-heal.timer ||
        ia_fail "nagios4 or the heal timer still active on the filter"

    # --- the master: clamav-freshen-monitor brings the commands (into the ITL, after
    # icinga2 daemon -C); the filter's Host, and the service from the package's example
    # (checked every 6 s, retried every 3 s for the test)
    out=$(pkg_install "$mst" "$(basename "$IA_MDEB")") || { printf '%s\n' "$out" | tail -n 30; ia_fail "install of clamav-freshen-monitor on the master failed"; }
    printf '%s\n' "$out" | grep -E '^clamav-freshen-monitor: .*Icinga 2' || true
    printf '%s\n' "$out" | grep -qF 'Icinga 2 commands active' || ia_fail "the monitor's postinst did not activate the Icinga 2 commands on the master"
    printf '%s\n' "$out" | grep -qF "Icinga 2 ApiUser 'clamav-freshen' made" || ia_fail "the monitor's postinst did not make the ApiUser on the master"
    [[ $(ct_exec "$mst" stat -c '%U:%G %a' /etc/clamav-freshen-monitor/icinga2-api.toml) == "root:root 600" ]] ||
        ia_fail "the master's file for the filters is not root's 0600"
    cmp -s "$m/usr/share/clamav-freshen-monitor/icinga2/clamav-freshen.conf" "$m$IA_ITL" || ia_fail "no copy of the commands in the master's ITL"
    [[ -s $m$IA_EXAMPLE ]] || ia_fail "no $IA_EXAMPLE on the master"
    mkdir -p "$m/etc/icinga2/zones.d/master"
    sed -e 's/check_interval = 15m/check_interval = 6s/' -e 's/retry_interval = 5m/retry_interval = 3s/' \
        "$m$IA_EXAMPLE" >"$m/etc/icinga2/zones.d/master/mail-filters.conf"
    grep -q 'check_interval = 6s' "$m/etc/icinga2/zones.d/master/mail-filters.conf" || ia_fail "the example's interval is not 15m any more"
    cat >"$m/etc/icinga2/zones.d/master/hosts-mail-filters.conf" <<EOC
// system test: the mail filter
object Host "$IA_AGENT_CN" {
  address = "$FL_FIL_IP"
  check_command = "cluster-zone"
  groups = [ "mail-filter" ]
}
EOC
    ia_validate_restart "$mst"
    ia_validate_restart "$fil"
    wait_for 60 "the master sees the agent connected" ia_connected "$mst" ||
        ia_fail "the agent's endpoint is not connected on the master"
    echo "endpoint $IA_AGENT_CN connected on the master"
    wait_for 60 "the service OK on the master, checked on the agent" ia_ok_from_agent "$mst" ||
        ia_fail "not OK from the agent at the start: $(ia_svc "$mst" | tr '\n' ' ')"
    out=$(ia_svc "$mst")
    echo "master: $(sed -n 2p <<<"$out") (check source $(sed -n 3p <<<"$out"))"

    # --- the loop: stale on the filter, repaired through the master's event command
    IA_T0=$(date +%s)
    sleep 1
    t_stale=$(st_now)
    ct_exec "$fil" systest publish 6
    wait_for 60 "the master's service non-OK" ia_not_ok "$mst" ||
        ia_fail "the master's service stayed OK with the filter stale"
    t_bad=$(st_now)
    out=$(ia_svc "$mst")
    echo "master non-OK: $(sed -n 2p <<<"$out") (check source $(sed -n 3p <<<"$out"))"
    [[ $(sed -n 3p <<<"$out") == "$IA_AGENT_CN" ]] || ia_fail "the non-OK check did not run on the agent"
    wait_for 120 "the repair on the filter" audit_has "$fil" "$IA_T0" 'event=repair-end' ||
        ia_fail "no repair on the filter"
    wait_for 60 "the master's service OK again" ia_ok_from_agent "$mst" ||
        ia_fail "not OK on the master after the repair: $(ia_svc "$mst" | tr '\n' ' ')"
    secs=$(st_since "$t_stale")
    show_audit "$fil" "$IA_T0"
    audit_has "$fil" "$IA_T0" 'event=invoke caller=sudo:nagios .*arg1=handle' ||
        ia_fail "the repair was not started by Icinga's event command through sudo on the filter"
    audit_has "$fil" "$IA_T0" 'event=repair-end outcome=updated' || ia_fail "the filter's repair did not update"
    [[ $(ct_exec "$fil" systest local-daily) == 6 ]] || ia_fail "the filter's daily is not 6"
    [[ ! -e $m/usr/sbin/clamav-freshen ]] || ia_fail "the master has the handler (the test would not show where it ran)"
    st_report_line "icinga2 master + agent ($(ct_exec "$fil" cat /etc/systest-suite)): filter stale -> master's service OK in ${secs} s (non-OK after $(awk -v a="$t_stale" -v b="$t_bad" 'BEGIN{printf "%.1f", b-a}') s; the master checks on the agent every 6 s, retries every 3 s; the event command through command_endpoint)"
    ia_api_recheck "$mst" "$fil"
    st_outcome "stale -> master OK in ${secs} s; re-checked through the master's API ${IA_RECHECK_SECS} s after a repair"
}

# The re-check after a repair through the master's REST API, the service checked every 5
# minutes: the ApiUser clamav-freshen-monitor made on the master (allowed only
# reschedule-check of our CheckCommand), and on the filter the file it left for the filters,
# copied as the README says: the master's address, this filter's host set.
ia_api_recheck() {
    local mst=$1 fil=$2 m f t0 last next out
    m=$(ct_root "$mst"); f=$(ct_root "$fil")
    sed -i -e 's/check_interval = 6s/check_interval = 5m/' -e 's/retry_interval = 3s/retry_interval = 5m/' \
        "$m/etc/icinga2/zones.d/master/mail-filters.conf"
    sed -e "s|^url = .*|url = \"https://$FL_MON_IP:5665\"|" -e "s|^#host = .*|host = \"$IA_AGENT_CN\"|" \
        "$m/etc/clamav-freshen-monitor/icinga2-api.toml" >"$f/etc/clamav-freshen/icinga2-api.toml"
    ct_exec "$fil" chown root:root /etc/clamav-freshen/icinga2-api.toml
    ct_exec "$fil" chmod 0600 /etc/clamav-freshen/icinga2-api.toml
    ia_validate_restart "$mst"
    wait_for 60 "the master sees the agent connected" ia_connected "$mst" || ia_fail "the agent did not reconnect"
    wait_for 60 "the service OK on the master" ia_ok_from_agent "$mst" || ia_fail "not OK: $(ia_svc "$mst" | tr '\n' ' ')"
    out=$(ct_exec "$fil" /usr/sbin/clamav-freshen status)
    printf '%s\n' "$out" | grep -E "^re-check:.*Icinga 2 API https://$FL_MON_IP:5665 as clamav-freshen for '$IA_AGENT_CN!ClamAV signatures'" ||
        { printf '%s\n' "$out"; ia_fail "status on the filter does not name the master's API"; }
    # conclusive only when the master's own next check is well after the window
    next=$(ia_get "$mst" services "$IA_AGENT_CN!ClamAV signatures" next_check)
    if ((next < $(date +%s) + 45)); then
        echo "the master's own check is due in $((next - $(date +%s))) s: letting it pass"
        wait_for 60 "the master's scheduled check" ia_next_after "$mst" $(($(date +%s) + 60)) || ia_fail "the master does not reschedule"
        next=$(ia_get "$mst" services "$IA_AGENT_CN!ClamAV signatures" next_check)
    fi
    sleep 1
    t0=$(date +%s)
    ct_exec "$fil" /usr/sbin/clamav-freshen repair --wait >/dev/null || true
    audit_has "$fil" "$t0" "event=icinga-recheck result=\"?sent: Successfully rescheduled.* url=https://$FL_MON_IP:5665" ||
        { show_audit "$fil" "$t0"; ia_fail "the filter did not ask the master's API for the re-check"; }
    wait_for 30 "the master to check the service again" ia_checked_since "$mst" "$t0" ||
        ia_fail "no check on the master after the repair (repair at $t0)"
    last=$(ia_svc "$mst" | sed -n 4p)
    ((last < next)) || ia_fail "the master's check came no sooner than its own schedule"
    ia_ok_from_agent "$mst" || ia_fail "not OK after the forced check: $(ia_svc "$mst" | tr '\n' ' ')"
    IA_RECHECK_SECS=$((last - t0))
    echo "the master re-checked the filter's service ${IA_RECHECK_SECS} s after the repair began (its own next check was $((next - t0)) s away)"
}
ia_next_after() { local n; n=$(ia_get "$1" services "$IA_AGENT_CN!ClamAV signatures" next_check); [[ -n $n ]] && ((n >= $2)); }
ia_checked_since() { local l; l=$(ia_svc "$1" | sed -n 4p); [[ -n $l ]] && ((l >= $2)); }

group_icinga_agent() {
    local rel=$1 deb=$2 mdeb=$3 mst=cfs-$1-imst fil=cfs-$1-iagt
    if [[ -z $mdeb ]]; then skip_group "$rel" "icinga-agent" "no clamav-freshen-monitor .deb (cargo deb --variant monitor)"; return 0; fi
    if ! command -v ip >/dev/null; then skip_group "$rel" "icinga-agent" "no ip(8) on the host (iproute2)"; return 0; fi
    if ! fl_link_up "$rel"; then
        echo "not ok - $rel: icinga-agent: private link (ip netns, veth)"; ST_FAILED=$((ST_FAILED + 1))
        ST_RESULTS+=("$rel|icinga-agent: private link|FAIL|0"); fl_link_down "$rel"; return 0
    fi
    mkdir -p "$ST_RUN"
    echo "/run/netns/$FL_NS_M" >"$ST_RUN/$mst.netns"
    echo "/run/netns/$FL_NS_F" >"$ST_RUN/$fil.netns"
    # the master gets the .deb too (not installed): the same prepared image as the filter
    if boot_container "$rel" "$fil" "$deb" && boot_container "$rel" "$mst" "$deb"; then
        cp "$mdeb" "$(ct_root "$mst")/root/debs/"
        IA_MDEB=$mdeb
        st_test "$rel" "$fil" "icinga-agent: Icinga 2 master + agent, offline PKI, the filter repaired through command_endpoint" \
            t_icinga_agent_run "$mst"
    fi
    ct_destroy "$mst" 2>/dev/null || true
    ct_destroy "$fil" 2>/dev/null || true
    rm -f "$ST_RUN/$mst.netns" "$ST_RUN/$fil.netns"
    fl_link_down "$rel"
}
# st_test passes the container it diagnoses (the filter: its journal and audit) first
t_icinga_agent_run() { t_icinga_agent "$2" "$1"; }
