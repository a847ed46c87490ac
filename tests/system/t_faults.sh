# shellcheck shell=bash
# Issue 6: the fault matrix. One test per fault, each asserting the end state and the
# audit lines; and under every fault the database files are never lost and the Nagios
# service ends OK or with a text that says why not.
#
# While these run, Nagios's own checks and event handler for "ClamAV signatures" are off
# (external commands), so that only the test triggers repairs and counts stay exact; the
# closing forced check of each test still runs (forced checks ignore the switch).

as_nagios() { local ct=$1; shift; ct_exec "$ct" runuser -u nagios -- "$@"; }

# handle CT STATE TYPE ATTEMPT: what Nagios's event handler does (sudo as nagios).
handle() {
    local ct=$1; shift
    as_nagios "$ct" sudo -n /usr/sbin/clamav-freshen handle "$@"
}

audit_has() { audit_since "$1" "$2" | grep -qE -- "$3"; }
audit_count() { audit_since "$1" "$2" | grep -cE -- "$3" || true; }

# wait_repair CT SINCE LIMIT: the repair that started after SINCE has ended (audited)
# and no worker is left.
wait_repair() {
    wait_for "$3" "event=repair-end" audit_has "$1" "$2" 'event=repair-end' || return 1
    wait_for 30 "the worker to exit" worker_idle "$1"
}

# repair_by_handle CT SINCE LIMIT: Nagios's `handle CRITICAL HARD 3` through sudo, then the
# repair it started has ended within LIMIT s; the audit trail is shown either way.
repair_by_handle() {
    handle "$1" CRITICAL HARD 3 || fail "handle exited $?"
    wait_repair "$1" "$2" "$3" || { show_audit "$1" "$2"; fail "no repair end within $3 s"; }
    show_audit "$1" "$2"
}

# The defaults the fault tests run with: no rate limit (each test starts clean anyway),
# short time limits so that the hang faults stay quick.
F_CONF=("rate_limit_secs = 0" "freshclam_timeout_secs = 20" "kill_grace_secs = 5" "stop_timeout_secs = 10")

# fault_begin CT [CONFIG LINES...] -> prints the start epoch (audit lines after it
# belong to this test).
fault_begin() {
    local ct=$1; shift
    st_reset "$ct" >&2
    set_handler_config "$ct" "$@" >&2
    sleep 1
    date +%s
}

# fault_end CT: invariants under every fault. Database files present and readable;
# the Nagios service OK, or in a state whose text says why.
fault_end() {
    local ct=$1 t out st txt
    ct_exec "$ct" test -s /var/lib/clamav/main.cvd || fail "main.cvd lost"
    ct_exec "$ct" systest local-daily >/dev/null || fail "daily.cvd/daily.cld lost"
    [[ $(ct_exec "$ct" systest local-daily) -ge 3 ]] || fail "daily went backwards"
    t=$(date +%s)
    ct_exec "$ct" systest force-check
    wait_for 45 "a forced check of the service" ct_sh "$ct" "[ \"\$(systest svc last_check)\" -ge $t ]" ||
        fail "no service check after the fault"
    out=$(svc "$ct" current_state plugin_output)
    st=$(sed -n 1p <<<"$out"); txt=$(sed -n 2p <<<"$out")
    echo "Nagios: state $st: $txt"
    if [[ $st != 0 ]]; then
        [[ $txt =~ ^CLAMAV\ (WARNING|CRITICAL|UNKNOWN)\ -\ .{10,} ]] || fail "service state $st without a reason: '$txt'"
    fi
}

outcome_of() {  # the outcome= of the last repair-end since $2
    audit_since "$1" "$2" | grep -E 'event=repair-end' | tail -n 1 | sed -nE 's/.*outcome=("[^"]*"|[^ ]*).*/\1/p' | tr -d '"'
}

show_audit() { echo "--- audit:"; audit_since "$1" "$2" | sed 's/^/    /'; }

# ---------------------------------------------------------------------------- faults

