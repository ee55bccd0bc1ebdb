// Package garbagecollector carries out deletion propagation through
// ownerReferences, on client-go for the controller manager: Background
// deletes an owner's dependents after it is gone, Foreground deletes them
// before it (the owner waits with the foregroundDeletion finalizer for the
// dependents whose reference has blockOwnerDeletion), Orphan removes the
// owner reference from its dependents (the owner waits with the orphan
// finalizer).
//
// It watches the metadata of every deletable resource, built-in and
// custom, found by discovery (and found again as CRDs come and go), and
// keeps a graph from owner UID to dependents, so handling a deletion costs
// in proportion to the owner's dependents. An owner the graph has not seen
// is verified with a live GET by name and UID before its dependents are
// deleted, so a dependent created after its owner is already gone is
// collected too, and one whose owner the informers have not caught up with
// is not.
package garbagecollector
