#!/bin/bash
# Benchmark: check_clamav_freshness vs Debian's check_clamav (monitoring-plugins-contrib).
#
# Both tools see the same setup: a database directory holding ClamAV's signed test-3.cvd as
# daily.cvd, bind-mounted on /var/lib/clamav, and a resolv.conf pointing at a local dnsmasq
# that serves the TXT record current.cvd.clamav.net. The mounts live in a private mount
# namespace (unshare -m), so the host's files are never touched.
#
# Needs: root; packages monitoring-plugins-contrib + libnet-dns-perl (check_clamav and its
# Net::DNS), clamav (clamscan, which check_clamav runs), dnsmasq-base, time (GNU time for peak
# RSS), util-linux (unshare); missing ones are installed with apt-get. The signed test
# databases come from $CLAMAV_TESTDB (default ../shared/clamav-testdb beside the repository).
#
# A third row times this check asking clamd too (the default on a filter with clamav-daemon):
# a fake clamd, a python3 loop answering VERSION on a Unix socket, named by a clamd.conf given
# with --clamd-conf; skipped without python3. A real clamd would answer as fast (VERSION is a
# string it keeps) but needs the databases loaded first; this measures the check's side.
#
# A fourth row times this check taking the published version from a local mirror instead
# of DNS (-m http://127.0.0.1:PORT: a python3 http.server over the database directory, which
# ignores Range, so the check stops reading after the header): issue 15's "a few
# milliseconds on a local mirror, within 3 MiB".
#
# Last, the check's instruction count under valgrind's callgrind (stable across runs, unlike
# time), three runs; without valgrind one SKIP line.
#
# Usage: tests/bench/check_vs_check_clamav.sh [RUNS]      (default 30 runs per tool)
# Env:   BENCH_DNS_ADDR (default 127.0.0.53), CLAMAV_TESTDB, CARGO_TARGET_DIR.
set -euo pipefail

RUNS=${1:-30}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DNS_ADDR=${BENCH_DNS_ADDR:-127.0.0.53}
TESTDB=${CLAMAV_TESTDB:-$ROOT/../shared/clamav-testdb}
OURS=${CARGO_TARGET_DIR:-$ROOT/target}/release/check_clamav_freshness
THEIRS=/usr/lib/nagios/plugins/check_clamav
TXT="1.4.6:62:3:$(date +%s):1:90:49192:336"  # record time: now

# Runs N times the command in "$@"; prints wall seconds per run (one per line) to $out.wall
# and GNU time's peak RSS in KiB to $out.rss. Wall time is taken without /usr/bin/time in
# between (bash's $EPOCHREALTIME, no fork), RSS in a separate run under /usr/bin/time.
measure() {
    local out=$1 n=$2; shift 2
    : >"$out.wall"; : >"$out.rss"
    for ((i = 0; i < n; i++)); do
        local t0=$EPOCHREALTIME
        "$@" >/dev/null 2>&1 || true
        local t1=$EPOCHREALTIME
        echo "$t0 $t1" | awk '{printf "%.6f\n", $2 - $1}' >>"$out.wall"
        /usr/bin/time -f %M -a -o "$out.rss" "$@" >/dev/null 2>&1 || true
    done
}

# Inside the private mount namespace: mount, show one output of each, measure.
if [[ ${1:-} == --inner ]]; then
    work=$2 runs=$3
    mount --make-rprivate /
    mount --bind "$work/resolv.conf" /etc/resolv.conf
    mount --bind "$work/db" /var/lib/clamav
    # --no-clamd: the first row is files and DNS only, like check_clamav, on any host.
    echo "--- check_clamav_freshness:"; "$OURS" --no-clamd -v || true
    echo "--- check_clamav:"; "$THEIRS" || true
    if [[ -f $work/clamd.conf ]]; then
        echo "--- check_clamav_freshness with clamd:"; "$OURS" --clamd-conf "$work/clamd.conf" || true
    fi
    echo "---"
    measure "$work/ours" "$runs" "$OURS" --no-clamd
    measure "$work/theirs" "$runs" "$THEIRS"
    if [[ -f $work/clamd.conf ]]; then
        measure "$work/clamd" "$runs" "$OURS" --clamd-conf "$work/clamd.conf"
    fi
    # Instructions executed (valgrind's callgrind): the figure that stays put on a noisy
    # machine, so a regression shows where wall time cannot. The program's own, the dynamic
    # loader included; three runs to show it is stable.
    if command -v valgrind >/dev/null; then
        for i in 1 2 3; do
            valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$i" "$OURS" --no-clamd \
                >/dev/null 2>"$work/callgrind.$i.log" || true
            sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/callgrind.$i.log" >>"$work/instructions"
        done
    fi
    if [[ -f $work/mirror.port ]]; then
        m=http://127.0.0.1:$(cat "$work/mirror.port")
        echo "--- check_clamav_freshness -m $m:"; "$OURS" --no-clamd -m "$m" || true
        measure "$work/mirror" "$runs" "$OURS" --no-clamd -m "$m"
    fi
    exit 0
fi

[[ $(id -u) == 0 ]] || { echo "run as root (apt-get, mount namespaces, dnsmasq on port 53)" >&2; exit 1; }
[[ -f $TESTDB/test-3.cvd ]] || { echo "SKIP: \$CLAMAV_TESTDB not found ($TESTDB)" >&2; exit 0; }

