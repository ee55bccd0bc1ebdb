// Package rootca publishes the cluster CA to every namespace as the
// ConfigMap kube-root-ca.crt (key ca.crt), so workloads can verify the
// API server; a changed or deleted copy is put back.
package rootca
