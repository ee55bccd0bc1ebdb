#!/usr/bin/env bash
# An external etcd cluster on loopback, secured with TLS as seed 002 sets
# one up: certificates from `kastle certs etcd-cluster`, members speaking
# TLS to each other (peer certificates) and to clients (server
# certificates, client certificates required).
#
#   scripts/etcd-cluster.sh start DIR [MEMBERS] [BASE_PORT]   # prints the --etcd-* flags for kastle
#   scripts/etcd-cluster.sh flags DIR                         # the --etcd-* flags again
#   scripts/etcd-cluster.sh stop DIR
#   scripts/etcd-cluster.sh kill-member DIR N                  # SIGKILL one member
#
# Needs `etcd` (Debian's etcd-server) and `kastle` (KASTLE=path, default
# `go run ./cmd/kastle`) on PATH. Every member listens on 127.0.0.1 only.
set -euo pipefail

cmd=${1:?start|stop|kill-member}
dir=${2:?directory}
kastle=${KASTLE:-}

case "$cmd" in
start)
  members=${3:-3}
  base=${4:-23790}
  mkdir -p "$dir"
  for p in "$dir"/member-*.pid; do
    if [ -f "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null; then
      echo "an etcd member of $dir is running already (pid $(cat "$p")); stop it first" >&2
      exit 1
    fi
  done
  if [ -n "$kastle" ]; then
    "$kastle" certs etcd-cluster --dir "$dir/pki" --members "$members" >/dev/null
  else
    go run ./cmd/kastle certs etcd-cluster --dir "$dir/pki" --members "$members" >/dev/null
  fi
  cluster=""
  endpoints=""
  for i in $(seq 1 "$members"); do
    cluster+="${cluster:+,}member-$i=https://127.0.0.1:$((base + 10 + i))"
    endpoints+="${endpoints:+,}https://127.0.0.1:$((base + i))"
  done
  for i in $(seq 1 "$members"); do
    m="$dir/pki/etcd/member-$i"
    mkdir -p "$dir/member-$i"
    chmod 700 "$dir/member-$i"
    etcd --name "member-$i" --data-dir "$dir/member-$i" \
      --listen-client-urls "https://127.0.0.1:$((base + i))" --advertise-client-urls "https://127.0.0.1:$((base + i))" \
      --listen-peer-urls "https://127.0.0.1:$((base + 10 + i))" --initial-advertise-peer-urls "https://127.0.0.1:$((base + 10 + i))" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token kastle-etcd \
      --cert-file "$m/server.crt" --key-file "$m/server.key" --client-cert-auth --trusted-ca-file "$dir/pki/etcd/ca.crt" \
      --peer-cert-file "$m/peer.crt" --peer-key-file "$m/peer.key" --peer-client-cert-auth --peer-trusted-ca-file "$dir/pki/etcd/ca.crt" \
      --listen-metrics-urls "http://127.0.0.1:$((base + 20 + i))" \
      >"$dir/member-$i.log" 2>&1 &
    echo $! >"$dir/member-$i.pid"
  done
  # Wait until the cluster answers (a quorum has formed).
  for _ in $(seq 1 100); do
    if curl -sf --noproxy '*' "http://127.0.0.1:$((base + 21))/health" | grep -q '"health":"true"'; then
      echo "--etcd-servers=$endpoints --etcd-cafile=$dir/pki/etcd/ca.crt --etcd-certfile=$dir/pki/apiserver-etcd-client.crt --etcd-keyfile=$dir/pki/apiserver-etcd-client.key" | tee "$dir/flags"
      exit 0
    fi
    sleep 0.2
  done
  echo "etcd cluster did not become healthy; logs in $dir/member-*.log" >&2
  exit 1
  ;;
flags)
  cat "$dir/flags"
  ;;
stop)
  for p in "$dir"/member-*.pid; do
    [ -f "$p" ] || continue
    kill "$(cat "$p")" 2>/dev/null || true
    rm -f "$p"
  done
  ;;
kill-member)
  n=${3:?member number}
  kill -9 "$(cat "$dir/member-$n.pid")"
  rm -f "$dir/member-$n.pid"
  ;;
*)
  echo "unknown command $cmd" >&2
  exit 2
  ;;
esac
