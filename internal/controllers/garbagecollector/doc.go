// Package garbagecollector carries out deletion propagation through
// ownerReferences: Background deletes an owner's dependents after it is
// gone, Foreground deletes them before it (the owner waits with the
// foregroundDeletion finalizer), Orphan removes the owner reference from
// its dependents (the owner waits with the orphan finalizer).
//
// It keeps an index from owner UID to dependents, fed by the registry's
// write notices (and seeded from the watch caches at start), so handling a
// deletion costs in proportion to the owner's dependents, not to the
// number of objects.
package garbagecollector
