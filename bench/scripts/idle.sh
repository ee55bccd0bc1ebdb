#!/usr/bin/env bash
# idle.sh — CPU of an idle `kastle server` after a burst of load (issue 10):
# a fresh server, 10 s of create/get/update at concurrency 8, 5 s of rest,
# then its CPU time and thread wake-ups over 60 s.
#
#   bench/scripts/idle.sh [server flags...]     # KASTLE=/path/to/kastle measures another build
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_server "$@"
"$LOADGEN" --kubeconfig "$kubeconfig" --scenarios create,get,update --concurrency 8 --duration 10s --no-cleanup >/dev/null 2>&1
sleep 5
c0=$(cpu_ticks) w0=$(wakeups)
sleep 60
c1=$(cpu_ticks) w1=$(wakeups)
hz=$(getconf CLK_TCK)
python3 -c "print('idle: %.2f %% of a core, %d thread wake-ups/s, load average $(loadavg)' % (100.0 * ($c1 - $c0) / $hz / 60, ($w1 - $w0) / 60))"
