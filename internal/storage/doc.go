// Package storage defines how the registry keeps objects: a small Interface
// over etcd v3 whose every write is one transaction conditioned on the key's
// ModRevision (or on its absence for create), plus the shared types used by
// its implementations (the etcd3 store, the watch cache) and the embedded
// etcd server.
//
// Objects handed out by an Interface may be shared with a cache: callers
// must DeepCopy before mutating them.
package storage
