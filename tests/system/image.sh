# shellcheck shell=bash
# Cached container images for the system tests (sourced by lib.sh).
#
# Two zstd tarballs per release, under $ST_CACHE:
#   base-<suite>-<arch>-<key>.tar.zst   debootstrap minbase + systemd + dbus
#   prep-<suite>-<arch>-<key>.tar.zst   base + the packages the tests need, installed
#                                       in a chroot with a policy-rc.d that denies
#                                       service starts, apt lists removed
# The keys hash this file and the package lists, so editing either rebuilds the
# image on the next run. The Debian mirror comes from the host's apt sources at run
# time (never from a file): the images are built online, the tests run offline.

ST_BASE_PKGS=${SYSTEST_BASE_PKGS:-systemd,systemd-sysv,dbus}
# nagios4 + clamav-freshclam + sudo: what the package works with.
# dnsmasq-base + python3: the local DNS TXT server and the local mirror.
# procps, psmisc: ps/pkill/fuser for the fault tests. less: nothing, but journalctl's pager.
ST_PREP_PKGS=${SYSTEST_PREP_PKGS:-nagios4 clamav-freshclam sudo dnsmasq-base python3 procps psmisc}
# Downloaded into /opt/systest-debs, not installed: the scanner, which only the clamd
# group installs (offline, with dpkg -i) so that every other group runs without it.
ST_SPARE_PKGS=${SYSTEST_SPARE_PKGS:-clamav-daemon}
# The same for the fleet group's two hosts, each set in a directory of its own under
# /opt/systest-fleet: NRPE on the filter, check_nrpe on the monitoring host, Icinga 2.
ST_FLEET_SETS=${SYSTEST_FLEET_SETS:-nrpe-server=nagios-nrpe-server nrpe-plugin=nagios-nrpe-plugin icinga2=icinga2}

# First URI among the host's enabled apt sources matching the regex $1.
host_apt_uri() {
    { grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | cut -d: -f2- | tr ' ' '\n'
      grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'
    } 2>/dev/null | grep -E "$1" | head -n 1 || true
}

image_arch() { dpkg --print-architecture 2>/dev/null || echo amd64; }

# Extra packages the .deb under test needs: first alternative of each Depends and
# Recommends item, so that `apt-get install ./x.deb` is satisfied from the image
# (the container is offline and has no apt lists).
deb_dep_pkgs() {
    local deb=$1
    [[ -n $deb && -f $deb ]] || return 0
    { dpkg-deb -f "$deb" Depends; dpkg-deb -f "$deb" Recommends; } 2>/dev/null |
        tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/:any//; s/[[:space:]]//g' |
        grep -E '^[a-z0-9][a-z0-9+.-]+$' | sort -u | tr '\n' ' '
}

# Bump when the base recipe changes (the prepared key hashes this whole file).
ST_BASE_REV=1
_key() { printf '%s\n' "$@" | sha256sum | cut -c1-12; }
_file_key() { { cat "${BASH_SOURCE[0]}"; printf '%s\n' "$@"; } | sha256sum | cut -c1-12; }

# image_base SUITE -> prints the tarball path, builds it when missing.
image_base() {
    local suite=$1 arch key tarball
    arch=$(image_arch)
    key=$(_key "$ST_BASE_REV" "$suite" "$arch" "$ST_BASE_PKGS")
    tarball=$ST_CACHE/base-$suite-$arch-$key.tar.zst
    mkdir -p "$ST_CACHE"
    (
        flock -w 1800 9 || { echo "systest: timeout waiting for $ST_CACHE lock" >&2; exit 1; }
        [[ -s $tarball ]] && exit 0
        _build_base "$suite" "$arch" "$tarball"
    ) 9>"$ST_CACHE/.base-$suite.lock" || return 1
    echo "$tarball"
}