need=()
[[ -x $THEIRS ]] || need+=(monitoring-plugins-contrib)
perl -MNet::DNS -e 1 2>/dev/null || need+=(libnet-dns-perl)
[[ -x /usr/bin/clamscan ]] || need+=(clamav)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
[[ -x /usr/bin/time ]] || need+=(time)
command -v unshare >/dev/null || need+=(util-linux)
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
fi
[[ -d /var/lib/clamav ]] || { echo "/var/lib/clamav missing (clamav-base)" >&2; exit 1; }

if [[ ! -x $OURS ]]; then
    (cd "$ROOT" && cargo build --release --bin check_clamav_freshness)
fi

work=$(mktemp -d /tmp/check-bench.XXXXXX)
dnsmasq_pid='' clamd_pid='' mirror_pid=''
cleanup() {
    [[ -n $mirror_pid ]] && kill "$mirror_pid" 2>/dev/null && { wait "$mirror_pid" 2>/dev/null || true; }
    [[ -n $dnsmasq_pid ]] && kill "$dnsmasq_pid" 2>/dev/null && wait "$dnsmasq_pid" 2>/dev/null
    # python3 dies of the TERM (status 143): not the bench's failure.
    [[ -n $clamd_pid ]] && kill "$clamd_pid" 2>/dev/null && { wait "$clamd_pid" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

mkdir "$work/db"
cp "$TESTDB/test-3.cvd" "$work/db/daily.cvd"
echo "nameserver $DNS_ADDR" >"$work/resolv.conf"

dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --bind-interfaces \
    --listen-address="$DNS_ADDR" --port=53 --user=root \
    --txt-record="current.cvd.clamav.net,$TXT" --log-facility=- 2>"$work/dnsmasq.log" &
dnsmasq_pid=$!
sleep 0.5
kill -0 "$dnsmasq_pid" 2>/dev/null || { cat "$work/dnsmasq.log" >&2; exit 1; }

# The fake clamd: root's, like the check here, so the peer check passes (User root).
if command -v python3 >/dev/null; then
    python3 - "$work/clamd.ctl" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(64)
while True:
    c, _ = s.accept()
    c.recv(64)
    c.sendall(b"ClamAV 1.4.6/3/Tue Dec  1 08:00:00 2026\0")
    c.close()
EOF
    clamd_pid=$!
    for _ in 1 2 3 4 5 6 7 8 9 10; do [[ -S $work/clamd.ctl ]] && break; sleep 0.2; done
    if [[ -S $work/clamd.ctl ]]; then
        printf 'LocalSocket %s\nUser root\n' "$work/clamd.ctl" >"$work/clamd.conf"
    else
        echo "note: the fake clamd did not start; no clamd row" >&2
    fi
else
    echo "note: no python3 for the fake clamd; no clamd row" >&2
fi

# The local mirror: python3's http.server over a copy of the database directory.
if command -v python3 >/dev/null; then
    mkdir "$work/mirror"
    cp "$work/db/daily.cvd" "$work/mirror/"
    python3 - "$work/mirror" "$work/mirror.port" <<'EOF' &
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
h = functools.partial(Quiet, directory=sys.argv[1])
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
EOF
    mirror_pid=$!
    for _ in 1 2 3 4 5 6 7 8 9 10; do [[ -s $work/mirror.port ]] && break; sleep 0.2; done
    [[ -s $work/mirror.port ]] || echo "note: the local mirror did not start; no mirror row" >&2
fi

unshare -m "$0" --inner "$work" "$RUNS"

stats() { # file -> "mean median max"
    sort -n "$1" | awk '{v[NR] = $1; s += $1}
        END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
             printf "%.6f %.6f %.6f\n", s / NR, m, v[NR]}'
}
read -r o_mean o_med _ < <(stats "$work/ours.wall")
read -r t_mean t_med _ < <(stats "$work/theirs.wall")
read -r _ _ o_rss < <(stats "$work/ours.rss")
read -r _ _ t_rss < <(stats "$work/theirs.rss")

printf '\n%d runs each (DNS %s, test-3.cvd as daily.cvd)\n' "$RUNS" "$DNS_ADDR"
printf '%-24s %12s %12s %14s\n' tool "mean ms" "median ms" "peak RSS KiB"
row() { awk -v n="$1" -v mean="$2" -v med="$3" -v rss="$4" \
    'BEGIN {printf "%-24s %12.2f %12.2f %14d\n", n, mean * 1000, med * 1000, rss}'; }
row check_clamav_freshness "$o_mean" "$o_med" "$o_rss"
row check_clamav "$t_mean" "$t_med" "$t_rss"
if [[ -s $work/clamd.wall ]]; then
    read -r c_mean c_med _ < <(stats "$work/clamd.wall")
    read -r _ _ c_rss < <(stats "$work/clamd.rss")
    row "ours, asking clamd" "$c_mean" "$c_med" "$c_rss"
fi
if [[ -s $work/mirror.wall ]]; then
    read -r m_mean m_med _ < <(stats "$work/mirror.wall")
    read -r _ _ m_rss < <(stats "$work/mirror.rss")
    row "ours, local mirror -m" "$m_mean" "$m_med" "$m_rss"
fi
if [[ -s $work/instructions ]]; then
    echo "check_clamav_freshness instructions (callgrind, 3 runs): $(sort -n "$work/instructions" | tr '\n' ' ')"
else
    echo "SKIP: no valgrind: no instruction count"
fi
awk -v om="$o_mean" -v tm="$t_mean" -v od="$o_med" -v td="$t_med" -v orss="$o_rss" -v trss="$t_rss" \
    'BEGIN {printf "ratio check_clamav / ours: wall mean %.1fx, median %.1fx, peak RSS %.1fx\n",
            tm / om, td / od, trss / orss}'
