#!/bin/bash
# System tests: the built .deb in booted Debian 12 and 13 containers, with nagios4 and
# clamav-freshclam under systemd, a local mirror and DNS TXT server, nothing leaving
# the machine. Run as root:
#
#   tests/system/run.sh [--deb PATH] [--deb2 PATH] [--deb-prev PATH] [--mdeb PATH]
#                       [--release bookworm,trixie] [--only GROUP,...] [--keep]
#
# GROUP: rig install timer privilege loop admin lifecycle faults diagnosis mirror piuparts hostile clamd
#        fleet icinga icinga-agent
#        (default: all; fleet runs on bookworm only, icinga and icinga-agent on trixie only)
# --deb    the package (default: newest target/debian/clamav-freshen_*.deb)
# --deb2   a newer build for the upgrade test (default: repacked from --deb with
#          the version bumped to <version>+systest2)
# --deb-prev  the previous release's package, for the piuparts group's upgrade (default:
#          built from the repository's history by previous-release.sh, in the background
#          while the first groups run; kept in target/previous-release)
# --mdeb   the monitoring host's package, for the fleet group (default: newest
#          target/debian/clamav-freshen-monitor_*.deb; cargo deb --variant monitor)
# --keep   keep machine trees after the run (SYSTEST_KEEP=1), for a post-mortem
#
# Environment: CLAMAV_TESTDB (signed test databases; default ../shared/clamav-testdb
# beside the repository), SYSTEST_CACHE (/var/cache/clamav-freshen-systest: image
# tarballs), SYSTEST_WORKDIR (/var/tmp/clamav-freshen-systest: running machines),
# SYSTEST_MIRROR (Debian mirror for image builds; default: the host's apt sources),
# SYSTEST_VERBOSE=1 (print every test's notes), SYSTEST_FAULTS / SYSTEST_HOSTILE=REGEX
# (only the fault / hostile tests whose name matches), SYSTEST_PARALLEL=0 (the releases one
# after the other instead of at once).
#
# Output: "ok - <release>: <test>" / "not ok - ..." lines with diagnostics, then one
# line "N passed, N failed[, N skipped]". Exit status 1 when anything failed.
set -euo pipefail
ST_T0=$SECONDS
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

releases=bookworm,trixie
groups=rig,install,timer,privilege,loop,admin,lifecycle,faults,diagnosis,mirror,piuparts,hostile,clamd,fleet,icinga,icinga-agent
deb=${SYSTEST_DEB:-}
deb2=${SYSTEST_DEB2:-}
mdeb=${SYSTEST_MDEB:-}
deb_prev=
while (($#)); do
    case $1 in
        --deb) deb=$2; shift 2 ;;
        --deb2) deb2=$2; shift 2 ;;
        --mdeb) mdeb=$2; shift 2 ;;
        --deb-prev) deb_prev=$2; shift 2 ;;
        --release) releases=$2; shift 2 ;;
        --only) groups=$2; shift 2 ;;
        --keep) ST_KEEP=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) st_die "unknown argument $1 (--help)" ;;
    esac
done
[[ $EUID -eq 0 ]] || st_die "must run as root (it boots containers)"
has_group() { [[ ,$groups, == *,$1,* ]]; }
# the previous release is built only for a run that upgrades from it
want_prev() { has_group piuparts && { [[ -n $deb ]] || compgen -G "$ST_REPO/target/debian/clamav-freshen_*.deb" >/dev/null; }; }

# host tools (CI starts from a fresh machine)
need=()
for p in debootstrap:debootstrap systemd-nspawn:systemd-container zstd:zstd nsenter:util-linux \
         flock:util-linux dpkg-deb:dpkg; do
    command -v "${p%%:*}" >/dev/null || need+=("${p#*:}")
