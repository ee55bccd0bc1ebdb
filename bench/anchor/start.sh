#!/usr/bin/env bash
# start.sh — runs the comparison anchor (etcd + kube-apiserver built by
# build.sh) on loopback until it is signalled, the way kubeadm configures
# them where it matters for a comparison with `kastle server`: client
# certificates (ECDSA P-256, as kastle issues), authorization Node,RBAC,
# service-account tokens, etcd fsyncing its writes.
#
#   bench/anchor/start.sh BIN_DIR STATE_DIR SECURE_PORT ETCD_PORT ETCD_PEER_PORT
#
# The PKI and STATE_DIR/admin.conf are made once (openssl) and reused; the
# etcd data is wiped on every start, so each start is a cold start. etcd
# listens on plain HTTP on 127.0.0.1 (kubeadm uses TLS there; skipping it
# makes the anchor a little cheaper, never dearer). Logs go to
# STATE_DIR/{etcd,kube-apiserver}.log. SIGTERM stops both.
set -euo pipefail
[[ $# -eq 5 ]] || { sed -n 2,14p "$0" >&2; exit 2; }
bin=$1 state=$2 port=$3 etcd_port=$4 peer_port=$5
pki=$state/pki
mkdir -p "$pki"

cert() { # name subject [extfile-lines] — a P-256 key and a certificate signed by ca
	local name=$1 subj=$2 ext=$3
	openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null
	openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
	printf '%b\n' "$ext" >"$pki/$name.ext"
	openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
		-days 30 -sha256 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
}
if [[ ! -s $state/admin.conf ]]; then
	umask 077
	openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
	openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=kastle-anchor-ca" -days 30 -sha256 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$pki/ca.crt" 2>/dev/null
	cert apiserver "/CN=kube-apiserver" \
		"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc,IP:10.96.0.1"
	cert admin "/O=system:masters/CN=kubernetes-admin" \
		"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth"
	openssl ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key" 2>/dev/null
	openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
	b64() { base64 -w0 <"$1"; }
	cat >"$state/admin.conf.tmp" <<CONF
apiVersion: v1
kind: Config
clusters:
- name: anchor
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(b64 "$pki/admin.crt")
    client-key-data: $(b64 "$pki/admin.key")
contexts:
- name: admin@anchor
  context: {cluster: anchor, user: admin}
current-context: admin@anchor
CONF
	mv "$state/admin.conf.tmp" "$state/admin.conf"
fi
# The port may differ from the one the kubeconfig was first written with.
sed -i "s#server: https://127.0.0.1:[0-9]*#server: https://127.0.0.1:$port#" "$state/admin.conf"

rm -rf "$state/etcd-data"
stop() { kill -TERM $(jobs -p) 2>/dev/null || true; wait; }
trap 'stop; exit 0' TERM INT
trap stop EXIT
"$bin/etcd" --name anchor --data-dir "$state/etcd-data" \
	--listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
	--listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
	--initial-cluster "anchor=http://127.0.0.1:$peer_port" \
	>"$state/etcd.log" 2>&1 &
"$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
	--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$port" \
	--tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
	--client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
	--service-account-issuer https://kubernetes.default.svc.cluster.local \
	--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
	--service-cluster-ip-range 10.96.0.0/12 --allow-privileged --endpoint-reconciler-type none \
	>"$state/kube-apiserver.log" 2>&1 &
wait -n
echo "start.sh: a component exited; see $state/*.log" >&2
exit 1
