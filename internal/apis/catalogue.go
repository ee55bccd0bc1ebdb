package apis

import (
	"sort"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Catalogue is the set of served resources: the built-in table plus the
// custom resources of established CRDs. Reads are lock-free (an immutable
// snapshot swapped atomically); changes are serialised.
type Catalogue struct {
	mu       sync.Mutex // serialises writers
	builtins []*Resource
	custom   map[string][]*Resource // by CRD name
	snap     atomic.Pointer[snapshot]
	watchers []func()
}

type snapshot struct {
	all   []*Resource
	byGVR map[schema.GroupVersionResource]*Resource
	gen   uint64
}

// NewCatalogue builds the catalogue of built-in resources, checking every
// row once.
func NewCatalogue() (*Catalogue, error) {
	c := &Catalogue{custom: map[string][]*Resource{}}
	for _, b := range builtinTable() {
		r, err := b.resource(builtinBehaviour)
		if err != nil {
			return nil, err
		}
		c.builtins = append(c.builtins, r)
	}
	c.rebuild(0)
	return c, nil
}

func (c *Catalogue) rebuild(gen uint64) {
	s := &snapshot{byGVR: map[schema.GroupVersionResource]*Resource{}, gen: gen}
	s.all = append(s.all, c.builtins...)
	names := make([]string, 0, len(c.custom))
	for n := range c.custom {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s.all = append(s.all, c.custom[n]...)
	}
	for _, r := range s.all {
		s.byGVR[r.GVR()] = r
	}
	c.snap.Store(s)
}

// Lookup finds a served resource by group, version and plural name.
func (c *Catalogue) Lookup(group, version, plural string) (*Resource, bool) {
	r, ok := c.snap.Load().byGVR[schema.GroupVersionResource{Group: group, Version: version, Resource: plural}]
	return r, ok
}

// Resources returns every served resource: built-ins in table order, then
// custom resources by CRD name. The slice must not be modified.
func (c *Catalogue) Resources() []*Resource { return c.snap.Load().all }

// Generation increases with every change of the served set.
func (c *Catalogue) Generation() uint64 { return c.snap.Load().gen }

// SetCustom replaces the served versions of one CRD (none removes it) and
// notifies the change watchers.
func (c *Catalogue) SetCustom(crdName string, rs []*Resource) error {
	for _, r := range rs {
		if err := r.validate(); err != nil {
			return err
		}
	}
	c.mu.Lock()
	if len(rs) == 0 {
		delete(c.custom, crdName)
	} else {
		c.custom[crdName] = rs
	}
	c.rebuild(c.snap.Load().gen + 1)
	watchers := append([]func(){}, c.watchers...)
	c.mu.Unlock()
	for _, w := range watchers {
		w()
	}
	return nil
}

// Custom returns the served versions of one CRD.
func (c *Catalogue) Custom(crdName string) []*Resource {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Resource(nil), c.custom[crdName]...)
}

// OnChange registers f to run after every change of the served set.
func (c *Catalogue) OnChange(f func()) {
	c.mu.Lock()
	c.watchers = append(c.watchers, f)
	c.mu.Unlock()
}

// GroupVersions returns the served group versions in discovery order:
// groups in order of first appearance, versions as they appear.
func (c *Catalogue) GroupVersions() []schema.GroupVersion {
	var out []schema.GroupVersion
	seen := map[schema.GroupVersion]bool{}
	for _, r := range c.Resources() {
		gv := r.GroupVersion()
		if !seen[gv] {
			seen[gv] = true
			out = append(out, gv)
		}
	}
	return out
}
