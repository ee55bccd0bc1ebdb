// Package cluster holds kubeadm-style cluster bootstrap: token discovery
// for `kastle join` (fetch the public cluster-info without trusting the
// server, check its JWS with the token and its CA against the pins) and
// the phases of `kastle init`.
package cluster
