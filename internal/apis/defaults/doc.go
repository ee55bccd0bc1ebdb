// Package defaults fills in the fields kube-apiserver defaults on built-in
// objects (the values users see in `kubectl get -o yaml`: a Service's
// ClusterIP type, a Pod's restartPolicy and dnsPolicy, a Deployment's
// rolling-update strategy, and so on) so that objects stored by kastle look
// the same as those stored by Kubernetes.
//
// Default is idempotent: applying it twice gives the same object as applying
// it once. It never allocates anything (cluster IPs, node ports) and never
// fails; objects of unknown types are left untouched.
package defaults
