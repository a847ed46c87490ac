# shellcheck shell=bash
# System test harness: booted Debian containers (systemd as PID 1 under
# systemd-nspawn) on a host whose PID 1 need not be systemd. Sourced by run.sh.
#
# Containers boot with --private-network (loopback only): nothing leaves the machine
# and nothing binds a host port. Inside, a local mirror (127.0.0.1:8001) and a DNS TXT
# server (127.0.0.2:53) stand in for ClamAV's CDN; they are real units of the
# container's systemd, ordered before clamav-freshclam.
#
# Why the odd bits (learnt the hard way, see the booted-container recipe):
#  * nspawn runs from a cgroup of its own: with --keep-unit the payload goes to
#    "<caller's cgroup>/payload", and from the root cgroup containers would share one.
#  * commands enter the namespaces of the container's PID 1 (nspawn's child), not
#    nspawn's (those are the host's), with nsenter --no-fork + sh so that systemd's
#    SIGSTOP-everything at poweroff cannot leave a stopped nsenter hanging it.

set -euo pipefail

ST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ST_REPO=$(cd "$ST_DIR/../.." && pwd)
ST_CACHE=${SYSTEST_CACHE:-/var/cache/clamav-freshen-systest}
ST_WORK=${SYSTEST_WORKDIR:-/var/tmp/clamav-freshen-systest}
ST_MACHINES=$ST_WORK/machines
ST_RUN=$ST_WORK/run
ST_START_TIMEOUT=${SYSTEST_START_TIMEOUT:-120}
ST_STOP_TIMEOUT=${SYSTEST_STOP_TIMEOUT:-40}
ST_EXEC_TIMEOUT=${SYSTEST_EXEC_TIMEOUT:-180}
ST_KEEP=${SYSTEST_KEEP:-0}         # 1: keep machine trees (not running containers) for a post-mortem
ST_PATH_IN='/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
ST_CG_SUB=clamav-freshen-systest

ST_CONTAINERS=()    # started/created by this run: stopped and removed by st_cleanup
ST_BUILD_DIRS=()    # image build trees: removed by st_cleanup
ST_PASSED=0 ST_FAILED=0 ST_SKIPPED=0
ST_RESULTS=()       # "release|test|result|seconds" for the summary tables

# shellcheck source=image.sh
source "$ST_DIR/image.sh"
# shellcheck source=sysv.sh
source "$ST_DIR/sysv.sh"

st_note() { echo "# $*" >&2; }
st_die()  { echo "systest: $*" >&2; exit 1; }
st_now()  { date +%s.%N; }
st_since() { awk -v a="$1" -v b="$(st_now)" 'BEGIN{printf "%.1f", b-a}'; }

# ------------------------------------------------------------------ test database
# Signed test databases (never committed): $CLAMAV_TESTDB, default ../shared/clamav-testdb
# relative to the repository root.
st_testdb() {
    local d=${CLAMAV_TESTDB:-$ST_REPO/../shared/clamav-testdb} n
    [[ -d $d ]] || return 1
    for n in 1 3 4 5 6; do [[ -s $d/test-$n.cvd ]] || return 1; done
    (cd "$d" && pwd)
}

# ------------------------------------------------------------------ processes / cgroups
ct_root() { echo "$ST_MACHINES/$1"; }

ct_nspawn_pid() {
    local pf=$ST_RUN/$1.nspawn.pid pid
    [[ -s $pf ]] || return 1
    pid=$(<"$pf")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' '\n' </proc/"$pid"/cmdline | grep -qx -- "--directory=$(ct_root "$1")" || return 1
    echo "$pid"
}

