package apiserver

import (
	"sync"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/registry"
)

// stores maps served resources to their registry stores. Built-ins are
// added at start; custom resources come and go with their CRDs.
type stores struct {
	mu sync.RWMutex
	m  map[*apis.Resource]*registry.Store
}

func newStores() *stores { return &stores{m: map[*apis.Resource]*registry.Store{}} }

// Store implements endpoints.Stores.
func (s *stores) Store(r *apis.Resource) (*registry.Store, bool) {
	s.mu.RLock()
	st, ok := s.m[r]
	s.mu.RUnlock()
	return st, ok
}

func (s *stores) set(r *apis.Resource, st *registry.Store) {
	s.mu.Lock()
	s.m[r] = st
	s.mu.Unlock()
}

func (s *stores) remove(r *apis.Resource) {
	s.mu.Lock()
	delete(s.m, r)
	s.mu.Unlock()
}