_build_base() {
    local suite=$1 arch=$2 tarball=$3 mirror security b t0=$SECONDS
    mirror=${SYSTEST_MIRROR:-$(host_apt_uri '/debian/?$')}
    security=${SYSTEST_SECURITY_MIRROR-$(host_apt_uri '/debian-security/?$')}
    [[ -n $mirror ]] || { echo "systest: no Debian mirror in the host's apt sources (set SYSTEST_MIRROR)" >&2; return 1; }
    b=$ST_CACHE/build-base-$suite.$$
    st_note "building base image $suite (debootstrap; a few minutes on a cold cache)"
    rm -rf --one-file-system "$b"; mkdir -p "$b"
    ST_BUILD_DIRS+=("$b")
    if ! timeout 1500 debootstrap --variant=minbase --arch="$arch" --include="$ST_BASE_PKGS" \
            "$suite" "$b" "$mirror" >"$ST_CACHE/debootstrap-$suite.log" 2>&1; then
        tail -n 20 "$ST_CACHE/debootstrap-$suite.log" >&2
        _rm_tree "$b"
        echo "systest: debootstrap $suite failed (log: $ST_CACHE/debootstrap-$suite.log)" >&2
        return 1
    fi
    {
        echo "deb $mirror $suite main"
        echo "deb $mirror $suite-updates main"
        if [[ -n $security ]]; then echo "deb $security $suite-security main"; fi
    } >"$b/etc/apt/sources.list"
    mkdir -p "$b/var/log/journal"
    rm -f "$b/etc/machine-id" "$b/var/lib/dbus/machine-id"
    : >"$b/etc/hostname"
    rm -rf "$b"/var/cache/apt/archives/*.deb "$b"/var/lib/apt/lists/* "$b"/var/log/*.log
    _tar_tree "$b" "$tarball"
    _rm_tree "$b"
    st_note "base image $suite built in $((SECONDS - t0)) s"
}

# image_prepared SUITE [DEB] -> prints the tarball path, builds it when missing.
image_prepared() {
    local suite=$1 deb=${2:-} base arch pkgs key tarball
    base=$(image_base "$suite") || return 1
    arch=$(image_arch)
    # the .deb's dependencies that the base lacks (so that e.g. libc6 does not change
    # the key), plus ours
    pkgs="$ST_PREP_PKGS $(comm -23 <(deb_dep_pkgs "$deb" | tr ' ' '\n' | sed '/^$/d' | sort -u) <(_installed_in "$base"))"
    pkgs=$(printf '%s\n' $pkgs | grep -vx 'clamav-freshen' | sort -u | tr '\n' ' ')
    key=$(_file_key "$suite" "$arch" "$base" "$pkgs" "$ST_SPARE_PKGS $ST_FLEET_SETS")
    tarball=$ST_CACHE/prep-$suite-$arch-$key.tar.zst
    (
        flock -w 1800 9 || { echo "systest: timeout waiting for $ST_CACHE lock" >&2; exit 1; }
        [[ -s $tarball ]] && exit 0
        _build_prepared "$suite" "$base" "$tarball" "$pkgs"
    ) 9>"$ST_CACHE/.prep-$suite.lock" || return 1
    echo "$tarball"
}

# Packages installed in an image tarball.
_installed_in() {
    tar --zstd -xOf "$1" ./var/lib/dpkg/status 2>/dev/null |
        awk '/^Package: /{p=$2} /^Status: install ok installed/{print p}' | sort -u
}

_build_prepared() {
    local suite=$1 base=$2 tarball=$3 pkgs=$4 b t0=$SECONDS rc=0
    b=$ST_CACHE/build-prep-$suite.$$
    st_note "building prepared image $suite: $pkgs"
    rm -rf --one-file-system "$b"; mkdir -p "$b"
    ST_BUILD_DIRS+=("$b")
    tar -C "$b" --numeric-owner --xattrs --xattrs-include='*' --zstd -xf "$base"
    # no service may start in the chroot (it would run in the host's namespaces)
    printf '#!/bin/sh\nexit 101\n' >"$b/usr/sbin/policy-rc.d"; chmod 0755 "$b/usr/sbin/policy-rc.d"
    cp -L /etc/resolv.conf "$b/etc/resolv.conf"
    mount -t proc proc "$b/proc"
    # shellcheck disable=SC2086
    timeout 1500 chroot "$b" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        SPARE="$ST_SPARE_PKGS" FLEET="$ST_FLEET_SETS" DEBIAN_FRONTEND=noninteractive /bin/sh -ec '
        apt-get update -q
        apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
        # Trixie: the one-shot clamav-freshclam-once races the daemon for the log lock at
        # boot and, offline, holds the boot in "starting"; the daemon is what we test.
        if [ -e /lib/systemd/system/clamav-freshclam-once.service ] || [ -e /usr/lib/systemd/system/clamav-freshclam-once.service ]; then
            systemctl mask clamav-freshclam-once.service clamav-freshclam-once.timer
        fi
        # Bookworm installs both units active but disabled: the tests reboot nothing,
        # but a booted container must start them.
        systemctl enable nagios4.service clamav-freshclam.service
        apt-get clean
        mkdir -p /opt/systest-debs/partial
        apt-get install -y -q --download-only -o Dir::Cache::archives=/opt/systest-debs $SPARE
        rm -rf /opt/systest-debs/partial /opt/systest-debs/lock
        for set in $FLEET; do
            d=/opt/systest-fleet/${set%%=*}
            mkdir -p "$d/partial"
            apt-get install -y -q --download-only -o Dir::Cache::archives="$d" ${set#*=}
            rm -rf "$d/partial" "$d/lock"
        done
        ' systest-prep $pkgs >"$ST_CACHE/prep-$suite.log" 2>&1 || rc=$?
    umount "$b/proc" || umount -l "$b/proc" || true
    if [[ $rc != 0 ]]; then
        tail -n 30 "$ST_CACHE/prep-$suite.log" >&2
        _rm_tree "$b"
        echo "systest: preparing $suite failed (rc=$rc, log: $ST_CACHE/prep-$suite.log)" >&2
        return 1
    fi
    rm -f "$b/usr/sbin/policy-rc.d" "$b/etc/machine-id" "$b/var/lib/dbus/machine-id"
    rm -rf "$b"/var/lib/apt/lists/* "$b"/var/cache/apt/*.bin
    _tar_tree "$b" "$tarball"
    _rm_tree "$b"
    # older prepared images of this suite are dead weight
    find "$ST_CACHE" -maxdepth 1 -name "prep-$suite-*.tar.zst" ! -path "$tarball" -delete
    st_note "prepared image $suite built in $((SECONDS - t0)) s"
}

_tar_tree() {
    tar -C "$1" --numeric-owner --xattrs --xattrs-include='*' --zstd -cf "$2.tmp" .
    mv -f "$2.tmp" "$2"
}

# Remove a tree we built, never crossing into a mount.
_rm_tree() {
    local d=$1
    [[ -n $d && -d $d ]] || return 0
    if grep -qF " $d/" /proc/self/mountinfo; then
        grep -F " $d/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done
    fi
    rm -rf --one-file-system "$d"
}