f_daemon_killed() {
    local ct=$1 t0
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_exec "$ct" systemctl kill -s KILL clamav-freshclam.service
    wait_for 10 "the daemon dead" ct_sh "$ct" '! systemctl is-active --quiet clamav-freshclam.service' || fail "daemon not dead"
    ct_exec "$ct" systest publish 6
    repair_by_handle "$ct" "$t0" 120
    st_outcome "$(outcome_of "$ct" "$t0")"
    check "daemon active" daemon_active "$ct"
    daily_is "$ct" 6 || fail "DB not updated (daily $(ct_exec "$ct" systest local-daily))"
    audit_has "$ct" "$t0" 'event=repair-end .*outcome="?updated' || fail "outcome not updated"
    audit_has "$ct" "$t0" 'event=daemon-start .*result="?ok' || fail "no daemon-start ok audited"
    fault_end "$ct"
}

f_daemon_stopped_sigstop() {
    local ct=$1 t0 pid s e newpid
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    pid=$(ct_exec "$ct" systemctl show -p MainPID --value clamav-freshclam.service)
    ct_exec "$ct" /bin/kill -STOP "$pid"
    [[ $(ct_exec "$ct" sh -c "sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' /proc/$pid/status") = T ]] || fail "daemon not stopped (SIGSTOP)"
    ct_exec "$ct" systest publish 6
    s=$(st_now)
    repair_by_handle "$ct" "$t0" 120
    e=$(st_since "$s")
    st_outcome "$(outcome_of "$ct" "$t0"), ${e}s"
    # stop_timeout 10 + freshclam + start: well under a minute
    awk -v e="$e" 'BEGIN{exit !(e < 60)}' || fail "repair of a hung daemon took ${e}s"
    ! ct_exec "$ct" test -e "/proc/$pid" || fail "the hung daemon (pid $pid) is still there"
    check "daemon active" daemon_active "$ct"
    newpid=$(ct_exec "$ct" systemctl show -p MainPID --value clamav-freshclam.service)
    [[ $newpid != "$pid" && $newpid != 0 ]] || fail "daemon not restarted (pid $newpid)"
    daily_is "$ct" 6 || fail "DB not updated"
    audit_has "$ct" "$t0" 'event=freshclam ' || fail "no freshclam run audited"
    fault_end "$ct"
}

f_mirror_hangs() {
    local ct=$1 t0 s e n
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_exec "$ct" systest mirror-mode hang
    ct_exec "$ct" systest publish 6
    s=$(st_now)
    repair_by_handle "$ct" "$t0" 150
    e=$(st_since "$s")
    st_outcome "$(outcome_of "$ct" "$t0"), ${e}s"
    # time limit 20 s + grace 5 + stop/start: bounded
    awk -v e="$e" 'BEGIN{exit !(e < 75)}' || fail "a hanging mirror held the repair ${e}s (limit 20 s)"
    audit_has "$ct" "$t0" 'event=freshclam ' || fail "no freshclam run audited"
    audit_has "$ct" "$t0" 'event=repair-end .*outcome="?failed' || fail "outcome not failed"
    check "daemon active" daemon_active "$ct"
    # no foreground freshclam left behind: only the daemon
    n=$(ct_exec "$ct" pgrep -cx freshclam || true)
    [[ $n = 1 ]] || fail "$n freshclam processes (want only the daemon): $(ct_exec "$ct" pgrep -ax freshclam)"
    ct_exec "$ct" systest mirror-mode ok
    fault_end "$ct"
}

# freshclam.dat retry_after (i64 LE at offset 61), 0 when absent
dat_retry_after() {
    ct_exec "$1" python3 -c 'import struct,sys
try: d=open("/var/lib/clamav/freshclam.dat","rb").read()
except OSError: print(0); sys.exit()
print(struct.unpack_from("<q", d, 61)[0] if len(d) >= 69 else 0)'
}

