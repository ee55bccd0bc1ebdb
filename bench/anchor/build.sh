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
k8s_module kastle.local/anchor "$version" "k8s.io/kubernetes@$version" "go.etcd.io/etcd/server/v3@$etcd_version" -- \
	go.etcd.io/etcd/server/v3 k8s.io/kubernetes/cmd/kube-apiserver
# The same linker flags upstream's release build uses to strip symbols are
# not applied: sizes differ, code does not.
go build -o "$dir/etcd.tmp" go.etcd.io/etcd/server/v3 >&2
go build -o "$dir/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
mv "$dir/etcd.tmp" "$dir/etcd"
mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver"
echo "$dir"
