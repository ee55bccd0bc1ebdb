#!/usr/bin/env bash
# build-e2e.sh — builds Kubernetes' own end-to-end suite (e2e.test) at a
# pinned release, outside kastle's module, for use as an API oracle
# (scripts/conformance.sh runs it). The build lives in a cache directory and
# is reused; nothing is downloaded but Go modules.
#
#   scripts/build-e2e.sh            # prints the path of e2e.test
#   K8S_VERSION=v1.32.13 E2E_CACHE=~/.cache/kastle-e2e scripts/build-e2e.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

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
# shellcheck source=k8s-replaces.sh
source "$here/k8s-replaces.sh"
replaces=$(k8s_replaces "$version")
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
