// Package cacher is the watch cache: a storage.Interface for one resource
// prefix that keeps the current objects and a window of recent events in
// memory, fed by a single watch on the underlying store (the etcd3 store).
// Reads and watches are served from memory, so N watchers cost one etcd
// watch; writes go straight to the underlying store. Consistent reads
// (resourceVersion "") first wait until the cache has caught up with
// etcd's current revision, as modern kube-apiserver does.
package cacher
