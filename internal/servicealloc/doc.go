// Package servicealloc gives Services their cluster IPs and node ports, as
// kube-apiserver does: from --service-cluster-ip-range (one range per IP
// family, dual-stack allowed) and --service-node-port-range.
//
// Every allocated IP and port is one etcd key created only if absent, so
// concurrent creates on any number of API servers never hand out the same
// value twice, and a value is released by deleting its key only while it
// still names the same owner. A repair pass recreates keys that services
// hold but storage lost and removes keys no service holds (after seeing them
// leaked twice, so an in-flight create is never robbed).
package servicealloc
