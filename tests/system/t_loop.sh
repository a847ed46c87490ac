# shellcheck shell=bash
# Issue 5, test 3: the loop, for real. The mirror publishes a newer daily; Nagios's own
# check goes non-OK; Nagios runs the event handler; sudo runs the handler; the worker
# stops the daemon, runs freshclam against the mirror, starts the daemon; the re-check
# turns the service OK; the journal holds every step.
#
# Nagios is made to check often by nagios_fast_intervals (lib.sh): the installed
# service's check_interval 0.1 and retry_interval 0.05 (6 s / 3 s at interval_length 60).

t_loop() {
    local ct=$1 t_stale t_bad t_ok secs nlog audit sudo_log
    st_reset "$ct"
    set_handler_config "$ct"
    nagios_fast_intervals "$ct"
    local t0; t0=$(date +%s)
    ct_exec "$ct" systest force-check
    wait_for 60 "service OK before the test" svc_ok_after "$ct" "$t0" ||
        fail "service not OK at the start: $(svc "$ct" current_state plugin_output | tr '\n' ' ')"

    # the database goes stale: DNS says daily 6, the mirror serves it, local is 3
    sleep 1
    t_stale=$(date +%s)
    ct_exec "$ct" systest publish 6
    # Nagios's own log, written at once (status.dat lags up to status_update_interval)
    wait_for 240 "Nagios to log the problem and then the recovery" loop_recovered "$ct" "$t_stale" ||
        fail "no non-OK then OK alert for the service within 240 s (daily $(ct_exec "$ct" systest local-daily))"
    t_bad=$(loop_recovered "$ct" "$t_stale" | cut -d' ' -f1)
    t_ok=$(loop_recovered "$ct" "$t_stale" | cut -d' ' -f2)
    daily_is "$ct" 6 || fail "the service is OK but the database is at daily $(ct_exec "$ct" systest local-daily)"
    wait_for 30 "status.dat to show the service OK" svc_ok_after "$ct" "$((t_bad + 1))" ||
        fail "status.dat does not show the service OK: $(svc "$ct" current_state plugin_output | tr '\n' ' ')"
    secs=$((t_ok - t_stale))
    st_report_line "loop $(ct_exec "$ct" cat /etc/systest-suite): database stale -> service OK in ${secs} s (first non-OK check after $((t_bad - t_stale)) s; Nagios checks every 6 s, retries every 3 s)"
    echo "stale at $t_stale, non-OK at $t_bad, OK at $t_ok: ${secs} s"

    # Nagios saw the problem and ran the handler (its own log)
    nlog=$(ct_exec "$ct" sh -c 'cat /var/log/nagios4/nagios.log' | awk -v t="$t_stale" -F'[][]' '$2 >= t')
    printf '%s\n' "$nlog" | grep -E 'ClamAV signatures' | head -n 20
    printf '%s\n' "$nlog" | grep -qE 'SERVICE ALERT: localhost;ClamAV signatures;(WARNING|CRITICAL);' ||
        fail "Nagios logged no non-OK alert for the service"
    printf '%s\n' "$nlog" | grep -qE 'SERVICE EVENT HANDLER: localhost;ClamAV signatures;(WARNING|CRITICAL);(SOFT|HARD);[0-9]+;clamav-freshen-handler' ||
        fail "Nagios logged no event handler run"
    printf '%s\n' "$nlog" | grep -qE 'SERVICE ALERT: localhost;ClamAV signatures;OK;' ||
        fail "Nagios logged no recovery"
    # sudo ran the handler for nagios
    sudo_log=$(ct_exec "$ct" journalctl -q --no-pager -o cat -t sudo --since "@$t_stale")
    printf '%s\n' "$sudo_log" | grep -E 'nagios .*COMMAND=/usr/sbin/clamav-freshen handle (WARNING|CRITICAL) (SOFT|HARD) [0-9]+' ||
        fail "sudo logged no handler run for nagios"
    # the audit trail of the repair
    audit=$(audit_since "$ct" "$t_stale")
    printf '%s\n' "$audit"
    audit_has_repair "$audit" updated || fail "audit trail incomplete"
    printf '%s\n' "$audit" | grep -qE 'event=invoke caller=sudo:nagios .*arg1=handle' || fail "the sudo'd handle call is not audited"
    printf '%s\n' "$audit" | grep -qE 'event=nagios-recheck result="?sent' || fail "the handler did not ask Nagios for a re-check"
    check "daemon active at the end" daemon_active "$ct"
    nagios_normal_intervals "$ct"
}

# loop_recovered CT SINCE: prints "T_BAD T_OK" when nagios.log has, after SINCE, a
# non-OK alert for the service followed by an OK alert.
loop_recovered() {
    ct_exec "$1" cat /var/log/nagios4/nagios.log | awk -F'[][]' -v t="$2" '
        $2 >= t && /SERVICE ALERT: localhost;ClamAV signatures;(WARNING|CRITICAL|UNKNOWN);/ { if (!bad) bad = $2 }
        $2 >= t && bad && /SERVICE ALERT: localhost;ClamAV signatures;OK;/ { print bad, $2; found = 1; exit }
        END { exit !found }'
}

# audit_has_repair AUDIT OUTCOME: the trail of one repair, in order: start, daemon
# stopped, freshclam run, daemon started, end with OUTCOME.
audit_has_repair() {
    local audit=$1 want=$2 ev line=0 n
    for ev in 'event=repair-start' 'event=daemon-stop' 'event=freshclam ' 'event=daemon-start' "event=repair-end .*outcome=\"?$want"; do
        n=$(printf '%s\n' "$audit" | grep -nE -- "$ev" | head -n 1 | cut -d: -f1)
        if [[ -z $n ]]; then echo "audit: no line matching '$ev'"; return 1; fi
        if ((n < line)); then echo "audit: '$ev' out of order"; return 1; fi
        line=$n
    done
}

group_loop() {
    local rel=$1 ct=$2
    st_test "$rel" "$ct" "loop: newer daily published -> Nagios check, event handler, sudo, repair, service OK" t_loop
    # never leave the fast intervals behind (e.g. after a failure)
    nagios_normal_intervals "$ct" >/dev/null 2>&1 || true
}