# Host pid of the container's PID 1: the child of nspawn living in another pid namespace.
ct_leader() {
    local ns c
    ns=$(ct_nspawn_pid "$1") || return 1
    for c in $(cat /proc/"$ns"/task/*/children 2>/dev/null); do
        if [[ $(readlink /proc/"$c"/ns/pid 2>/dev/null) != "$(readlink /proc/self/ns/pid)" ]]; then
            echo "$c"; return 0
        fi
    done
    return 1
}

_alive() {  # pid exists and is no zombie
    local st
    st=$(sed -n 's/^.*) \([A-Za-z]\) .*$/\1/p' /proc/"$1"/stat 2>/dev/null) || return 1
    [[ -n $st && $st != Z ]]
}

_cg_dirs() {
    local name=$1
    if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then         # pure cgroup v2 host
        echo "/sys/fs/cgroup/$ST_CG_SUB/$name"
    else                                                        # hybrid or v1 host
        if [[ ! -d /sys/fs/cgroup/systemd ]] || ! mountpoint -q /sys/fs/cgroup/systemd; then
            st_die "host has no name=systemd cgroup hierarchy at /sys/fs/cgroup/systemd"
        fi
        echo "/sys/fs/cgroup/systemd/$ST_CG_SUB/$name"
        if [[ -f /sys/fs/cgroup/unified/cgroup.controllers ]]; then echo "/sys/fs/cgroup/unified/$ST_CG_SUB/$name"; fi
    fi
}
_cg_procs() {
    local d
    for d in $(_cg_dirs "$1"); do
        if [[ -d $d ]]; then find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
    done | sort -un
}
_cg_cleanup() {
    local d
    for d in $(_cg_dirs "$1"); do
        if [[ -d $d ]]; then find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
        if [[ -d $d ]]; then st_note "warning: could not remove cgroup $d"; fi
        rmdir "${d%/*}" 2>/dev/null || true
    done
    return 0
}

# Host-side processes that entered the container's pid namespace for their children
# (a stopped nsenter would hang the poweroff): un-stopped by ct_stop.
_entered_pids() {
    local ns pat f p
    ns=$(readlink /proc/"$1"/ns/pid 2>/dev/null) || return 0
    pat=${ns//[/\\[}; pat=${pat//]/\\]}
    while read -r f; do
        p=${f#/proc/}; p=${p%%/*}
        if [[ $(readlink /proc/"$p"/ns/pid 2>/dev/null) != "$ns" ]]; then echo "$p"; fi
    done < <(find /proc/[0-9]*/ns -maxdepth 1 -name pid_for_children -lname "$pat" 2>/dev/null)
    return 0
}

# ------------------------------------------------------------------ create
# ct_create NAME SUITE [DEB...]: a fresh tree from the prepared image of SUITE, set up for
# the tests: offline DNS/mirror, freshclam pointed at them, test databases, helper tools.
# ST_FLAVOUR=sysv: from the SysV image instead (sysvinit as PID 1, see sysv.sh).
ct_create() {
    local name=$1 suite=$2 deb=${3:-} tarball root t0 testdb d
    t0=$(st_now)
    [[ $name =~ ^[a-z0-9][a-z0-9-]{0,40}$ ]] || st_die "bad machine name $name"
    testdb=$(st_testdb) || st_die "no test databases (CLAMAV_TESTDB)"
    if [[ ${ST_FLAVOUR:-} = sysv ]]; then
        tarball=$(image_sysv "$suite" "$deb") || st_die "no SysV image for $suite"
    else
        tarball=$(image_prepared "$suite" "$deb") || st_die "no prepared image for $suite"
    fi
    root=$(ct_root "$name")
    if [[ -e $root ]]; then ct_destroy "$name"; fi
    mkdir -p "$ST_MACHINES" "$ST_RUN"
    ST_CONTAINERS+=("$name")
    mkdir "$root"
    tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' --zstd -xf "$tarball"
    _ct_setup_tree "$name" "$suite" "$testdb"
    if ct_is_sysv "$name"; then _ct_setup_sysv "$name"; fi
    mkdir -p "$root/root/debs"
    for d in "${@:3}"; do if [[ -n $d ]]; then cp "$d" "$root/root/debs/"; fi; done
    st_note "created $name ($suite) in $(st_since "$t0") s"
}