done
if ((${#need[@]})); then
    st_note "installing host packages: ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

# Both releases at once: they share nothing (private networks, their own machine names,
# their own work directories under $ST_WORK, per-release image locks), so each is a run of
# this script of its own, in parallel; their reports follow in release order, then the
# total. SYSTEST_PARALLEL=0: one release after the other in this process.
IFS=, read -r -a rel_list <<<"$releases"
if ((${#rel_list[@]} > 1)) && [[ ${SYSTEST_PARALLEL:-1} = 1 ]]; then
    mkdir -p "$ST_WORK"
    exec 8>"$ST_WORK.lock"
    if ! flock -n 8; then
        st_note "another system test run is in progress; waiting for it (at most 30 min)"
        flock -w 1800 8 || st_die "another system test run still holds $ST_WORK.lock"
    fi
    st_note "releases ${releases} in parallel (SYSTEST_PARALLEL=0: one after the other)"
    if want_prev; then prev_start "$deb_prev"; fi
    pids=()
    for rel in "${rel_list[@]}"; do
        args=(--release "$rel" --only "$groups")
        if [[ -n $deb ]]; then args+=(--deb "$deb"); fi
        if [[ -n $deb2 ]]; then args+=(--deb2 "$deb2"); fi
        if [[ -n $mdeb ]]; then args+=(--mdeb "$mdeb"); fi
        if [[ $ST_KEEP = 1 ]]; then args+=(--keep); fi
        SYSTEST_PARALLEL=0 SYSTEST_WORKDIR="$ST_WORK/par-$rel" \
            "$0" "${args[@]}" >"$ST_WORK/par-$rel.out" 2>&1 8>&- &
        pids+=("$!")
    done
    trap 'kill -TERM "${pids[@]}" 2>/dev/null; prev_stop; wait; exit 130' INT TERM
    for p in "${pids[@]}"; do wait "$p" || true; done
    prev_stop
    tp=0 tf=0 ts=0
    for rel in "${rel_list[@]}"; do
        out=$ST_WORK/par-$rel.out
        echo "# ==== $rel"
        cat "$out"
        counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$out" | tail -n 1 || true)
        if [[ $counts =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
            tp=$((tp + BASH_REMATCH[1])) tf=$((tf + BASH_REMATCH[2])) ts=$((ts + ${BASH_REMATCH[4]:-0}))
        else
            echo "not ok - $rel: the run ended without a result line"
            tf=$((tf + 1))
        fi
        rm -f "$out" "$ST_WORK/par-$rel.lock"
    done
    rmdir "$ST_WORK" 2>/dev/null || true
    echo "# total time $((SECONDS - ST_T0)) s (releases in parallel)"
    if ((ts)); then echo "$tp passed, $tf failed, $ts skipped"; else echo "$tp passed, $tf failed"; fi
    ((tf == 0))
    exit
fi

for f in "$ST_DIR"/t_*.sh; do
    # shellcheck source=/dev/null
    source "$f"
done

if ! st_testdb >/dev/null; then
    echo "# SKIP: no signed ClamAV test databases (CLAMAV_TESTDB=${CLAMAV_TESTDB:-$ST_REPO/../shared/clamav-testdb})"
    echo "# SKIP: the system tests need them for the local mirror; nothing was run"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi

# One run at a time on a machine: containers have fixed names, and a second run would
# destroy the first one's. Wait (bounded) for a run in progress.
mkdir -p "$(dirname "$ST_WORK")"
exec 8>"$ST_WORK.lock"
if ! flock -n 8; then
    st_note "another system test run is in progress; waiting for it (at most 30 min)"
    flock -w 1800 8 || st_die "another system test run still holds $ST_WORK.lock"
fi

mkdir -p "$ST_RUN"; : >"$ST_RUN/report"
st_trap
if want_prev; then prev_start "$deb_prev"; fi

if [[ -z $deb ]]; then
    deb=$(ls -t "$ST_REPO"/target/debian/clamav-freshen_*.deb 2>/dev/null | head -n 1 || true)
fi
if [[ -n $deb ]]; then
    deb=$(realpath "$deb")
    [[ -f $deb ]] || st_die "no such .deb: $deb"
    st_note "package under test: $deb ($(dpkg-deb -f "$deb" Version))"
    # shellcheck disable=SC2034  # used by t_*.sh
    ST_DEB_BASE=$(basename "$deb")
    if [[ -z $deb2 ]]; then
        # a newer build for the upgrade test: the same package, version bumped
        v=$(dpkg-deb -f "$deb" Version)
        mkdir -p "$ST_RUN/deb2"
        rm -rf "$ST_RUN/deb2/tree"
        dpkg-deb -R "$deb" "$ST_RUN/deb2/tree"
        sed -i "s/^Version: .*/Version: $v+systest2/" "$ST_RUN/deb2/tree/DEBIAN/control"
        deb2=$ST_RUN/deb2/clamav-freshen_${v}+systest2_$(dpkg-deb -f "$deb" Architecture).deb
        dpkg-deb -b -Zxz "$ST_RUN/deb2/tree" "$deb2" >/dev/null
        rm -rf "$ST_RUN/deb2/tree"
    fi
    deb2=$(realpath "$deb2")
    st_note "upgrade target: $deb2 ($(dpkg-deb -f "$deb2" Version))"
    if [[ -z $mdeb ]]; then
        mdeb=$(ls -t "$ST_REPO"/target/debian/clamav-freshen-monitor_*.deb 2>/dev/null | head -n 1 || true)
    fi
    if [[ -n $mdeb ]]; then
        mdeb=$(realpath "$mdeb")
        [[ -f $mdeb ]] || st_die "no such .deb: $mdeb"
        st_note "monitoring host's package: $mdeb ($(dpkg-deb -f "$mdeb" Version))"
    fi
else
    echo "# SKIP: no .deb (build one: cargo deb; or pass --deb): only the rig tests run"
fi



# A container that failed to come up is one failed test, and the run goes on.
boot_container() {
    local rel=$1 ct=$2 deb=$3 deb2=${4:-} out
    ST_CONTAINERS+=("$ct")
    out=$ST_RUN/boot.$$.out
    if ( ct_create "$ct" "$rel" "$deb" "$deb2" && ct_start "$ct" ) 2>"$out"; then
        if [[ ${SYSTEST_VERBOSE:-0} = 1 ]]; then cat "$out" >&2; else grep -E 'built|booted' "$out" >&2 || true; fi
        rm -f "$out"; return 0
    fi
    echo "not ok - $rel: boot container $ct"
    sed 's/^/  /' "$out" | tail -n 40
    ST_FAILED=$((ST_FAILED + 1)); ST_RESULTS+=("$rel|boot $ct|FAIL|0")
    rm -f "$out"
    return 1
}

skip_group() {  # skip_group REL GROUP REASON
    echo "ok - $1: $2 # SKIP $3"
    ST_SKIPPED=$((ST_SKIPPED + 1)); ST_RESULTS+=("$1|$2|skip|0")
}

run_release() {
    local rel=$1 deb=$2 deb2=$3 ct=cfs-$1 g shared=0
    for g in rig install timer privilege loop faults diagnosis mirror lifecycle; do if has_group "$g"; then shared=1; fi; done
    if ((shared)) && boot_container "$rel" "$ct" "$deb" "$deb2"; then
        if has_group rig; then group_rig "$rel" "$ct"; fi
        if [[ -n $deb ]]; then
            # one container for the chain install -> timer -> privilege -> loop -> faults
            # -> life cycle: each test restores what it changed (systest reset)
            if has_group install; then group_install "$rel" "$ct"; fi
            if has_group timer; then group_timer "$rel" "$ct"; fi
            if has_group privilege; then group_privilege "$rel" "$ct"; fi
            if has_group loop; then group_loop "$rel" "$ct"; fi
            if has_group faults; then group_faults "$rel" "$ct"; fi
            if has_group diagnosis; then group_diagnosis "$rel" "$ct"; fi
            if has_group mirror; then group_mirror "$rel" "$ct"; fi
            if has_group lifecycle; then group_lifecycle "$rel" "$ct" "$deb" "$deb2"; fi
        fi
        ct_destroy "$ct"
    fi
    if [[ -n $deb ]] && has_group admin; then group_admin "$rel" "$deb"; fi
    # a fresh container: the file system before install against after purge
    if [[ -n $deb ]] && has_group piuparts; then group_piuparts "$rel" "$deb" "$deb2"; fi
    # fresh containers of its own (one with systemd, one with sysvinit as PID 1)
    if [[ -n $deb ]] && has_group hostile; then group_hostile "$rel" "$deb"; fi
    # a container of its own with the real clamav-daemon
    if [[ -n $deb ]] && has_group clamd; then group_clamd "$rel" "$deb"; fi
    # two containers on a private link: a monitoring host and a filter (Nagios + NRPE on
    # bookworm, as issue 14 asks)
    if [[ -n $deb ]] && has_group fleet; then
        if [[ $rel == bookworm ]]; then group_fleet "$rel" "$deb" "$mdeb"; fi
    fi
    # Icinga 2 standalone with the package alone (trixie's Icinga 2, as issue 14 asks)
    if [[ -n $deb ]] && has_group icinga; then
        if [[ $rel == trixie ]]; then group_icinga "$rel" "$deb"; fi
    fi
    # Icinga 2 master + agent on the fleet group's private link: the filter repaired through
    # the master's event command, run on the agent by command_endpoint (trixie)
    if [[ -n $deb ]] && has_group icinga-agent; then
        if [[ $rel == trixie ]]; then group_icinga_agent "$rel" "$deb" "$mdeb"; fi
    fi
    if [[ -z $deb ]]; then
        for g in install timer privilege loop admin lifecycle faults diagnosis mirror piuparts hostile clamd fleet icinga icinga-agent; do
            if has_group "$g"; then skip_group "$rel" "$g" "no .deb to test"; fi
        done
    fi
    return 0
}

for rel in "${rel_list[@]}"; do
    t_rel=$SECONDS
    run_release "$rel" "$deb" "$deb2"
    st_note "$rel done in $((SECONDS - t_rel)) s"
done

echo "# ---- report"
cat "$ST_RUN/report"
st_summary_tables
echo "# total time $((SECONDS - ST_T0)) s"
if ((ST_SKIPPED)); then
    echo "$ST_PASSED passed, $ST_FAILED failed, $ST_SKIPPED skipped"
else
    echo "$ST_PASSED passed, $ST_FAILED failed"
fi
((ST_FAILED == 0))
