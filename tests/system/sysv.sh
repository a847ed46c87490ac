# shellcheck shell=bash
# The SysV flavour of the system-test containers (sourced by lib.sh): sysvinit-core as
# PID 1 and the freshclam daemon run from /etc/init.d/clamav-freshclam, so that the
# handler's SysV mode (src/service.rs: no /run/systemd/system, an init script) runs for
# real. The systemd package stays installed, as on a Debian switched to sysvinit:
# systemctl exists, systemd is not running.
#
# Image: sysv-<suite>-<arch>-<key>.tar.zst under $ST_CACHE, the prepared image plus
# sysvinit-core (it replaces systemd-sysv), installed in a chroot like the prepared one.
# The key hashes the recipe (_build_sysv) and the prepared tarball's name (a file of its own
# so that the prepared images' key, which hashes image.sh, does not change with it).
#
# Boot: systemd-nspawn without --boot (--boot picks /lib/systemd/systemd while it
# exists), with /sbin/init as the command, PID 1. /etc/inittab runs one script in runlevel
# 2 (/usr/local/lib/systest-sysv-boot): the test's syslog receiver on /dev/log (there is
# no journald), the mirror and the DNS server, then `/etc/init.d/clamav-freshclam start`,
# and last it creates /run/systest-booted (what ct_start waits for). Debian's rcS and the
# other runlevel scripts do not run: nspawn has mounted /proc, /sys, /dev and /run
# already, and those scripts remount file systems and set the clock, which from this
# container would be the host's. Stop: SIGKILL to PID 1; sysvinit's orderly halt ends in
# umountroot remounting / read-only (again the host's file system), and the tree is
# thrown away anyway.

# ct_is_sysv NAME: the container's tree is of the SysV flavour.
ct_is_sysv() { [[ $(cat "$(ct_root "$1")/etc/systest-init" 2>/dev/null) = sysv ]]; }

# image_sysv SUITE [DEB] -> prints the tarball path, builds it when missing.
image_sysv() {
    local suite=$1 deb=${2:-} prep arch key tarball
    prep=$(image_prepared "$suite" "$deb") || return 1
    arch=$(image_arch)
    key=$({ declare -f _build_sysv; basename "$prep"; } | sha256sum | cut -c1-12)
    tarball=$ST_CACHE/sysv-$suite-$arch-$key.tar.zst
    (
        flock -w 1800 9 || { echo "systest: timeout waiting for $ST_CACHE lock" >&2; exit 1; }
        [[ -s $tarball ]] && exit 0
        _build_sysv "$suite" "$prep" "$tarball"
    ) 9>"$ST_CACHE/.sysv-$suite.lock" || return 1
    echo "$tarball"
}

_build_sysv() {
    local suite=$1 prep=$2 tarball=$3 b t0=$SECONDS rc=0
    b=$ST_CACHE/build-sysv-$suite.$$
    st_note "building SysV image $suite: the prepared image + sysvinit-core"
    rm -rf --one-file-system "$b"; mkdir -p "$b"
    ST_BUILD_DIRS+=("$b")
    tar -C "$b" --numeric-owner --xattrs --xattrs-include='*' --zstd -xf "$prep"
    printf '#!/bin/sh\nexit 101\n' >"$b/usr/sbin/policy-rc.d"; chmod 0755 "$b/usr/sbin/policy-rc.d"
    cp -L /etc/resolv.conf "$b/etc/resolv.conf"
    mount -t proc proc "$b/proc"
    timeout 1500 chroot "$b" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive /bin/sh -ec '
        apt-get update -q
        # systemd-sysv named for removal: trixie'"'"'s solver keeps it (installed by hand) otherwise
        apt-get install -y -q --no-install-recommends --allow-remove-essential sysvinit-core sysv-rc systemd-sysv-
        test -x /etc/init.d/clamav-freshclam
        apt-get clean
        ' >"$ST_CACHE/sysv-$suite.log" 2>&1 || rc=$?
    umount "$b/proc" || umount -l "$b/proc" || true
    if [[ $rc != 0 ]]; then
        tail -n 30 "$ST_CACHE/sysv-$suite.log" >&2
        _rm_tree "$b"
        echo "systest: the SysV image of $suite failed (rc=$rc, log: $ST_CACHE/sysv-$suite.log)" >&2
        return 1
    fi
    cat >"$b/etc/inittab" <<'EOF'
# system test (sysv.sh): sysvinit as PID 1 in systemd-nspawn. No rcS (nspawn mounted
# /proc, /sys, /dev, /run), no getty (no tty); one boot script in runlevel 2.
id:2:initdefault:
l2:2:wait:/usr/local/lib/systest-sysv-boot
EOF
    rm -f "$b/usr/sbin/policy-rc.d" "$b/etc/machine-id" "$b/var/lib/dbus/machine-id"
    rm -rf "$b"/var/lib/apt/lists/* "$b"/var/cache/apt/*.bin
    echo sysv >"$b/etc/systest-init"
    _tar_tree "$b" "$tarball"
    _rm_tree "$b"
    find "$ST_CACHE" -maxdepth 1 -name "sysv-$suite-*.tar.zst" ! -path "$tarball" -delete
    st_note "SysV image $suite built in $((SECONDS - t0)) s"
}

# After _ct_setup_tree: the SysV container's boot script and syslog receiver.
_ct_setup_sysv() {
    local root
    root=$(ct_root "$1")
    install -m 0755 "$ST_DIR/files/syslog.py" "$root/usr/local/lib/systest-syslog.py"
    cat >"$root/usr/local/lib/systest-sysv-boot" <<'EOF'
#!/bin/sh
# system test: runlevel 2 of the SysV container (see sysv.sh)
mkdir -p /run/lock /run/sendsigs.omit.d
for s in syslog mirror dns; do /usr/local/sbin/systest sysv-service "$s" start; done
/etc/init.d/clamav-freshclam start
touch /run/systest-booted
EOF
    chmod 0755 "$root/usr/local/lib/systest-sysv-boot"
}
