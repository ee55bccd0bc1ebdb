// Package nsdefaults keeps in every active namespace what workloads expect
// there, on client-go informers for the controller manager: the "default"
// ServiceAccount (Kubernetes' service account controller) and the
// kube-root-ca.crt ConfigMap holding the cluster CA (its root CA
// publisher). A deleted or changed copy is put back.
package nsdefaults