f_mirror_429() {
    local ct=$1 t0 t1 ra now sum1 sum2
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_exec "$ct" systest mirror-mode 429 3600
    ct_exec "$ct" systest publish 6
    repair_by_handle "$ct" "$t0" 120
    st_outcome "$(outcome_of "$ct" "$t0")"
    ra=$(dat_retry_after "$ct"); now=$(date +%s)
    echo "freshclam.dat retry_after=$ra (now $now)"
    ((ra > now + 3000)) || fail "freshclam recorded no cool-down (retry_after=$ra)"
    check "daemon active" daemon_active "$ct"
    audit_has "$ct" "$t0" 'event=repair-end .*outcome="?(cool-down|failed)' || fail "no outcome audited"
    # further repairs are refused until it expires, audited; freshclam.dat untouched
    sum1=$(ct_exec "$ct" sha256sum /var/lib/clamav/freshclam.dat)
    sleep 1; t1=$(date +%s)
    handle "$ct" CRITICAL HARD 3 || fail "handle exited $?"
    wait_for 20 "the refusal" audit_has "$ct" "$t1" 'event=decision .*action="?skip.*cool-down' ||
        { show_audit "$ct" "$t1"; fail "the cool-down refusal is not audited"; }
    sleep 2
    [[ $(audit_count "$ct" "$t1" 'event=repair-start') = 0 ]] || fail "a repair started during the cool-down"
    sum2=$(ct_exec "$ct" sha256sum /var/lib/clamav/freshclam.dat) || fail "freshclam.dat gone"
    [[ $sum1 = "$sum2" ]] || fail "freshclam.dat changed"
    ct_exec "$ct" systest mirror-mode ok
    fault_end "$ct"
}

f_mirror_403() {
    local ct=$1 t0 n
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_exec "$ct" systest mirror-mode 403
    ct_exec "$ct" systest publish 6
    repair_by_handle "$ct" "$t0" 120
    st_outcome "$(outcome_of "$ct" "$t0")"
    check "daemon active (restarted)" daemon_active "$ct"
    audit_has "$ct" "$t0" 'event=repair-end .*outcome="?forbidden' || { show_audit "$ct" "$t0"; fail "outcome forbidden not audited"; }
    audit_has "$ct" "$t0" 'event=daemon-start .*result="?ok' || fail "no daemon-start ok"
    # no loop: another event handler call does not repair again (24 h cool-down), and
    # nothing repairs by itself
    handle "$ct" CRITICAL HARD 3 || fail "handle exited $?"
    sleep 10
    show_audit "$ct" "$t0"
    n=$(audit_count "$ct" "$t0" 'event=repair-start')
    [[ $n = 1 ]] || fail "$n repairs after a 403 (want 1)"
    ct_exec "$ct" systest mirror-mode ok
    fault_end "$ct"
}

f_mirror_unreachable() {
    local ct=$1 t0 t1 n
    # the shipped rate limit (900 s) this time: it must hold after a failed repair
    t0=$(fault_begin "$ct" "freshclam_timeout_secs = 20")
    ct_exec "$ct" systemctl stop systest-mirror.service
    ct_exec "$ct" systest publish 6
    repair_by_handle "$ct" "$t0" 120
    st_outcome "$(outcome_of "$ct" "$t0")"
    audit_since "$ct" "$t0" | grep -E 'event=freshclam ' || fail "no freshclam run audited"
    audit_since "$ct" "$t0" | grep -E 'event=freshclam ' | grep -qE '(exit |rc=|code=)[1-9]' || fail "freshclam's failure code not audited"
    audit_has "$ct" "$t0" 'event=repair-end .*outcome="?failed' || fail "outcome failed not audited"
    check "daemon active" daemon_active "$ct"
    sleep 1; t1=$(date +%s)
    handle "$ct" CRITICAL HARD 3 || fail "handle exited $?"
    wait_for 20 "the rate-limit refusal" audit_has "$ct" "$t1" 'event=decision .*action="?skip.*rate limit' ||
        { show_audit "$ct" "$t0"; fail "rate limit did not hold"; }
    n=$(audit_count "$ct" "$t0" 'event=repair-start')
    [[ $n = 1 ]] || fail "$n repairs (want 1)"
    show_audit "$ct" "$t0"
    ct_exec "$ct" systemctl start systest-mirror.service
    fault_end "$ct"
}

