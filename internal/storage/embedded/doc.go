// Package embedded runs an etcd server inside the kastle process (the
// default storage when no --etcd-servers are given), connects clients to
// an embedded or external etcd, and compacts old revisions the way
// kube-apiserver does.
package embedded
