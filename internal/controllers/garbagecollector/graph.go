package garbagecollector

import (
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// node is what the graph knows of one observed object.
type node struct {
	gvr              schema.GroupVersionResource
	apiVersion, kind string
	namespace, name  string
	uid              types.UID
	owners           []metav1.OwnerReference
	// deleting: deletionTimestamp is set; foreground and orphan: the
	// garbage collector's finalizers are among its finalizers.
	deleting, foreground, orphan bool
}

// nodeOf reads the fields the collector uses from an object's metadata.
func nodeOf(gvr schema.GroupVersionResource, m *metav1.PartialObjectMetadata) *node {
	apiVersion, kind := m.APIVersion, m.Kind
	if apiVersion == "" {
		apiVersion = gvr.GroupVersion().String()
	}
	return &node{
		gvr: gvr, apiVersion: apiVersion, kind: kind,
		namespace: m.Namespace, name: m.Name, uid: m.UID,
		owners:     m.OwnerReferences,
		deleting:   m.DeletionTimestamp != nil,
		foreground: m.DeletionTimestamp != nil && slices.Contains(m.Finalizers, metav1.FinalizerDeleteDependents),
		orphan:     m.DeletionTimestamp != nil && slices.Contains(m.Finalizers, metav1.FinalizerOrphanDependents),
	}
}

// actions are the work an observed change asks for: UIDs to examine
// (attempt to delete, or finish a foreground deletion) and owners whose
// dependents are to be orphaned.
type actions struct {
	examine, orphan []types.UID
}

// graph indexes observed objects by UID and dependents by owner UID (an
// owner may be absent: never seen, or gone). It is safe for concurrent
// use.
type graph struct {
	mu         sync.RWMutex
	nodes      map[types.UID]*node
	dependents map[types.UID]map[types.UID]struct{}
}

func newGraph() *graph {
	return &graph{nodes: map[types.UID]*node{}, dependents: map[types.UID]map[types.UID]struct{}{}}
}

// get returns a copy of the node of uid.
func (g *graph) get(uid types.UID) (node, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes[uid]
	if !ok {
		return node{}, false
	}
	return *n, true
}

// dependentsOf returns the nodes of uid's observed dependents.
func (g *graph) dependentsOf(uid types.UID) []node {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]node, 0, len(g.dependents[uid]))
	for d := range g.dependents[uid] {
		if n, ok := g.nodes[d]; ok {
			out = append(out, *n)
		}
	}
	return out
}

// blocking returns the dependents of uid whose reference to it has
// blockOwnerDeletion: those a foreground deletion of uid waits for.
func (g *graph) blocking(uid types.UID) []node {
	var out []node
	for _, d := range g.dependentsOf(uid) {
		if blocks(d.owners, uid) {
			out = append(out, d)
		}
	}
	return out
}

func sameRefs(a, b []metav1.OwnerReference) bool {
	return len(a) == 0 && len(b) == 0 || equality.Semantic.DeepEqual(a, b)
}

func blocks(refs []metav1.OwnerReference, owner types.UID) bool {
	for _, r := range refs {
		if r.UID == owner && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
			return true
		}
	}
	return false
}

// observe records an added or changed object and returns what to do.
func (g *graph) observe(n *node) actions {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.nodes[n.uid]
	g.nodes[n.uid] = n
	var a actions
	if old != nil {
		g.unindex(old)
	}
	g.index(n)
	refsChanged := old == nil || !sameRefs(old.owners, n.owners)
	if refsChanged && !g.settledLocked(n) {
		a.examine = append(a.examine, n.uid)
	}
	if n.foreground {
		// Finish it when nothing blocks it; on entering foreground
		// deletion, its dependents are deleted first.
		a.examine = append(a.examine, n.uid)
		if old == nil || !old.foreground {
			for d := range g.dependents[n.uid] {
				a.examine = append(a.examine, d)
			}
		}
	}
	if n.orphan {
		a.orphan = append(a.orphan, n.uid)
	}
	if old != nil && refsChanged {
		// A dependent that dropped (or stopped blocking) an owner may
		// release that owner's foreground deletion.
		for _, r := range old.owners {
			if o, ok := g.nodes[r.UID]; ok && o.foreground && !blocks(n.owners, r.UID) {
				a.examine = append(a.examine, r.UID)
			}
		}
	}
	return a
}

// settled reports from the graph alone that n needs nothing: every owner
// is present, at rest, and where n may refer to it.
func (g *graph) settled(n *node) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.settledLocked(n)
}

func (g *graph) settledLocked(n *node) bool {
	for _, r := range n.owners {
		o, ok := g.nodes[r.UID]
		if !ok || o.foreground || o.name != r.Name || (o.namespace != "" && o.namespace != n.namespace) {
			return false
		}
	}
	return true
}

// forget removes a deleted object and returns what to do: its dependents
// lost an owner, and owners waiting on it may be done.
func (g *graph) forget(uid types.UID) actions {
	g.mu.Lock()
	defer g.mu.Unlock()
	var a actions
	n, ok := g.nodes[uid]
	if !ok {
		return a
	}
	delete(g.nodes, uid)
	g.unindex(n)
	for d := range g.dependents[uid] {
		a.examine = append(a.examine, d)
	}
	for _, r := range n.owners {
		if o, ok := g.nodes[r.UID]; ok && o.foreground {
			a.examine = append(a.examine, r.UID)
		}
	}
	return a
}

func (g *graph) index(n *node) {
	for _, r := range n.owners {
		deps := g.dependents[r.UID]
		if deps == nil {
			deps = map[types.UID]struct{}{}
			g.dependents[r.UID] = deps
		}
		deps[n.uid] = struct{}{}
	}
}

func (g *graph) unindex(n *node) {
	for _, r := range n.owners {
		deps := g.dependents[r.UID]
		delete(deps, n.uid)
		if len(deps) == 0 {
			delete(g.dependents, r.UID)
		}
	}
}
