#!/usr/bin/env bash
# build.sh — builds the comparison anchor: kube-apiserver and etcd of a
# pinned upstream release, from their Go modules (no prebuilt binaries), in a
# module of its own outside kastle's, into a cache directory that is reused.
#
#   bench/anchor/build.sh        # prints the directory holding kube-apiserver and etcd
#   K8S_VERSION=v1.32.13 ETCD_VERSION=v3.5.16 ANCHOR_CACHE=~/.cache/kastle-anchor bench/anchor/build.sh
#
# The etcd version is the 3.5 patch release that Kubernetes names in its own
# go.mod; with the default K8S_VERSION that is v3.5.16. On two cores a cold
# build takes 20-40 minutes; with a warm module cache (scripts/build-e2e.sh
# fills it with the same release) a few minutes less.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

version=${K8S_VERSION:-v1.32.13}
etcd_version=${ETCD_VERSION:-v3.5.16}
cache=${ANCHOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kastle-anchor}
dir=$cache/$version
if [[ -x $dir/kube-apiserver && -x $dir/etcd ]]; then
	echo "$dir"
	exit 0
fi
mkdir -p "$dir/src"
cd "$dir/src"
export GONOSUMDB=k8s.io/kubernetes GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
# shellcheck source=../../scripts/k8s-replaces.sh
source "$here/../../scripts/k8s-replaces.sh"
replaces=$(k8s_replaces "$version")
printf 'module kastle.local/anchor\n\ngo 1.23\n\nrequire (\n\tk8s.io/kubernetes %s\n\tgo.etcd.io/etcd/server/v3 %s\n)\n\n%s\n' \
	"$version" "$etcd_version" "$replaces" >go.mod
cat >deps.go <<'GO'
//go:build tools

package anchor

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
GO
go mod tidy -e >tidy.log 2>&1 || { cat tidy.log >&2; exit 1; }
# The same linker flags upstream's release build uses to strip symbols are
# not applied: sizes differ, code does not.
go build -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3 >&2
go build -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
mv "$dir/etcd.tmp" "$dir/etcd"
mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
echo "$dir"
