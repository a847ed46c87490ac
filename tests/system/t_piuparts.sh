# shellcheck shell=bash
# shellcheck disable=SC2016  # dpkg-query formats are single-quoted on purpose
# Issue 16, Debian hygiene: a piuparts-style run in a fresh container of its own. The whole
# file system (but the trees that running services write: logs, caches, the databases, the
# monitor's state, apt's and dpkg's own) is listed before the package is installed; after
# install, use, remove and purge, and again after install, upgrade and purge, the list must
# be the same: every path with its type, owner and mode. Any difference is a leftover (or
# something of the system's the package removed or changed), and fails the test. The first
# remove comes in the middle of a repair.

# Not the package's business: written by running services and by apt/dpkg themselves.
PP_VOLATILE=(/proc /sys /dev /run /tmp /var/tmp /var/log /var/cache /var/lib/apt /var/lib/dpkg
    /var/lib/systemd /var/lib/nagios4 /var/lib/clamav /var/lib/private /var/spool /root /srv/systest
    /etc/systest /var/lib/sudo /var/lib/ucf)

pp_snapshot() {  # pp_snapshot CT FILE
    local prune=() p
    for p in "${PP_VOLATILE[@]}"; do prune+=(-path "$p" -o); done
    unset 'prune[${#prune[@]}-1]'
    ct_exec "$1" find / -xdev \( "${prune[@]}" \) -prune -o -printf '%y %u:%g %m %p\n' | sort >"$2"
}

# pp_same CT BEFORE WHEN: the system's list now is BEFORE's, else the differences, failed.
pp_same() {
    local ct=$1 before=$2 when=$3 now diffs
    now=$(mktemp "$ST_RUN/pp.XXXXXX")
    pp_snapshot "$ct" "$now"
    diffs=$(diff "$before" "$now" | grep -E '^[<>]' || true)
    rm -f "$now"
    if [[ -n $diffs ]]; then
        echo "differences $when (< before install, > now):"
        printf '%s\n' "$diffs" | head -n 40 | sed 's/^/    /'
        fail "$(grep -c . <<<"$diffs") path(s) differ $when"
    fi
    echo "no leftover $when ($(wc -l <"$before") paths compared)"
}

pp_installed() { [[ $(ct_exec "$1" dpkg-query -W -f '${db:Status-Abbrev}' clamav-freshen 2>/dev/null) = "ii " ]]; }

pp_purge() {
    local ct=$1 out
    out=$(T=300 ct_exec "$ct" apt-get purge -y clamav-freshen 2>&1) || { printf '%s\n' "$out" | tail; fail "apt-get purge failed"; }
    ! ct_exec "$ct" dpkg-query -W clamav-freshen >/dev/null 2>&1 || fail "dpkg still knows clamav-freshen"
}

t_piuparts() {
    local ct=$1 deb=$2 deb2=$3 before out mode
    before=$ST_RUN/pp-before.$ct
    pp_snapshot "$ct" "$before"
    [[ -s $before ]] || fail "no file list"
    out=$(pkg_install "$ct" "$deb") || { printf '%s\n' "$out" | tail -n 30; fail "install failed"; }
    pp_installed "$ct" || fail "not installed"
    # used as it is used: the timer's heal, a status, a check as nagios
    ct_exec "$ct" systemctl start clamav-freshen-heal.service || true
    ct_exec "$ct" /usr/sbin/clamav-freshen status >/dev/null || true
    ct_exec "$ct" runuser -u nagios -- /usr/lib/nagios/plugins/check_clamav_freshness >/dev/null || true
    # removed in the middle of a repair (its freshclam stuck on a mirror that never answers):
    # prerm stops the worker, which starts freshclam's daemon again; nothing of ours runs on
    # to write after the purge
    ct_exec "$ct" systest mirror-mode hang
    ct_exec "$ct" systest publish 6
    ct_exec "$ct" /usr/sbin/clamav-freshen repair >/dev/null
    wait_for 30 "freshclam run by the repair" ct_sh "$ct" '
        ! systemctl is-active --quiet clamav-freshclam.service && pgrep -x freshclam' ||
        fail "no repair running before the remove"
    out=$(T=300 ct_exec "$ct" apt-get remove -y clamav-freshen 2>&1) || { printf '%s\n' "$out" | tail; fail "apt-get remove failed"; }
    printf '%s\n' "$out" | grep -F 'stopping the running repair' || fail "remove did not stop the running repair"
    [[ $(ct_exec "$ct" dpkg-query -W -f '${db:Status-Abbrev}' clamav-freshen) = "rc " ]] || fail "not in state rc after remove"
    ! ct_exec "$ct" pgrep -x clamav-freshen >/dev/null || fail "a clamav-freshen process outlived the remove"
    check "freshclam's daemon active after the remove" ct_exec "$ct" systemctl is-active --quiet clamav-freshclam.service
    [[ $(ct_exec "$ct" pgrep -cx freshclam || true) = 1 ]] || fail "the repair's freshclam was left running"
    ct_exec "$ct" systest mirror-mode ok
    pp_purge "$ct"
    pp_same "$ct" "$before" "after install, use, remove in a repair, purge"
    # The comparison can fail: a file left behind, or a mode changed, is seen.
    ct_exec "$ct" touch /usr/share/pp-probe
    if (pp_same "$ct" "$before" "with a probe file" >/dev/null 2>&1); then fail "a planted file went unseen"; fi
    ct_exec "$ct" rm -f /usr/share/pp-probe
    mode=$(ct_exec "$ct" stat -c %a /etc/nagios4)
    ct_exec "$ct" chmod 0700 /etc/nagios4
    if (pp_same "$ct" "$before" "with a changed mode" >/dev/null 2>&1); then fail "a changed mode went unseen"; fi
    ct_exec "$ct" chmod "$mode" /etc/nagios4
    if [[ -n $deb2 ]]; then
        out=$(pkg_install "$ct" "$deb") || { printf '%s\n' "$out" | tail -n 30; fail "reinstall failed"; }
        out=$(pkg_install "$ct" "$deb2") || { printf '%s\n' "$out" | tail -n 30; fail "upgrade failed"; }
        pp_installed "$ct" || fail "not installed after the upgrade"
        echo "upgraded to $(ct_exec "$ct" dpkg-query -W -f '${Version}' clamav-freshen)"
        pp_purge "$ct"
        pp_same "$ct" "$before" "after reinstall, upgrade, purge"
    fi
    rm -f "$before"
}