f_root_owned() {
    local ct=$1 t0 bad
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_exec "$ct" systemctl stop clamav-freshclam.service
    ct_exec "$ct" chown root:root /var/lib/clamav/main.cvd /var/lib/clamav/daily.cvd /var/lib/clamav/freshclam.dat
    ct_exec "$ct" systest daemon-start
    ct_exec "$ct" systest publish 6
    repair_by_handle "$ct" "$t0" 120
    st_outcome "$(outcome_of "$ct" "$t0")"
    bad=$(ct_exec "$ct" find /var/lib/clamav ! -user clamav)
    [[ -z $bad ]] || fail "not owned by clamav: $bad"
    audit_has "$ct" "$t0" 'event=chown' || fail "chown not audited"
    daily_is "$ct" 6 || fail "update failed"
    check "daemon active" daemon_active "$ct"
    fault_end "$ct"
}

f_symlink() {
    local ct=$1 t0 before after
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_sh "$ct" '
        mkdir -p /etc/systest/rootdir
        echo precious >/etc/systest/rootfile; echo keep >/etc/systest/rootdir/keep
        chown root:root /etc/systest/rootfile /etc/systest/rootdir /etc/systest/rootdir/keep
        chmod 0600 /etc/systest/rootfile
        runuser -u clamav -- ln -s /etc/systest/rootfile /var/lib/clamav/evil-link
        runuser -u clamav -- ln -s /etc/systest/rootdir /var/lib/clamav/tmp.evil
        # something to fix, so that the chown and clean-up passes walk the directory
        chown root:root /var/lib/clamav/daily.cvd'
    before=$(ct_exec "$ct" stat -c '%u:%g %a %s %Y' /etc/systest/rootfile /etc/systest/rootdir /etc/systest/rootdir/keep)
    ct_exec "$ct" systest publish 6
    repair_by_handle "$ct" "$t0" 120
    st_outcome "$(outcome_of "$ct" "$t0")"
    after=$(ct_exec "$ct" stat -c '%u:%g %a %s %Y' /etc/systest/rootfile /etc/systest/rootdir /etc/systest/rootdir/keep) ||
        fail "the symlink targets are gone"
    [[ $before = "$after" ]] || fail "a symlink was followed: before '$before' after '$after'"
    [[ $(ct_exec "$ct" cat /etc/systest/rootfile) = precious ]] || fail "root file changed"
    daily_is "$ct" 6 || fail "update failed"
    check "daemon active" daemon_active "$ct"
    ct_sh "$ct" 'rm -rf /etc/systest/rootfile /etc/systest/rootdir'
    fault_end "$ct"
}

# worker_mid_repair CT: start a repair that hangs in freshclam (mirror hangs); print the
# worker's pid once its freshclam runs.
worker_mid_repair() {
    local ct=$1
    ct_exec "$ct" systest mirror-mode hang >&2
    ct_exec "$ct" systest publish 6 >&2
    handle "$ct" CRITICAL HARD 3 >&2 || fail "handle exited $?"
    # the worker's freshclam: the daemon is stopped then, so it is the only one
    wait_for 30 "freshclam run by the worker" ct_sh "$ct" '
        ! systemctl is-active --quiet clamav-freshclam.service && pgrep -x freshclam' ||
        fail "no freshclam run by the worker"
    ct_exec "$ct" pgrep -x clamav-freshen | head -n 1
}

f_worker_sigterm() {
    local ct=$1 t0 w
    t0=$(fault_begin "$ct" "rate_limit_secs = 0" "freshclam_timeout_secs = 60" "kill_grace_secs = 5" "stop_timeout_secs = 10")
    w=$(worker_mid_repair "$ct")
    [[ -n $w ]] || fail "no worker process"
    echo "worker pid $w: SIGTERM"
    ct_exec "$ct" /bin/kill -TERM "$w"
    wait_for 40 "the worker to exit" ct_sh "$ct" "! test -e /proc/$w" || fail "worker $w still running 40 s after SIGTERM"
    # the daemon was started before the worker exited: it is active right now
    check "daemon active when the worker is gone" daemon_active "$ct"
    show_audit "$ct" "$t0"
    st_outcome "$(outcome_of "$ct" "$t0")"
    audit_has "$ct" "$t0" 'event=interrupted|interrupted by signal 15' || fail "interruption not audited"
    # in order: the daemon is started, then the repair ends
    audit_since "$ct" "$t0" | grep -E 'event=(daemon-start|repair-end)' | head -n 2 | tr '\n' ' ' |
        grep -qE '^event=daemon-start .*result="?ok.* event=repair-end' || fail "daemon-start ok not audited before repair-end"
    [[ $(ct_exec "$ct" pgrep -cx freshclam || true) = 1 ]] || fail "the worker's freshclam was left running"
    ct_exec "$ct" systest mirror-mode ok
    fault_end "$ct"
}

