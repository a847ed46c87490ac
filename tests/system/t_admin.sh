# shellcheck shell=bash
# Issue 5, test 4: an admin's existing configuration. Each scenario gets a fresh
# container: the 2009-era objects, and a configuration without the host "localhost".

# The 2009-era setup many filters still carry: an old check script and sudo'd handler
# under the names the package must not clash with.
admin_legacy_setup() {
    ct_sh "$1" '
        mkdir -p /usr/local/lib/nagios/plugins /usr/local/sbin
        printf "#!/bin/sh\necho \"CLAMAV OK - legacy check\"\nexit 0\n" >/usr/local/lib/nagios/plugins/check_clamav_freshness
        printf "#!/bin/sh\nexit 0\n" >/usr/local/sbin/freshen_clamav
        chmod 0755 /usr/local/lib/nagios/plugins/check_clamav_freshness /usr/local/sbin/freshen_clamav
        cat >/etc/nagios4/conf.d/clamav.cfg <<EOC
# ClamAV freshness, 2009
define command {
    command_name    check_clamav_freshness
    command_line    /usr/local/lib/nagios/plugins/check_clamav_freshness -w 1 -c 3
}
define command {
    command_name    freshen_clamav
    command_line    /usr/bin/sudo /usr/local/sbin/freshen_clamav \$SERVICESTATE\$ \$SERVICESTATETYPE\$ \$SERVICEATTEMPT\$
}
define service {
    use                     generic-service
    host_name               localhost
    service_description     ClamAV database freshness
    check_command           check_clamav_freshness
    event_handler           freshen_clamav
}
EOC
        nagios4 -v /etc/nagios4/nagios.cfg >/dev/null && systemctl reload nagios4.service'
}

# No "localhost": the stock localhost.cfg is not read; the filter is "mx1".
admin_nolocalhost_setup() {
    ct_sh "$1" '
        sed -i "s|^cfg_file=/etc/nagios4/objects/localhost.cfg|#&|" /etc/nagios4/nagios.cfg
        cat >/etc/nagios4/conf.d/mx1.cfg <<EOC
define host {
    use         linux-server
    host_name   mx1
    address     127.0.0.1
}
define service {
    use                     generic-service
    host_name               mx1
    service_description     PING
    check_command           check_ping!100.0,20%!500.0,60%
}
EOC
        nagios4 -v /etc/nagios4/nagios.cfg >/dev/null && systemctl restart nagios4.service'
}

t_admin_scenario() {
    local ct=$1 scenario=$2 deb out
    "admin_${scenario}_setup" "$ct" || fail "setting up the $scenario configuration"
    check "the admin's configuration is valid before" nagios_healthy "$ct"
    deb=$ST_DEB_BASE
    out=$(pkg_install "$ct" "$deb") || { printf '%s\n' "$out" | tail -n 30; fail "install failed"; }
    echo "--- what the package said:"
    printf '%s\n' "$out" | grep -iE 'clamav-freshen|nagios' | grep -vE '^(Selecting|Preparing|Unpacking|Setting up|\(Reading)' || true
    check "nagios4 -v valid and nagios4 running after the install" nagios_healthy "$ct"
    check "visudo -c" ct_exec "$ct" visudo -c
    case $scenario in
        legacy)
            # the admin's objects are untouched and still loaded
            ct_exec "$ct" grep -q 'command_name    freshen_clamav' /etc/nagios4/conf.d/clamav.cfg || fail "the admin's file was changed"
            wait_for 30 "both services loaded" ct_sh "$ct" '
                grep -qE "service_description[[:space:]]+ClamAV database freshness" /var/lib/nagios4/objects.cache &&
                grep -qE "service_description[[:space:]]+ClamAV signatures" /var/lib/nagios4/objects.cache' ||
                fail "objects.cache lacks the admin's or our service"
            ;;
        nolocalhost)
            # our object needs localhost: it must be parked, and the admin told why
            ! ct_exec "$ct" test -e "$ST_NAGIOS_OBJ" || fail "$ST_NAGIOS_OBJ is live without a localhost host"
            ct_exec "$ct" test -e "$ST_NAGIOS_OBJ.disabled" || fail "no $ST_NAGIOS_OBJ.disabled"
            printf '%s\n' "$out" | grep -qi 'localhost' || fail "the install did not say that localhost is missing"
            ;;
    esac
    # what it did is said: some package line mentions what happened to the Nagios objects
    printf '%s\n' "$out" | grep -qE '^clamav-freshen: ' || fail "the install said nothing about what it did"
}

group_admin() {
    local rel=$1 deb=$2 scenario ct
    for scenario in legacy nolocalhost; do
        ct=cfs-$rel-$scenario
        if boot_container "$rel" "$ct" "$deb"; then
            st_test "$rel" "$ct" "admin config ($scenario): install keeps nagios4 -v valid, Nagios running, says what it did" \
                t_admin_scenario "$scenario"
            ct_destroy "$ct"
        fi
    done
}
