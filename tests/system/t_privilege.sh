# shellcheck shell=bash
# Issue 5, test 2: least privilege through sudo.

as_nagios() { local ct=$1; shift; ct_exec "$ct" runuser -u nagios -- "$@"; }

t_sudo_list() {
    local ct=$1 out rules bad
    out=$(as_nagios "$ct" sudo -n -l 2>&1) || fail "sudo -n -l as nagios failed: $out"
    printf '%s\n' "$out"
    # the command lines after "may run the following commands"
    rules=$(printf '%s\n' "$out" | sed -n '/may run the following commands/,$p' | sed 1d | sed '/^[[:space:]]*$/d')
    [[ -n $rules ]] || fail "no rules listed for nagios"
    # one command per line: split at ", /" (a regex may hold commas)
    bad=$(printf '%s\n' "$rules" | sed 's|, /|\n/|g' | sed 's/^[[:space:]]*//; s/^(root) NOPASSWD: //; /^$/d' |
          grep -vE '^/usr/sbin/clamav-freshen (\^handle .*\$|heal)$' || true)
    [[ -z $bad ]] || fail "nagios may run more than the handler grammar: $bad"
    printf '%s\n' "$rules" | grep -q '/usr/sbin/clamav-freshen \^handle' || fail "handle rule missing"
}

t_sudo_allowed() {
    local ct=$1 t0 out rc=0 s e
    st_reset "$ct"
    t0=$(date +%s)
    s=$(st_now)
    out=$(as_nagios "$ct" sudo -n /usr/sbin/clamav-freshen handle CRITICAL HARD 3 2>&1) || rc=$?
    e=$(st_since "$s")
    echo "handle CRITICAL HARD 3 as nagios: rc=$rc in ${e}s: $out"
    [[ $rc = 0 ]] || fail "sudo -n clamav-freshen handle CRITICAL HARD 3 exited $rc"
    awk -v e="$e" 'BEGIN{exit !(e < 5)}' || fail "the handler took ${e}s to return (must detach)"
    wait_for 90 "the repair to finish" worker_idle "$ct" || fail "worker still running after 90 s"
    audit_since "$ct" "$t0" | grep -E 'event=' | head -n 30
    audit_since "$ct" "$t0" | grep -q 'event=invoke caller=sudo:nagios' || fail "the sudo caller is not audited (event=invoke caller=sudo:nagios)"
    audit_since "$ct" "$t0" | grep -q 'event=decision' || fail "no audit line (event=decision) for the handle call"
    check "daemon active after the repair" daemon_active "$ct"
    ct_exec "$ct" journalctl -q --no-pager -o cat -t sudo --since "@$t0" | grep -q 'COMMAND=/usr/sbin/clamav-freshen handle CRITICAL HARD 3' ||
        fail "sudo did not log the command"
}

t_sudo_refused() {
    local ct=$1 t0 args rc out
    t0=$(date +%s)
    # sudo must refuse (exit 1, nothing run): other args, subcommands, programs, env
    while IFS= read -r args; do
        [[ -n $args ]] || continue
        rc=0
        # shellcheck disable=SC2086
        out=$(eval "as_nagios \"\$ct\" sudo -n $args" 2>&1) || rc=$?
        echo "sudo -n $args -> rc=$rc ${out:0:120}"
        [[ $rc = 1 ]] || fail "sudo -n $args: rc=$rc, want 1 (refused by sudo): $out"
        grep -qiE 'not allowed|password is required|may not run|sorry' <<<"$out" || fail "sudo -n $args: no refusal message: $out"
    done <<'ARGS'
/usr/sbin/clamav-freshen handle CRITICAL HARD 3 extra
/usr/sbin/clamav-freshen handle CRITICAL HARD
/usr/sbin/clamav-freshen handle CRITICAL HARD 0
/usr/sbin/clamav-freshen handle CRITICAL HARD 1000
/usr/sbin/clamav-freshen handle critical HARD 3
/usr/sbin/clamav-freshen handle CRITICAL FIRM 3
/usr/sbin/clamav-freshen handle 'CRITICAL;id' HARD 3
/usr/sbin/clamav-freshen repair
/usr/sbin/clamav-freshen repair --wait
/usr/sbin/clamav-freshen status
/usr/sbin/clamav-freshen --help
/usr/sbin/clamav-freshen
/usr/bin/freshclam
/bin/sh -c id
/usr/bin/systemctl stop clamav-freshclam
-u clamav /usr/sbin/clamav-freshen handle CRITICAL HARD 3
-E /usr/sbin/clamav-freshen handle CRITICAL HARD 3
CLAMAV_FRESHEN_TEST_ROOT=/tmp /usr/sbin/clamav-freshen handle CRITICAL HARD 3
ARGS
    # sudo matches arguments joined by spaces: one argument "CRITICAL HARD 3" passes sudo,
    # the handler itself must refuse it (exit 2, audited)
    rc=0
    out=$(as_nagios "$ct" sudo -n /usr/sbin/clamav-freshen handle "CRITICAL HARD 3" 2>&1) || rc=$?
    echo "sudo -n clamav-freshen handle 'CRITICAL HARD 3' -> rc=$rc $out"
    [[ $rc = 2 ]] || fail "the handler accepted one argument 'CRITICAL HARD 3' (rc=$rc)"
    rc=0
    out=$(as_nagios "$ct" sudo -n /usr/sbin/clamav-freshen handle CRITICAL HARD 3 '' 2>&1) || rc=$?
    echo "... handle CRITICAL HARD 3 '' -> rc=$rc $out"
    [[ $rc != 0 ]] || fail "an extra empty argument was accepted"
    sleep 1
    audit_since "$ct" "$t0" | grep -iE 'refus|reject|invalid|denied' || fail "the handler's refusal is not audited"
    worker_idle "$ct" || wait_for 60 "worker idle" worker_idle "$ct" || true
    check "daemon active" daemon_active "$ct"
}

group_privilege() {
    local rel=$1 ct=$2
    st_test "$rel" "$ct" "privilege: sudo -n -l as nagios lists only the handler grammar" t_sudo_list
    st_test "$rel" "$ct" "privilege: nagios may run 'handle CRITICAL HARD 3'; it returns at once" t_sudo_allowed
    st_test "$rel" "$ct" "privilege: other args, subcommands, programs and env refused" t_sudo_refused
}
