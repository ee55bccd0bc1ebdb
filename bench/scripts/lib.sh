# lib.sh — sourced by the scripts next to it: builds kastle and loadgen
# (unless KASTLE/LOADGEN name binaries), starts a kastle server on a fresh
# data dir on 127.0.0.1 and a free port, and reads its process figures.
# Everything started is stopped and removed on exit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d)
server_pid=
cleanup() {
	if [[ -n $server_pid ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
if [[ -z ${KASTLE:-} ]]; then
	KASTLE=$work/kastle
	(cd "$root" && go build -o "$KASTLE" ./cmd/kastle)
fi
if [[ -z ${LOADGEN:-} ]]; then
	LOADGEN=$work/loadgen
	(cd "$root" && go build -o "$LOADGEN" ./bench/loadgen)
fi

# start_server [FLAGS...]: sets server_pid and kubeconfig.
start_server() {
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$KASTLE" server --data-dir "$work/data" --secure-port "$port" "$@" >"$work/server.log" 2>&1 &
	server_pid=$!
	kubeconfig=$work/data/admin.conf
	for _ in $(seq 300); do
		grep -q "API server ready" "$work/server.log" && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$work/server.log" >&2
	echo "kastle server did not become ready" >&2
	return 1
}

# rss_mib: the server's resident set now.
rss_mib() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$server_pid/status"; }

# cpu_ticks: the server's user+system time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

# wakeups: voluntary context switches of all the server's threads so far.
wakeups() { cat /proc/"$server_pid"/task/*/status | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s}'; }

loadavg() { cut -d' ' -f1 /proc/loadavg; }