_ct_setup_tree() {
    local name=$1 suite=$2 testdb=$3 root uid gid cver
    root=$(ct_root "$name")
    echo "$name" >"$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$name" >"$root/etc/hosts"
    tr -d '-' </proc/sys/kernel/random/uuid >"$root/etc/machine-id"
    echo "$suite" >"$root/etc/systest-suite"
    rm -f "$root/etc/resolv.conf"
    echo 'nameserver 127.0.0.2' >"$root/etc/resolv.conf"

    uid=$(awk -F: '$1=="clamav"{print $3}' "$root/etc/passwd")
    gid=$(awk -F: '$1=="clamav"{print $4}' "$root/etc/passwd")
    [[ -n $uid && -n $gid ]] || st_die "$name: no clamav user in the image"
    cver=$(awk '/^Package: clamav-freshclam$/{p=1} p&&/^Version:/{print $2; exit}' "$root/var/lib/dpkg/status")
    cver=${cver#*:}; cver=${cver%%[-+~]*}

    # test databases: local main=1, daily=3; the mirror starts in sync (daily 3)
    install -d -m 0755 "$root/usr/local/share/systest/testdb" "$root/srv/systest/mirror" "$root/etc/systest"
    cp "$testdb"/test-*.cvd "$root/usr/local/share/systest/testdb/"
    install -m 0644 -o "$uid" -g "$gid" "$testdb/test-1.cvd" "$root/var/lib/clamav/main.cvd"
    install -m 0644 -o "$uid" -g "$gid" "$testdb/test-3.cvd" "$root/var/lib/clamav/daily.cvd"
    cp "$testdb/test-1.cvd" "$root/srv/systest/mirror/main.cvd"
    cp "$testdb/test-3.cvd" "$root/srv/systest/mirror/daily.cvd"
    echo 3 >"$root/etc/systest/daily"
    echo "$cver" >"$root/etc/systest/clamav-version"
    echo ok >"$root/etc/systest/mirror-mode"

    # freshclam: local mirror and DNS only, whole-file updates, one attempt
    local conf=$root/etc/clamav/freshclam.conf k
    [[ -f $conf ]] || st_die "$name: no $conf in the image"
    for k in DatabaseMirror PrivateMirror ScriptedUpdates Bytecode MaxAttempts ConnectTimeout DNSDatabaseInfo; do
        sed -i "/^[[:space:]]*${k}[[:space:]]/d" "$conf"
    done
    cat >>"$conf" <<'EOF'
# system test: local mirror and DNS TXT server inside the container
DatabaseMirror http://127.0.0.1:8001
DNSDatabaseInfo current.cvd.clamav.net
ScriptedUpdates no
Bytecode false
MaxAttempts 1
ConnectTimeout 5
EOF

    # status.dat every second instead of every 10 s: the tests read it after forced
    # checks (test-only; nothing of the package depends on it)
    sed -i 's/^status_update_interval=.*/status_update_interval=1/' "$root/etc/nagios4/nagios.cfg"

    install -m 0755 "$ST_DIR/files/mirror.py" "$root/usr/local/lib/systest-mirror.py"
    install -m 0755 "$ST_DIR/files/systest" "$root/usr/local/sbin/systest"
    cat >"$root/etc/systemd/system/systest-mirror.service" <<'EOF'
[Unit]
Description=system test: local ClamAV mirror on 127.0.0.1:8001
Before=clamav-freshclam.service nagios4.service
# every test restarts it: no start rate limit
StartLimitIntervalSec=0
[Service]
ExecStart=/usr/bin/python3 /usr/local/lib/systest-mirror.py 127.0.0.1 8001 /srv/systest/mirror /etc/systest/mirror-mode
[Install]
WantedBy=multi-user.target
EOF
    cat >"$root/etc/systemd/system/systest-dns.service" <<'EOF'
[Unit]
Description=system test: DNS TXT current.cvd.clamav.net on 127.0.0.2:53
Before=clamav-freshclam.service nagios4.service
StartLimitIntervalSec=0
After=network.target
[Service]
# the record's time must be current (freshclam ignores records older than 12 h)
ExecStartPre=/usr/local/sbin/systest dns-conf
ExecStart=/usr/sbin/dnsmasq --keep-in-foreground --conf-file=/run/systest-dnsmasq.conf
[Install]
WantedBy=multi-user.target
EOF
    ln -sf ../systest-mirror.service "$root/etc/systemd/system/multi-user.target.wants/systest-mirror.service"
    ln -sf ../systest-dns.service "$root/etc/systemd/system/multi-user.target.wants/systest-dns.service"
    # loopback needs 127.0.0.2 for dnsmasq: it is in 127/8, lo answers it without config
}

# ------------------------------------------------------------------ start / exec / stop
ct_start() {
    local name=$1 root log t0 launcher leader state="" deadline d procs=() boot=(--boot) cmd=()
    root=$(ct_root "$name"); log=$ST_RUN/$name.log; t0=$(st_now)
    [[ -d $root ]] || st_die "$name does not exist"
    # SysV: sysvinit as the command, PID 1 (--boot would pick systemd; see sysv.sh)
    if ct_is_sysv "$name"; then boot=(); cmd=(/sbin/init); fi
    # A network namespace made by the test (the fleet group's private link) instead of
    # nspawn's loopback-only one: $ST_RUN/NAME.netns names it.
    local net=(--private-network)
    if [[ -s $ST_RUN/$name.netns ]]; then net=(--network-namespace-path="$(cat "$ST_RUN/$name.netns")"); fi
    if ct_nspawn_pid "$name" >/dev/null; then st_die "$name is already running"; fi
    mkdir -p "$ST_RUN"; rm -f "$ST_RUN/$name.nspawn.pid"
    _cg_cleanup "$name"
    for d in $(_cg_dirs "$name"); do mkdir -p "$d"; procs+=("$d/cgroup.procs"); done
    : >"$log"
    # The launcher moves itself into the container's own cgroups, records its pid and
    # execs nspawn; setsid: out of our process group (timeouts signal groups).
    # shellcheck disable=SC2016
    setsid /bin/bash -c '
        pf=$1; n=$2; shift 2
        for ((i=0; i<n; i++)); do echo $$ >"$1"; shift; done
        echo $$ >"$pf"
        exec "$@"' st-launch "$ST_RUN/$name.nspawn.pid" "${#procs[@]}" "${procs[@]}" \
        env SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 \
        systemd-nspawn --quiet --register=no --keep-unit --directory="$root" --machine="$name" \
            "${boot[@]}" --console=read-only --link-journal=no "${net[@]}" --resolv-conf=off \
            --timezone=off ${SYSTEST_NSPAWN_ARGS:-} "${cmd[@]}" \
        </dev/null >>"$log" 2>&1 8>&- &
    launcher=$!
    deadline=$((SECONDS + ST_START_TIMEOUT))
    while :; do
        if ! _alive "$launcher"; then
            tail -n 30 "$log" >&2; st_die "systemd-nspawn for $name exited during boot (log: $log)"
        fi
        if leader=$(ct_leader "$name"); then
            if ((${#cmd[@]})); then
                if ST_PREFIX="timeout 10" _ns_exec "$leader" test -e /run/systest-booted 2>/dev/null; then state=running; fi
            else
                state=$(ST_PREFIX="timeout 10" _ns_exec "$leader" systemctl is-system-running 2>/dev/null) || true
            fi
            case $state in
                running|degraded) break ;;
                maintenance|stopping) tail -n 30 "$log" >&2; st_die "$name boot failed: state=$state" ;;
            esac
        fi
        if ((SECONDS >= deadline)); then
            tail -n 30 "$log" >&2
            st_die "timeout (${ST_START_TIMEOUT}s) waiting for $name to boot (state=$state)"
        fi
        sleep 0.2
    done
    st_note "booted $name in $(st_since "$t0") s: $state"
    if [[ $state = degraded ]]; then
        _ns_exec "$leader" systemctl --failed --no-legend --plain 2>&1 | sed 's/^/#   failed: /' >&2 || true
    fi
}

_ns_exec() {
    local leader=$1; shift
    # shellcheck disable=SC2086
    ${ST_PREFIX:-} nsenter --target "$leader" --all --no-fork -- \
        /usr/bin/env -i PATH="$ST_PATH_IN" HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 \
        TERM=dumb DEBIAN_FRONTEND=noninteractive SYSTEMD_PAGER= SYSTEMD_COLORS=0 \
        /bin/sh -c '"$@"; exit $?' st-exec "$@" 8>&-
}

# ct_exec NAME CMD...: run CMD inside (bounded by $ST_EXEC_TIMEOUT, or $T for one call);
# stdin/stdout/stderr and the exit status pass through (124: timeout).
ct_exec() {
    local name=$1 leader; shift
    leader=$(ct_leader "$name") || { echo "systest: $name is not running" >&2; return 125; }
    ST_PREFIX="timeout --kill-after=10 ${T:-$ST_EXEC_TIMEOUT}" _ns_exec "$leader" "$@"
}
# ct_sh NAME SCRIPT [ARGS...]: a shell script inside.
ct_sh() { local name=$1; shift; ct_exec "$name" /bin/sh -c "$@"; }

ct_stop() {
    local name=$1 root nspid leader="" t0 deadline how=poweroff ep n=0 left p
    root=$(ct_root "$name"); t0=$(st_now)
    if nspid=$(ct_nspawn_pid "$name"); then
        if leader=$(ct_leader "$name") && ct_is_sysv "$name"; then
            how=sigkill-init                                    # sysvinit: see sysv.sh
            kill -s KILL "$leader" 2>/dev/null || true
        elif [[ -n $leader ]]; then
            kill -s SIGRTMIN+4 "$leader" 2>/dev/null || true    # systemd: poweroff
        else
            kill -s TERM "$nspid" 2>/dev/null || true
        fi
        deadline=$((SECONDS + ST_STOP_TIMEOUT))
        while kill -0 "$nspid" 2>/dev/null && ((SECONDS < deadline)); do
            if [[ -n $leader ]] && ((++n % 5 == 0)); then
                for ep in $(_entered_pids "$leader"); do kill -s CONT "$ep" 2>/dev/null || true; done
            fi
            sleep 0.2
        done
        if kill -0 "$nspid" 2>/dev/null; then
            how=killed
            st_note "warning: $name did not power off within ${ST_STOP_TIMEOUT}s, killing it"
            if [[ -n $leader ]]; then kill -s KILL "$leader" 2>/dev/null || true; fi
            sleep 1
            kill -s KILL "$nspid" 2>/dev/null || true
            deadline=$((SECONDS + 10))
            while kill -0 "$nspid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
        fi
    else
        how=not-running
    fi
    left=$(_cg_procs "$name")
    if [[ -n $left ]]; then
        st_note "warning: killing leftover pids of $name: $left"
        for p in $left; do kill -s CONT "$p" 2>/dev/null || true; kill -s KILL "$p" 2>/dev/null || true; done
        sleep 0.5
    fi
    _cg_cleanup "$name"
    if [[ $how = killed && -d $root ]]; then rm -f "/run/systemd/nspawn/locks/inode-$(stat -c %d:%i "$root")"; fi
    rmdir "/run/systemd/nspawn/propagate/$name" 2>/dev/null || true
    rm -f "$ST_RUN/$name.nspawn.pid"
    if grep -qF " $root/" /proc/self/mountinfo; then
        st_note "warning: mounts left below $root"
        grep -F " $root/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r p; do umount -l "$p" 2>/dev/null || true; done
    fi
    if [[ $how != not-running ]]; then st_note "stopped $name ($how) in $(st_since "$t0") s"; fi
    [[ $how != killed ]]
}

ct_destroy() {
    local name=$1 root
    root=$(ct_root "$name")
    ct_stop "$name" || true
    if [[ $ST_KEEP = 1 ]]; then st_note "kept $root (SYSTEST_KEEP=1)"; return 0; fi
    _rm_tree "$root"
    rm -f "$ST_RUN/$name.log"
}

# (fd 8 is run.sh's lock: containers and commands inside must not inherit it)

# Stop and remove everything this run made; runs from the EXIT/INT/TERM trap.
st_cleanup() {
    local rc=$? name d
    trap - EXIT INT TERM
    set +e
    for name in "${ST_CONTAINERS[@]}"; do
        if [[ -d $(ct_root "$name") ]] || ct_nspawn_pid "$name" >/dev/null 2>&1; then ct_destroy "$name"; fi
    done
    prev_stop
    # image builds (also those started in a subshell: same $$)
    for d in "${ST_BUILD_DIRS[@]}" "$ST_CACHE"/build-*."$$"; do _rm_tree "$d"; done
    rm -rf "$ST_RUN/report" "$ST_RUN/deb2" "$ST_RUN"/*."$$".out
    rmdir "$ST_MACHINES" "$ST_RUN" "$ST_WORK" 2>/dev/null
    for d in $(_cg_dirs x 2>/dev/null); do rmdir "${d%/*}" 2>/dev/null; done
    exit "$rc"
}
st_trap() {
    trap st_cleanup EXIT
    trap 'echo "systest: interrupted" >&2; exit 130' INT TERM
}

# ------------------------------------------------------------------ the previous release
# The previous release's .deb (previous-release.sh: from the repository's history) is built
# in the background while the first groups run, by the run that started first; the
# per-release runs find its state in $SYSTEST_PREV: out (the path, or "SKIP: why"), log, rc.
# prev_start [DEB]: start it (DEB given: that file is the previous release, nothing built).
ST_PREV_PID=
prev_start() {
    [[ -z ${SYSTEST_PREV:-} ]] || return 0
    export SYSTEST_PREV=$ST_WORK/prev
    rm -rf "$SYSTEST_PREV"; mkdir -p "$SYSTEST_PREV"
    if [[ -n ${1:-} ]]; then
        realpath "$1" >"$SYSTEST_PREV/out"; : >"$SYSTEST_PREV/log"; echo 0 >"$SYSTEST_PREV/rc"
        return 0
    fi
    # a session of its own, so that an interrupted run stops cargo and rustc with it; at the
    # lowest priority, so the tests' own waits do not feel the compiler
    setsid nice -n 19 ionice -c 3 bash -c 'rc=0; "$1" "$2" >"$3/out" 2>"$3/log" || rc=$?; echo "$rc" >"$3/rc.new"; mv "$3/rc.new" "$3/rc"' \
        prev "$ST_DIR/previous-release.sh" "$ST_REPO/target/previous-release" "$SYSTEST_PREV" 8>&- &
    ST_PREV_PID=$!
    st_note "building the previous release in the background (log: $SYSTEST_PREV/log)"
}
# prev_stop: the build stopped if it still runs, its state removed (by the run that started it).
prev_stop() {
    [[ -n $ST_PREV_PID ]] || return 0
    kill -TERM -- "-$ST_PREV_PID" 2>/dev/null && wait "$ST_PREV_PID" 2>/dev/null
    rm -rf "$SYSTEST_PREV"
    ST_PREV_PID=
}
# prev_deb: waits for the build (at most 30 min), then prints the .deb's path (status 0),
# the reason it cannot be had (status 77: "SKIP: why"), or what went wrong (status 1).
prev_deb() {
    local d=${SYSTEST_PREV:-} i rc
    [[ -n $d ]] || { echo "SKIP: no previous release asked for (run.sh starts its build)"; return 77; }
    for ((i = 0; i < 3600; i++)); do [[ -s $d/rc ]] && break; sleep 0.5; done
    [[ -s $d/rc ]] || { echo "the previous release's build did not end in 30 min"; tail -n 20 "$d/log"; return 1; }
    rc=$(cat "$d/rc")
    case $rc in
        0)  tail -n 1 "$d/out" ;;
        77) grep -m 1 '^SKIP:' "$d/out"; return 77 ;;
        *)  echo "previous-release.sh failed (rc=$rc):"; tail -n 30 "$d/log"; return 1 ;;
    esac
}

# ------------------------------------------------------------------ waiting
# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.5 s until it succeeds.
wait_for() {
    local limit=$1 what=$2 deadline; shift 2
    deadline=$(awk -v n="$(st_now)" -v l="$limit" 'BEGIN{printf "%d", n+l}')
    while :; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        if (($(date +%s) >= deadline)); then
            echo "timeout after ${limit}s waiting for: $what" >&2
            return 1
        fi
        sleep 0.5
    done
}

# ------------------------------------------------------------------ TAP-like reporting
# Inside a test (a subshell), fail prints the reason and ends the test.
fail() { echo "#   FAIL: $*" >&2; exit 1; }
skip() { echo "#   SKIP: $*" >&2; exit 77; }
check() {  # check DESCRIPTION CMD...: CMD must succeed
    local what=$1; shift
    if ! "$@"; then fail "$what (command: $*)"; fi
}

# st_test RELEASE CONTAINER NAME FUNCTION [ARGS...]: run FUNCTION in a subshell with
# errexit; print "ok - RELEASE: NAME" or "not ok" with the container's diagnostics.
st_test() {
    local rel=$1 ct=$2 tname=$3 fn=$4 rc t0 secs out outcome; shift 4
    t0=$(st_now)
    out=$ST_RUN/test.$$.out
    mkdir -p "$ST_RUN"
    set +e
    # shellcheck disable=SC2154  # rc_ is assigned in the trap string itself
    ( set -eE -o pipefail; trap 'rc_=$?; [ -n "${ST_ERR_SEEN:-}" ] || echo "#   error: rc=$rc_: $BASH_COMMAND; in ${FUNCNAME[*]} at lines ${BASH_LINENO[*]}" >&2; ST_ERR_SEEN=1' ERR; "$fn" "$ct" "$@" ) >"$out" 2>&1
    rc=$?
    set -e
    secs=$(st_since "$t0")
    # a test may name its outcome for the summary table: "#   outcome: TEXT"
    outcome=$(sed -n 's/^#   outcome: //p' "$out" | tail -n 1 | tr '|' '/')
    case $rc in
        0)  echo "ok - $rel: $tname (${secs}s)"; ST_PASSED=$((ST_PASSED + 1))
            ST_RESULTS+=("$rel|$tname|pass${outcome:+: $outcome}|$secs")
            if [[ ${SYSTEST_VERBOSE:-0} = 1 ]]; then sed 's/^/  /' "$out"; fi ;;
        77) echo "ok - $rel: $tname # SKIP $(grep -m1 'SKIP:' "$out" | sed 's/.*SKIP: //')"; ST_SKIPPED=$((ST_SKIPPED + 1))
            ST_RESULTS+=("$rel|$tname|skip|$secs") ;;
        *)  echo "not ok - $rel: $tname (${secs}s)"; ST_FAILED=$((ST_FAILED + 1))
            ST_RESULTS+=("$rel|$tname|FAIL${outcome:+: $outcome}|$secs")
            sed 's/^/  /' "$out" | tail -n 60
            st_diag "$ct" ;;
    esac
    # lines a test wants in the final report (timings, tables)
    grep '^#   report: ' "$out" | sed 's/^#   report: /# /' >>"$ST_RUN/report" || true
    rm -f "$out"
}

# Tail of the journal and the state of the interesting units, after a failure.
st_diag() {
    local ct=$1
    ct_leader "$ct" >/dev/null 2>&1 || { echo "  # ($ct is not running)"; return 0; }
    if ct_is_sysv "$ct"; then
        {
            echo "--- processes"
            T=20 ct_exec "$ct" ps -eo pid,user,args
            echo "--- syslog (tail)"
            T=20 ct_exec "$ct" tail -n 40 /var/log/systest-syslog.log
        } 2>&1 | sed 's/^/  # /'
        return 0
    fi
    {
        echo "--- systemctl --failed"
        T=20 ct_exec "$ct" systemctl --failed --no-legend --plain
        echo "--- units"
        T=20 ct_exec "$ct" systemctl is-active nagios4 clamav-freshclam systest-mirror systest-dns
        echo "--- journalctl -t clamav-freshen (tail)"
        T=20 ct_exec "$ct" journalctl -q --no-pager -o short-precise -t clamav-freshen -n 25
        echo "--- journal (tail)"
        T=20 ct_exec "$ct" journalctl -q --no-pager -o short-precise -n 25
    } 2>&1 | sed 's/^/  # /'
    return 0
}

st_report_line() { echo "#   report: $*" >&2; }
st_outcome() { echo "#   outcome: $*" >&2; }

# Summary tables of the fault tests (issue 6) and the hostile-clamav tests (issue 9):
# test, release, seconds, outcome.
st_summary_tables() {
    local r rel name res secs printed kind
    for kind in fault hostile; do
        printed=0
        for r in "${ST_RESULTS[@]}"; do
            IFS='|' read -r rel name res secs <<<"$r"
            [[ $name == "$kind: "* ]] || continue
            if ((printed == 0)); then
                echo "# ---- ${kind}s"
                printf '# %-56s | %-8s | %7s | %s\n' "$kind" "release" "seconds" "result: outcome"
                printed=1
            fi
            printf '# %-56s | %-8s | %7s | %s\n' "${name#"$kind": }" "$rel" "$secs" "$res"
        done
    done
}

# ------------------------------------------------------------------ package helpers
# shellcheck disable=SC2034  # used by t_*.sh
ST_NAGIOS_OBJ=/etc/nagios4/conf.d/clamav-freshen.cfg
# shellcheck disable=SC2034  # used by t_*.sh
ST_HANDLER_CONF=/etc/clamav-freshen/clamav-freshen.toml

# pkg_install CT DEB_BASENAME: apt-get install ./DEB inside, offline (no apt lists, no
# network: a dependency missing from the image fails here, it is not fetched).
# The output is left in /root/apt-last.log (and on stdout).
pkg_install() {
    local ct=$1 deb=$2
    T=300 ct_sh "$ct" 'apt-get install -y /root/debs/"$1" >/root/apt-last.log 2>&1; rc=$?; cat /root/apt-last.log; exit $rc' sh "$deb"
}

# nagios_healthy CT: the configuration is valid and nagios4 runs.
nagios_healthy() {
    local ct=$1 out
    if ! out=$(ct_exec "$ct" nagios4 -v /etc/nagios4/nagios.cfg 2>&1); then
        echo "nagios4 -v failed:"; printf '%s\n' "$out" | grep -iE -A2 'error|warning' | head -n 20
        return 1
    fi
    if ! ct_exec "$ct" systemctl is-active --quiet nagios4.service; then
        echo "nagios4 is not running:"; ct_exec "$ct" systemctl status --no-pager -n 10 nagios4.service || true
        return 1
    fi
}

# svc CT FIELD...: fields of the "ClamAV signatures" service from status.dat.
svc() { local ct=$1; shift; ct_exec "$ct" systest svc "$@"; }

# audit_since CT EPOCH: the handler's audit lines (journal ident clamav-freshen) since EPOCH.
audit_since() {
    if ct_is_sysv "$1"; then ct_exec "$1" systest audit-since "$2"; return; fi
    ct_exec "$1" journalctl -q --no-pager -o cat -t clamav-freshen --since "@$2"
}

# worker_idle CT: no clamav-freshen process (handler or detached worker) is running.
worker_idle() { ! ct_exec "$1" pgrep -x clamav-freshen >/dev/null; }

# set_handler_config CT [LINE...]: the shipped configuration plus LINEs (every key is
# commented at its default there, so appending cannot duplicate a key).
set_handler_config() {
    local ct=$1; shift
    ct_sh "$ct" '
        f=/etc/clamav-freshen/clamav-freshen.toml
        [ -f /root/clamav-freshen.toml.orig ] || cp -p "$f" /root/clamav-freshen.toml.orig
        cp -p /root/clamav-freshen.toml.orig "$f"
        for l in "$@"; do printf "%s\n" "$l" >>"$f"; done
        chown root:root "$f"; chmod 0644 "$f"' sh "$@"
}
restore_handler_config() {
    ct_sh "$1" 'if [ -f /root/clamav-freshen.toml.orig ]; then cp -p /root/clamav-freshen.toml.orig /etc/clamav-freshen/clamav-freshen.toml; rm -f /root/clamav-freshen.toml.orig; fi'
}

# pkg_upgrade_checked CT DEB_BASENAME: DEB installed over the installed package the way an
# admin upgrades, with a change of theirs in the conffile: the version newer, the package
# installed, the change kept (no .dpkg-new), sudo and Nagios valid, status answering.
# apt's output stays in /root/apt-last.log.
pkg_upgrade_checked() {
    local ct=$1 deb=$2 v_old v_new out
    v_old=$(ct_exec "$ct" dpkg-query -W -f '${Version}' clamav-freshen)
    set_handler_config "$ct" "rate_limit_secs = 901"
    out=$(pkg_install "$ct" "$deb") || { printf '%s\n' "$out" | tail -n 30; fail "the upgrade from $v_old failed"; }
    printf '%s\n' "$out" | grep -E '^(clamav-freshen|Setting up|Unpacking)' || true
    v_new=$(ct_exec "$ct" dpkg-query -W -f '${Version}' clamav-freshen)
    echo "upgraded $v_old -> $v_new"
    ct_exec "$ct" dpkg --compare-versions "$v_new" gt "$v_old" || fail "$v_new is not newer than $v_old"
    [[ $(ct_exec "$ct" dpkg-query -W -f '${db:Status-Abbrev}' clamav-freshen) = "ii " ]] || fail "not installed after the upgrade"
    ct_exec "$ct" grep -q '^rate_limit_secs = 901' "$ST_HANDLER_CONF" || fail "the admin's conffile change was lost"
    ! ct_exec "$ct" test -e "$ST_HANDLER_CONF.dpkg-new" || fail "a conffile prompt was left (.dpkg-new)"
    restore_handler_config "$ct"
    check "visudo -c" ct_exec "$ct" visudo -c
    check "nagios4 -v valid and running" nagios_healthy "$ct"
    check "clamav-freshen status" ct_exec "$ct" /usr/sbin/clamav-freshen status
}

# The package's heal timer stopped (not disabled): a timer run in the middle of a test
# would start repairs the test does not count. The timer tests start it themselves.
heal_timer_off() {
    ct_exec "$1" systemctl stop clamav-freshen-heal.timer clamav-freshen-heal.service 2>/dev/null || true
}

# nagios_own_checks CT off|on: Nagios's own checks and event handler for the service (off:
# only the test triggers repairs, so counts are exact; forced checks still run).
nagios_own_checks() {
    local ct=$1 verb=DISABLE
    if [[ $2 = on ]]; then verb=ENABLE; fi
    ct_exec "$ct" systest nagios-cmd "${verb}_SVC_EVENT_HANDLER;localhost;ClamAV signatures" &&
        ct_exec "$ct" systest nagios-cmd "${verb}_SVC_CHECK;localhost;ClamAV signatures"
}

# Back to a clean slate between tests: no worker running, database main 1 / daily 3,
# mirror in sync, daemon up, the handler's rate-limit state and markers gone.
st_reset() {
    local ct=$1
    heal_timer_off "$ct"
    wait_for 120 "no clamav-freshen worker running" worker_idle "$ct" || true
    ct_sh "$ct" 'rm -f /etc/cron.d/clamav-freshclam; rm -rf /var/lib/clamav-freshen/* /run/clamav-freshen/*' || true
    ct_exec "$ct" systest reset
}

# Make Nagios check "ClamAV signatures" every 6 s and retry every 3 s (the shipped
# 15/5 minutes would make the loop test last half an hour). Fractional intervals are
# fine for Nagios 4 (interval_length stays 60, so no other service changes). The
# installed object file is edited in place and restored by nagios_normal_intervals.
nagios_fast_intervals() {
    local ct=$1
    ct_sh "$ct" '
        f=/etc/nagios4/conf.d/clamav-freshen.cfg
        [ -f /root/nagios-obj.orig ] || cp -p "$f" /root/nagios-obj.orig
        sed -i -E "s/^([[:space:]]*check_interval[[:space:]]+).*/\10.1/; s/^([[:space:]]*retry_interval[[:space:]]+).*/\10.05/" "$f"
        grep -qE "^[[:space:]]*check_interval[[:space:]]+0.1" "$f" || sed -i "/service_description/a\    check_interval 0.1" "$f"
        grep -qE "^[[:space:]]*retry_interval[[:space:]]+0.05" "$f" || sed -i "/service_description/a\    retry_interval 0.05" "$f"
        nagios4 -v /etc/nagios4/nagios.cfg >/dev/null && systemctl reload nagios4.service'
}
nagios_normal_intervals() {
    ct_sh "$1" '
        if [ -f /root/nagios-obj.orig ]; then
            cp -p /root/nagios-obj.orig /etc/nagios4/conf.d/clamav-freshen.cfg; rm -f /root/nagios-obj.orig
            nagios4 -v /etc/nagios4/nagios.cfg >/dev/null && systemctl reload nagios4.service
        fi'
}

# svc_ok_after CT EPOCH: the service was checked after EPOCH and is OK.
svc_ok_after() {
    local out lc st
    out=$(svc "$1" last_check current_state) || return 1
    lc=$(sed -n 1p <<<"$out"); st=$(sed -n 2p <<<"$out")
    [[ $lc =~ ^[0-9]+$ && $lc -ge $2 && $st = 0 ]]
}
svc_state_after() {  # svc_state_after CT EPOCH STATE
    local out lc st
    out=$(svc "$1" last_check current_state) || return 1
    lc=$(sed -n 1p <<<"$out"); st=$(sed -n 2p <<<"$out")
    [[ $lc =~ ^[0-9]+$ && $lc -ge $2 && $st = "$3" ]]
}

daily_is() { [[ $(ct_exec "$1" systest local-daily 2>/dev/null) = "$2" ]]; }
daemon_active() {
    if ct_is_sysv "$1"; then ct_exec "$1" systest daemon-active; return; fi
    ct_exec "$1" systemctl is-active --quiet clamav-freshclam.service
}