# The upgrade a user makes: the previous release installed and in use (the admin's change in
# the conffile, the timer's heal), then this build over it: the change kept, the timer
# still enabled, Nagios valid and running, the scripts of both releases quiet; purged, the
# file system is the one before. The previous release's .deb comes from run.sh's build
# (prev_deb), copied in once it is there.
t_piuparts_prev() {
    local ct=$1 deb=$2 prev rc=0 before out v_prev v_cur
    prev=$(prev_deb) || rc=$?
    case $rc in
        0) ;;
        77) skip "${prev#SKIP: }" ;;
        *) printf '%s\n' "$prev"; fail "no .deb of the previous release" ;;
    esac
    cp "$prev" "$(ct_root "$ct")/root/debs/"
    # the test before may have stopped half-way
    if ct_exec "$ct" dpkg-query -W clamav-freshen >/dev/null 2>&1; then pp_purge "$ct"; fi
    before=$ST_RUN/pp-before-prev.$ct
    pp_snapshot "$ct" "$before"
    out=$(pkg_install "$ct" "$(basename "$prev")") || { printf '%s\n' "$out" | tail -n 30; fail "installing the previous release failed"; }
    pp_installed "$ct" || fail "the previous release is not installed"
    v_prev=$(ct_exec "$ct" dpkg-query -W -f '${Version}' clamav-freshen)
    ct_exec "$ct" systemctl start clamav-freshen-heal.service || true
    check "the previous release's timer enabled" ct_exec "$ct" systemctl is-enabled --quiet clamav-freshen-heal.timer
    pkg_upgrade_checked "$ct" "$deb"
    v_cur=$(ct_exec "$ct" dpkg-query -W -f '${Version}' clamav-freshen)
    if ct_exec "$ct" cat /root/apt-last.log | grep -i freshen | grep -iE 'warning|error|fail'; then
        fail "the upgrade's scripts complained"
    fi
    check "the timer still enabled" ct_exec "$ct" systemctl is-enabled --quiet clamav-freshen-heal.timer
    check "the check runs as nagios" ct_sh "$ct" 'runuser -u nagios -- /usr/lib/nagios/plugins/check_clamav_freshness; [ $? -le 2 ]'
    pp_purge "$ct"
    pp_same "$ct" "$before" "after the previous release, the upgrade, purge"
    echo "#   outcome: $v_prev -> $v_cur"
    rm -f "$before"
}

group_piuparts() {
    local rel=$1 deb=$2 deb2=$3 ct=cfs-$1-pp
    if boot_container "$rel" "$ct" "$deb" "$deb2"; then
        st_test "$rel" "$ct" "piuparts: install, use, remove, purge, reinstall, upgrade, purge: no leftover" \
            t_piuparts "$(basename "$deb")" "${deb2:+$(basename "$deb2")}"
        st_test "$rel" "$ct" "piuparts: upgrade from the previous release, purge: no leftover" \
            t_piuparts_prev "$(basename "$deb")"
        ct_destroy "$ct"
    fi
}
