#!/usr/bin/env bash
# steady.sh — memory under a steady load (issue 10): a fresh `kastle
# server`; the peak of a mixed load found by running the get and the update
# scenario at once, unthrottled, at concurrency 8 for 20 s; then both at
# 80 % of those rates for MINUTES (default 30), the server's RSS printed
# every 30 s, and the rates reached at the end.
#
#   bench/scripts/steady.sh [MINUTES]     # KASTLE=/path/to/kastle measures another build
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
minutes=${1:-30}
start_server
echo "ready: RSS $(rss_mib) MiB, load average $(loadavg)"
run() { # run NAME SCENARIO [FLAGS...]: one loadgen in the background
	local name=$1 scenario=$2
	shift 2
	"$LOADGEN" --kubeconfig "$kubeconfig" --namespace "$name" --scenarios "$scenario" --concurrency 8 \
		--json-out "$work/$name.json" "$@" >"$work/$name.txt" 2>&1 &
}
rate() { python3 -c "import json; print(json.load(open('$work/$1.json'))['results'][0]['perSecond'])"; }
run peak-get get --duration 20s
p1=$!
run peak-update update --duration 20s
p2=$!
wait "$p1" "$p2"
get=$(python3 -c "print(round(0.8 * $(rate peak-get)))")
update=$(python3 -c "print(round(0.8 * $(rate peak-update)))")
printf 'mixed peak: %.0f gets/s + %.0f updates/s; running %s + %s for %s min\n' "$(rate peak-get)" "$(rate peak-update)" "$get" "$update" "$minutes"
run steady-get get --rate "$get" --duration "${minutes}m" --max-requests 100000000
p1=$!
run steady-update update --rate "$update" --duration "${minutes}m" --max-requests 100000000
p2=$!
start=$(date +%s)
while kill -0 "$p1" 2>/dev/null || kill -0 "$p2" 2>/dev/null; do
	echo "$(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s: RSS $(rss_mib) MiB, load average $(loadavg)"
	sleep 30
done
wait "$p1" "$p2" || true
echo "end: RSS $(rss_mib) MiB"
for n in steady-get steady-update; do
	python3 -c "
import json
r = json.load(open('$work/$n.json'))['results'][0]
print('$n: %.1f/s (asked %s), p99 %.1f ms, %d errors' % (r['perSecond'], '${get}' if '$n' == 'steady-get' else '${update}', r['p99Ms'], r['errors']))"
done
