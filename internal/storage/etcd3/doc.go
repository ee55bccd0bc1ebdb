// Package etcd3 implements storage.Interface directly on etcd v3: every
// write is a single transaction conditioned on the key's ModRevision (or
// its absence), lists page through one consistent revision, and watches
// map etcd events to Kubernetes watch events.
package etcd3
