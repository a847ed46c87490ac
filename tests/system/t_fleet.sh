# shellcheck shell=bash
# shellcheck disable=SC2016  # the scripts run inside the container are single-quoted
# Issue 14, Nagios + NRPE across hosts: a monitoring host (nagios4, check_nrpe and the
# clamav-freshen-monitor package) and a mail filter (clamav-freshen, nagios-nrpe-server),
# two booted containers each in a network namespace of the test's, joined by one veth pair
# (192.0.2.1 the monitor, 192.0.2.2 the filter; TEST-NET-1, routed nowhere). Nothing else
# is reachable from either. The filter goes stale; the monitor's remote service goes
# non-OK, its event handler asks the filter's NRPE for clamav-freshen-heal, the repair
# happens on the filter (audited there), the remote service is OK again. Nagios and the
# heal timer on the filter are stopped: only the remote path can repair.

FL_MON_IP=192.0.2.1
FL_FIL_IP=192.0.2.2

fl_names() { local r=$1; FL_NS_M=cfsm-$r FL_NS_F=cfsf-$r FL_IF_M=vm-${r:0:8} FL_IF_F=vf-${r:0:8}; }

# fl_link_up REL: the two namespaces and the veth pair between them, loopback up in both
# (the filter's local mirror and DNS live on its loopback).
fl_link_up() {
    fl_names "$1"
    fl_link_down "$1"
    ip netns add "$FL_NS_M" && ip netns add "$FL_NS_F" &&
        ip link add "$FL_IF_M" type veth peer name "$FL_IF_F" &&
        ip link set "$FL_IF_M" netns "$FL_NS_M" && ip link set "$FL_IF_F" netns "$FL_NS_F" &&
        ip -n "$FL_NS_M" addr add "$FL_MON_IP/24" dev "$FL_IF_M" &&
        ip -n "$FL_NS_F" addr add "$FL_FIL_IP/24" dev "$FL_IF_F" &&
        ip -n "$FL_NS_M" link set "$FL_IF_M" up && ip -n "$FL_NS_F" link set "$FL_IF_F" up &&
        ip -n "$FL_NS_M" link set lo up && ip -n "$FL_NS_F" link set lo up
}
fl_link_down() {
    fl_names "$1"
    ip netns del "$FL_NS_M" 2>/dev/null || true
    ip netns del "$FL_NS_F" 2>/dev/null || true
}

# Nagios on the monitor: the filter's host and its service from the package's template,
# checked every 6 s and retried every 3 s for the test.
fl_monitor_objects() {
    ct_sh "$1" "cat >/etc/nagios4/conf.d/filters.cfg <<EOC
define host {
    use                 generic-host
    host_name           mailfilter1
    address             $FL_FIL_IP
    check_command       check-host-alive
    max_check_attempts  3
    contact_groups      admins
}
define service {
    use                 clamav-freshen-remote
    host_name           mailfilter1
    check_interval      0.1
    retry_interval      0.05
}
EOC
nagios4 -v /etc/nagios4/nagios.cfg >/dev/null && systemctl reload nagios4.service"
}

fl_remote() { ct_exec "$1" env SYSTEST_HOST=mailfilter1 systest svc "${@:2}"; }
fl_remote_state_is() { [[ $(fl_remote "$1" current_state) == "$2" ]]; }
fl_remote_not_ok() { local s; s=$(fl_remote "$1" current_state); [[ -n $s && $s != 0 ]]; }

