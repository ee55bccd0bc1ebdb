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
# The suite and the test dependencies it needs resolved by `go mod tidy`.
k8s_module kastle.local/e2e "$version" "k8s.io/kubernetes@$version" -- \
	k8s.io/kubernetes/test/e2e \
	k8s.io/kubernetes/test/e2e/framework/debug/init \
	k8s.io/kubernetes/test/e2e/framework/metrics/init \
	k8s.io/kubernetes/test/e2e/framework/node/init \
	k8s.io/kubernetes/test/utils/format
go test -c -o "$bin.tmp" k8s.io/kubernetes/test/e2e >&2
mv "$bin.tmp" "$bin"
echo "$bin"
