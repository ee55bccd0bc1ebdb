// Package garbagecollector carries out deletion propagation through
// ownerReferences: Background deletes an owner's dependents after it is
// gone, Foreground deletes them before it (the owner waits with the
// foregroundDeletion finalizer), Orphan removes the owner reference from
// its dependents (the owner waits with the orphan finalizer).
//
// It is driven by the registry's deletion notices and finds dependents in
// the watch caches, so its cost is proportional to deletions, not to the
// number of objects.
package garbagecollector