t_fleet_nrpe() {
    local mon=$1 fil=$2 mdeb=$3 out t_stale t_bad secs t0
    # the filter: NRPE (offline), allowed for the monitor; our package; no local monitor,
    # no timer
    out=$(T=300 ct_sh "$fil" 'dpkg -i /opt/systest-fleet/nrpe-server/*.deb 2>&1') ||
        { printf '%s\n' "$out" | tail -n 20; fail "dpkg -i nagios-nrpe-server failed"; }
    ct_sh "$fil" "sed -i 's/^allowed_hosts=.*/allowed_hosts=127.0.0.1,::1,$FL_MON_IP/' /etc/nagios/nrpe.cfg"
    out=$(pkg_install "$fil" "$(basename "$ST_FLEET_DEB")") || { printf '%s\n' "$out" | tail -n 30; fail "install on the filter failed"; }
    ct_exec "$fil" systemctl restart nagios-nrpe-server.service
    ct_exec "$fil" systemctl disable --now nagios4.service clamav-freshen-heal.timer >/dev/null 2>&1
    check "NRPE on the filter serves our commands" ct_exec "$fil" test -e /etc/nagios/nrpe.d/clamav-freshen.cfg
    # the private link is all there is: no default route on either host
    for c in "$mon" "$fil"; do
        ct_exec "$c" awk 'NR > 1 && $2 == "00000000" { d = 1 } END { exit d }' /proc/net/route ||
            fail "$c has a default route"
    done
    # the monitor: check_nrpe (offline) and clamav-freshen-monitor
    out=$(T=300 ct_sh "$mon" 'dpkg -i /opt/systest-fleet/nrpe-plugin/*.deb 2>&1') ||
        { printf '%s\n' "$out" | tail -n 20; fail "dpkg -i nagios-nrpe-plugin failed"; }
    out=$(pkg_install "$mon" "$(basename "$mdeb")") || { printf '%s\n' "$out" | tail -n 30; fail "install of clamav-freshen-monitor failed"; }
    printf '%s\n' "$out" | grep -E 'clamav-freshen' | tail -n 3
    ! ct_exec "$mon" test -e /usr/sbin/clamav-freshen || fail "the monitor package brought the handler"
    # across the link, as the monitor's nagios does it
    out=$(ct_exec "$mon" runuser -u nagios -- /usr/lib/nagios/plugins/check_nrpe -H "$FL_FIL_IP" -c clamav-freshen-check) || true
    echo "check_nrpe from the monitor: $out"
    grep -q '^CLAMAV OK - daily 3 is current' <<<"$out" || fail "the remote check is not OK through NRPE"
    fl_monitor_objects "$mon"
    wait_for 60 "the remote service OK on the monitor" fl_remote_state_is "$mon" 0 ||
        fail "remote service not OK at the start: $(fl_remote "$mon" current_state plugin_output | tr '\n' ' ')"
    # stale on the filter: its mirror publishes daily 6
    t0=$(date +%s)
    sleep 1
    t_stale=$(st_now)
    ct_exec "$fil" systest publish 6
    wait_for 60 "the remote service non-OK" fl_remote_not_ok "$mon" ||
        fail "the remote service stayed OK with the filter stale"
    t_bad=$(st_now)
    echo "remote non-OK: $(fl_remote "$mon" plugin_output)"
    wait_for 120 "the repair on the filter" audit_has "$fil" "$t0" 'event=repair-end' ||
        { show_audit "$fil" "$t0"; fail "no repair on the filter"; }
    wait_for 60 "the remote service OK again" fl_remote_state_is "$mon" 0 ||
        fail "remote service not OK after the repair: $(fl_remote "$mon" current_state plugin_output | tr '\n' ' ')"
    secs=$(st_since "$t_stale")
    show_audit "$fil" "$t0"
    audit_has "$fil" "$t0" 'event=repair-end outcome=updated' || fail "the filter's repair did not update"
    audit_has "$fil" "$t0" 'event=invoke .*arg1=heal' || fail "the repair was not started by heal"
    ct_exec "$fil" clamav-freshen status | grep -E ' by nrpe: ' ||
        fail "clamav-freshen status on the filter does not name NRPE as the repair's origin"
    ct_exec "$mon" grep -E 'SERVICE EVENT HANDLER: mailfilter1;ClamAV signatures;' /var/log/nagios4/nagios.log | tail -n 3 ||
        fail "no event handler run on the monitor"
    [[ $(ct_exec "$fil" systest local-daily) == 6 ]] || fail "the filter's daily is not 6"
    st_report_line "fleet (Nagios + NRPE, $(ct_exec "$fil" cat /etc/systest-suite)): filter stale -> remote service OK in ${secs} s (remote non-OK after $(awk -v a="$t_stale" -v b="$t_bad" 'BEGIN{printf "%.1f", b-a}') s; the monitor checks every 6 s, retries every 3 s)"
    st_outcome "stale -> remote OK in ${secs} s"
}

# ST_FLEET_DEB: the filter's package (set by group_fleet).
group_fleet() {
    local rel=$1 deb=$2 mdeb=$3 mon=cfs-$1-mon fil=cfs-$1-fil
    if [[ -z $mdeb ]]; then skip_group "$rel" "fleet" "no clamav-freshen-monitor .deb (cargo deb --variant monitor)"; return 0; fi
    if ! fl_link_up "$rel"; then
        echo "not ok - $rel: fleet: private link (ip netns, veth)"; ST_FAILED=$((ST_FAILED + 1))
        ST_RESULTS+=("$rel|fleet: private link|FAIL|0"); fl_link_down "$rel"; return 0
    fi
    ST_FLEET_DEB=$deb
    mkdir -p "$ST_RUN"
    echo "/run/netns/$FL_NS_M" >"$ST_RUN/$mon.netns"
    echo "/run/netns/$FL_NS_F" >"$ST_RUN/$fil.netns"
    if boot_container "$rel" "$fil" "$deb" && boot_container "$rel" "$mon" "$deb"; then
        cp "$mdeb" "$(ct_root "$mon")/root/debs/"
        st_test "$rel" "$mon" "fleet: Nagios + NRPE, the filter repaired through the monitor's event handler" \
            t_fleet_nrpe "$fil" "$mdeb"
    fi
    ct_destroy "$mon" 2>/dev/null || true
    ct_destroy "$fil" 2>/dev/null || true
    rm -f "$ST_RUN/$mon.netns" "$ST_RUN/$fil.netns"
    fl_link_down "$rel"
}