f_worker_sigkill() {
    local ct=$1 t0 w t1
    t0=$(fault_begin "$ct" "rate_limit_secs = 0" "freshclam_timeout_secs = 60" "kill_grace_secs = 5" "stop_timeout_secs = 10")
    w=$(worker_mid_repair "$ct")
    [[ -n $w ]] || fail "no worker process"
    echo "worker pid $w: SIGKILL"
    ct_exec "$ct" /bin/kill -KILL "$w"
    wait_for 20 "the worker gone" ct_sh "$ct" "! test -e /proc/$w" || fail "worker survived SIGKILL"
    # drop the hanging connection: the orphaned freshclam then fails and exits (it would
    # hold the log lock the daemon needs)
    ct_exec "$ct" systest mirror-mode ok
    ct_exec "$ct" systemctl restart systest-mirror.service
    wait_for 30 "the orphaned freshclam gone" ct_sh "$ct" '! pgrep -x freshclam' || echo "(a freshclam still runs)"
    ! daemon_active "$ct" || echo "(daemon already active)"
    sleep 1; t1=$(date +%s)
    # the next run of clamav-freshen (here the event handler on recovery) restarts it
    handle "$ct" OK HARD 1 || fail "handle OK HARD 1 exited $?"
    wait_for 40 "daemon active again" daemon_active "$ct" || { show_audit "$ct" "$t0"; fail "the next run did not restart the daemon"; }
    show_audit "$ct" "$t0"
    st_outcome "recovered by the next run"
    audit_has "$ct" "$t1" 'event=recover' || fail "recovery not audited"
    fault_end "$ct"
}

f_journald_stopped() {
    local ct=$1 t0 out rc=0
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_exec "$ct" systest publish 6
    ct_exec "$ct" systemctl stop systemd-journald-dev-log.socket systemd-journald.socket systemd-journald.service
    out=$(handle "$ct" CRITICAL HARD 3 2>&1) || rc=$?
    echo "handle with journald stopped: rc=$rc: $out"
    local ok=1
    wait_for 90 "the DB updated" daily_is "$ct" 6 || ok=0
    wait_for 60 "the worker to exit" worker_idle "$ct" || true
    ct_exec "$ct" systemctl start systemd-journald.socket systemd-journald-dev-log.socket systemd-journald.service
    ((ok)) || fail "the repair did not run with journald stopped"
    check "daemon active" daemon_active "$ct"
    grep -qiE 'syslog|/dev/log|journal|log' <<<"$out" || fail "the logging problem was not reported on stderr"
    st_outcome "repaired; stderr: ${out:0:60}"
    fault_end "$ct"
}

