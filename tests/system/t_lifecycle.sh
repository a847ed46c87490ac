# shellcheck shell=bash
# Issue 5, test 5: life cycle, piuparts-style. remove, purge (nothing of ours left),
# reinstall, upgrade to a newer build; nagios4 -v valid and Nagios running after each.

ST_OUR_PATHS='/usr/sbin/clamav-freshen /usr/lib/nagios/plugins/check_clamav_freshness
/etc/clamav-freshen /etc/sudoers.d/clamav-freshen /etc/nagios-plugins/config/clamav-freshen.cfg
/etc/nagios4/conf.d/clamav-freshen.cfg /etc/nagios4/conf.d/clamav-freshen.cfg.disabled
/etc/nagios/nrpe.d/clamav-freshen.cfg /var/lib/clamav-freshen /run/clamav-freshen
/usr/share/clamav-freshen /usr/share/doc/clamav-freshen'

t_remove() {
    local ct=$1 out
    st_reset "$ct"
    out=$(T=300 ct_exec "$ct" apt-get remove -y clamav-freshen 2>&1) || { printf '%s\n' "$out" | tail; fail "apt-get remove failed"; }
    printf '%s\n' "$out" | grep -E '^clamav-freshen' || true
    [[ $(ct_exec "$ct" dpkg-query -W -f '${db:Status-Abbrev}' clamav-freshen) = "rc " ]] || fail "not in state rc after remove"
    ! ct_exec "$ct" test -e /usr/sbin/clamav-freshen || fail "/usr/sbin/clamav-freshen still there"
    check "visudo -c" ct_exec "$ct" visudo -c
    check "nagios4 -v valid and running" nagios_healthy "$ct"
    check "daemon active" daemon_active "$ct"
}

t_purge() {
    local ct=$1 out left p
    out=$(T=300 ct_exec "$ct" apt-get purge -y clamav-freshen 2>&1) || { printf '%s\n' "$out" | tail; fail "apt-get purge failed"; }
    printf '%s\n' "$out" | grep -E '^clamav-freshen' || true
    ! ct_exec "$ct" dpkg-query -W clamav-freshen >/dev/null 2>&1 || fail "dpkg still knows clamav-freshen"
    left=""
    for p in $ST_OUR_PATHS; do
        if ct_exec "$ct" test -e "$p" -o -L "$p"; then left="$left $p"; fi
    done
    [[ -z $left ]] || fail "left after purge:$left"
    # nothing with our name anywhere on the system (the test's own files aside)
    left=$(ct_exec "$ct" find / -xdev \( -path /proc -o -path /root -o -path /var/log/journal -o -path /sys \) -prune -o \
        -name '*clamav-freshen*' -print)
    [[ -z $left ]] || fail "left after purge: $left"
    check "visudo -c" ct_exec "$ct" visudo -c
    check "nagios4 -v valid and running" nagios_healthy "$ct"
    # Nagios no longer has our objects (after a reload, at the latest)
    ct_exec "$ct" systemctl reload nagios4.service
    wait_for 30 "our service gone from Nagios" ct_sh "$ct" '! grep -qE "service_description[[:space:]]*=?[[:space:]]*ClamAV signatures" /var/lib/nagios4/objects.cache' ||
        fail "Nagios still has 'ClamAV signatures' after purge"
    check "nagios4 running after the reload" nagios_healthy "$ct"
    check "daemon active" daemon_active "$ct"
}

t_reinstall() {
    local ct=$1 deb out
    deb=$2
    out=$(pkg_install "$ct" "$deb") || { printf '%s\n' "$out" | tail -n 30; fail "reinstall failed"; }
    [[ $(ct_exec "$ct" dpkg-query -W -f '${db:Status-Abbrev}' clamav-freshen) = "ii " ]] || fail "not installed"
    check "visudo -c" ct_exec "$ct" visudo -c
    check "nagios4 -v valid and running" nagios_healthy "$ct"
    wait_for 30 "ClamAV signatures back in Nagios" svc "$ct" current_state || fail "service not loaded after reinstall"
    check "clamav-freshen status" ct_exec "$ct" /usr/sbin/clamav-freshen status
}

t_upgrade() {
    local ct=$1 deb2=$2
    pkg_upgrade_checked "$ct" "$deb2"
    wait_for 30 "ClamAV signatures in Nagios" svc "$ct" current_state || fail "service not loaded after upgrade"
    check "daemon active" daemon_active "$ct"
}

group_lifecycle() {
    local rel=$1 ct=$2 deb=$3 deb2=$4
    st_test "$rel" "$ct" "lifecycle: remove" t_remove
    st_test "$rel" "$ct" "lifecycle: purge leaves nothing of ours" t_purge
    st_test "$rel" "$ct" "lifecycle: reinstall" t_reinstall "$(basename "$deb")"
    if [[ -n $deb2 ]]; then
        st_test "$rel" "$ct" "lifecycle: upgrade to $(dpkg-deb -f "$deb2" Version)" t_upgrade "$(basename "$deb2")"
    else
        skip_group "$rel" "lifecycle: upgrade" "no second build"
    fi
}
