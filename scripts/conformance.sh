#!/usr/bin/env bash
# conformance.sh — runs Kubernetes' own [Conformance] specs that need no
# running pods (the list in test/conformance/specs.txt) against a fresh
# `kastle server`, and writes the results to test/conformance/results.txt.
#
#   scripts/conformance.sh                  # the whole list
#   FOCUS='Namespaces' scripts/conformance.sh  # only specs matching FOCUS
#
# The suite is built by scripts/build-e2e.sh (outside this module, cached).
# A Node with a Ready condition is registered and kept alive by this script,
# as the issue allows: the e2e framework waits for schedulable nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
e2e=$(scripts/build-e2e.sh)
work=$(mktemp -d /tmp/kastle-conformance.XXXXXX)
cleanup() {
	[[ -n ${beat:-} ]] && kill "$beat" 2>/dev/null || true
	[[ -n ${server:-} ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/kastle" ./cmd/kastle
# 192.0.2.10 is a documentation address: the kubernetes Service's endpoints
# name it, nothing dials it.
"$work/kastle" server --data-dir "$work/data" --secure-port 0 --bind-address 127.0.0.1 \
	--advertise-address 192.0.2.10 >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
	grep -q "kastle API server ready" "$work/server.log" 2>/dev/null && break
	sleep 0.2
done
export KUBECONFIG=$work/data/admin.conf

node=kastle-e2e-node
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $node
  labels: {kubernetes.io/hostname: $node, kubernetes.io/os: linux, kubernetes.io/arch: amd64}
YAML
heartbeat() {
	while true; do
		now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
		kubectl patch node "$node" --subresource=status --type=merge -p "{\"status\":{
			\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"message\":\"conformance harness\",
			\"lastHeartbeatTime\":\"$now\",\"lastTransitionTime\":\"$now\"}],
			\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"127.0.0.2\"},{\"type\":\"Hostname\",\"address\":\"$node\"}],
			\"capacity\":{\"cpu\":\"2\",\"memory\":\"8Gi\",\"pods\":\"110\"},\"allocatable\":{\"cpu\":\"2\",\"memory\":\"8Gi\",\"pods\":\"110\"},
			\"nodeInfo\":{\"kubeletVersion\":\"v1.32.13\",\"operatingSystem\":\"linux\",\"architecture\":\"amd64\",
			\"machineID\":\"\",\"systemUUID\":\"\",\"bootID\":\"\",\"kernelVersion\":\"\",\"osImage\":\"\",\"containerRuntimeVersion\":\"\",\"kubeProxyVersion\":\"\"}}}" >/dev/null 2>&1 || true
		sleep 10
	done
}
heartbeat &
beat=$!
sleep 2

# The specs run in SHARDS e2e.test processes side by side against the one
# server (as upstream runs conformance in parallel); [Serial] specs all go
# to the first shard. Each shard's focus is an anchored alternation of
# exact spec names.
list=${SPECS:-test/conformance/specs.txt}
shards=${SHARDS:-3}
mkdir -p "$work/report"
grep -v '^\s*#' "$list" | grep -v '^\s*$' | { [[ -n ${FOCUS:-} ]] && grep -E "$FOCUS" || cat; } >"$work/specs"
awk -v n="$shards" '/\[Serial\]/ {print > (dir "/shard0"); next} {print > (dir "/shard" (i++ % n))}' dir="$work" "$work/specs"
pids=()
for ((k = 0; k < shards; k++)); do
	[[ -s $work/shard$k ]] || continue
	focus=$(sed 's/[][\.*^$(){}+?|/]/\\&/g' "$work/shard$k" | paste -sd'|')
	"$e2e" --kubeconfig "$KUBECONFIG" --provider skeleton --report-dir "$work/report" \
		--ginkgo.focus "$focus" --ginkgo.no-color --ginkgo.v --ginkgo.timeout 3h \
		--ginkgo.junit-report "$work/report/junit-$k.xml" ${E2E_ARGS:-} >"$work/e2e-$k.log" 2>&1 &
	pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
python3 - "$work"/report/junit-*.xml >test/conformance/results.txt <<'PY'
import sys, xml.etree.ElementTree as ET
rows = []
for path in sys.argv[1:]:
    for tc in ET.parse(path).getroot().iter("testcase"):
        name = tc.get("name", "")
        if "[Conformance]" not in name or tc.find("skipped") is not None:
            continue
        state = "FAIL" if tc.find("failure") is not None or tc.find("error") is not None else "PASS"
        rows.append((name, state))
rows.sort()
passed = sum(1 for _, s in rows if s == "PASS")
print(f"# {passed}/{len(rows)} passed")
for name, state in rows:
    print(f"{state}  {name}")
PY
head -1 test/conformance/results.txt
cat "$work"/e2e-*.log >/tmp/kastle-conformance-e2e.log
cp "$work/server.log" /tmp/kastle-conformance-server.log
echo "logs: /tmp/kastle-conformance-e2e.log /tmp/kastle-conformance-server.log"
exit $status