f_fifty() {
    local ct=$1 t0 rcs n g s
    # the shipped configuration: single flight and rate limit as a site has them
    t0=$(fault_begin "$ct")
    ct_exec "$ct" systest publish 6
    s=$(st_now)
    rcs=$(T=120 ct_sh "$ct" '
        for i in $(seq 50); do
            (runuser -u nagios -- sudo -n /usr/sbin/clamav-freshen handle CRITICAL SOFT 1 >/dev/null 2>&1; echo $?) &
        done; wait' | sort | uniq -c | tr '\n' ' ')
    echo "exit codes (count code): $rcs; all 50 calls (runuser + sudo + handler, in parallel on 2 cores) returned in $(st_since "$s") s"
    wait_repair "$ct" "$t0" 120 || { show_audit "$ct" "$t0"; fail "no repair"; }
    sleep 2
    n=$(audit_count "$ct" "$t0" 'event=freshclam ')
    g=$(ct_exec "$ct" grep -cE '^[0-9]+ GET /daily.cvd ' /var/log/systest-mirror.log || true)
    echo "freshclam runs audited: $n; daily.cvd downloads: $g; repair-start: $(audit_count "$ct" "$t0" 'event=repair-start')"
    st_outcome "$n freshclam run(s)"
    [[ $n = 1 ]] || fail "$n freshclam runs for 50 simultaneous calls (want 1)"
    [[ $(audit_count "$ct" "$t0" 'event=repair-start') = 1 ]] || fail "more than one repair"
    [[ $rcs =~ ^\ *50\ 0\ $ ]] || fail "not every call exited 0: $rcs"
    daily_is "$ct" 6 || fail "DB not updated"
    check "daemon active" daemon_active "$ct"
    fault_end "$ct"
}

f_cron_mode() {
    local ct=$1 t0 n
    t0=$(fault_begin "$ct" "${F_CONF[@]}")
    ct_sh "$ct" '
        systemctl stop clamav-freshclam.service
        printf "# system test: freshclam from cron\n17 * * * * clamav [ -x /usr/bin/freshclam ] && /usr/bin/freshclam --quiet >/dev/null\n" >/etc/cron.d/clamav-freshclam'
    ct_exec "$ct" systest publish 6
    repair_by_handle "$ct" "$t0" 120
    st_outcome "$(outcome_of "$ct" "$t0")"
    n=$(audit_count "$ct" "$t0" 'event=freshclam ')
    [[ $n = 1 ]] || fail "$n freshclam runs (want 1)"
    daily_is "$ct" 6 || fail "DB not updated"
    ! daemon_active "$ct" || fail "the daemon runs in cron mode"
    ! ct_exec "$ct" journalctl -q --no-pager -o cat -u clamav-freshclam.service --since "@$t0" | grep -q '^Started' ||
        fail "the daemon was started in cron mode"
    ct_exec "$ct" rm -f /etc/cron.d/clamav-freshclam
    fault_end "$ct"
}

# SYSTEST_FAULTS=REGEX runs only the faults whose name matches (for debugging).
fault_test() {
    local rel=$1 ct=$2 name=$3 fn=$4
    if [[ -n ${SYSTEST_FAULTS:-} && ! $name =~ $SYSTEST_FAULTS ]]; then return 0; fi
    st_test "$rel" "$ct" "fault: $name" "$fn"
}

group_faults() {
    local rel=$1 ct=$2
    nagios_own_checks "$ct" off || true
    fault_test "$rel" "$ct" "daemon SIGKILLed and left dead" f_daemon_killed
    fault_test "$rel" "$ct" "daemon hung (SIGSTOP)" f_daemon_stopped_sigstop
    fault_test "$rel" "$ct" "mirror accepts and never answers" f_mirror_hangs
    fault_test "$rel" "$ct" "mirror 429 + Retry-After" f_mirror_429
    fault_test "$rel" "$ct" "mirror 403" f_mirror_403
    fault_test "$rel" "$ct" "mirror unreachable" f_mirror_unreachable
    fault_test "$rel" "$ct" "DB files owned by root" f_root_owned
    fault_test "$rel" "$ct" "symlink planted by clamav" f_symlink
    fault_test "$rel" "$ct" "worker SIGTERMed mid-repair" f_worker_sigterm
    fault_test "$rel" "$ct" "worker SIGKILLed mid-repair" f_worker_sigkill
    fault_test "$rel" "$ct" "journald stopped" f_journald_stopped
    fault_test "$rel" "$ct" "50 simultaneous handle CRITICAL SOFT 1" f_fifty
    fault_test "$rel" "$ct" "freshclam in cron mode" f_cron_mode
    st_reset "$ct" >/dev/null 2>&1 || true
    restore_handler_config "$ct" || true
    nagios_own_checks "$ct" on || true
}
