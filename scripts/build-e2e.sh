#!/usr/bin/env bash
# build-e2e.sh — builds Kubernetes' own end-to-end suite (e2e.test) at a
# pinned release, outside kastle's module, for use as an API oracle
# (scripts/conformance.sh runs it). The build lives in a cache directory and
# is reused; nothing is downloaded but Go modules.
#
#   scripts/build-e2e.sh            # prints the path of e2e.test
#   K8S_VERSION=v1.32.13 E2E_CACHE=~/.cache/kastle-e2e scripts/build-e2e.sh
set -euo pipefail

version=${K8S_VERSION:-v1.32.13}
cache=${E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kastle-e2e}
dir=$cache/$version
bin=$dir/e2e.test
if [[ -x $bin ]]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$dir"
cd "$dir"
# k8s.io/kubernetes is not in the checksum database the usual way (its
# staging modules are v0.0.0 placeholders): skip the lookup for it.
export GONOSUMDB=k8s.io/kubernetes GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
staging=v0${version#v1}
# Every staging module the release names as v0.0.0 is pinned to the
# matching v0.x release, or to the newest patch of that minor the module
# proxy serves (some, e.g. sample-apiserver, lag behind). The lookups run
# outside any module.
replaces=$(
	cd "$(mktemp -d)"
	go mod download -json "k8s.io/kubernetes@$version" >/dev/null
	modfile=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$version.mod
	for m in $(grep -E '^\s+k8s.io/[a-z0-9-]+ v0\.0\.0$' "$modfile" | awk '{print $1}'); do
		v=$staging
		if ! go mod download "$m@$v" 2>/dev/null; then
			v=$(go list -m -versions "$m" | tr ' ' '\n' | grep -E "^${staging%.*}\." | sort -V | tail -1)
			[[ -n $v ]] || { echo "build-e2e: no ${staging%.*}.x of $m is served" >&2; exit 1; }
			echo "build-e2e: $m $staging is not served; using $v" >&2
		fi
		echo "replace $m => $m $v"
	done
)
printf 'module kastle.local/e2e\n\ngo 1.23\n\nrequire k8s.io/kubernetes %s\n\n%s\n' "$version" "$replaces" >go.mod
# A file that imports the suite's test dependencies so that `go mod tidy`
# resolves them.
cat >deps.go <<'GO'
//go:build tools

package e2e

import (
	_ "k8s.io/kubernetes/test/e2e"
	_ "k8s.io/kubernetes/test/e2e/framework/debug/init"
	_ "k8s.io/kubernetes/test/e2e/framework/metrics/init"
	_ "k8s.io/kubernetes/test/e2e/framework/node/init"
	_ "k8s.io/kubernetes/test/utils/format"
)
GO
go mod tidy -e >tidy.log 2>&1 || { cat tidy.log >&2; exit 1; }
go test -c -o "$bin.tmp" k8s.io/kubernetes/test/e2e >&2
mv "$bin.tmp" "$bin"
echo "$bin"
