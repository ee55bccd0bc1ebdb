package openapi

import (
	"encoding/json"
	"fmt"
	"sync"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
)

// Externals supplies the OpenAPI documents of other servers (API
// aggregation). Generation must change whenever either answer does.
type Externals interface {
	Generation() uint64
	// OpenAPIV2 returns Swagger 2.0 documents (JSON) to merge into
	// /openapi/v2.
	OpenAPIV2() [][]byte
	// OpenAPIV3 returns v3 index entries: document path
	// ("apis/<group>/<version>") → server-relative URL. Requests for
	// those documents are routed to their servers, not to this Service.
	OpenAPIV3() map[string]string
}

// SetExternals merges the documents of e into /openapi/v2 and the
// /openapi/v3 index. Call it before serving.
func (s *Service) SetExternals(e Externals) { s.ext = e }

// mergedV2 is the Swagger 2.0 document merged with external ones, for one
// local document and one externals generation.
type mergedV2 struct {
	local *v2Entry
	gen   uint64
	json  *encoded
	pb    lazy[*encoded]
}

// externalV2 returns the merged document of v and the current externals,
// or nil when there is nothing to merge.
func (s *Service) externalV2(v *v2Entry) *mergedV2 {
	if s.ext == nil {
		return nil
	}
	gen := s.ext.Generation()
	s.mergedMu.Lock()
	defer s.mergedMu.Unlock()
	if m := s.merged; m != nil && m.local == v && m.gen == gen {
		return m
	}
	docs := s.ext.OpenAPIV2()
	if len(docs) == 0 {
		s.merged = nil
		return nil
	}
	m := &mergedV2{local: v, gen: gen, json: s.v2JSON(v)}
	if m.json.err == nil {
		enc := encode(mergeV2(m.json.body, docs))
		m.json = &enc
	}
	s.merged = m
	return m
}

func (m *mergedV2) proto() *encoded {
	return m.pb.get(func() *encoded {
		if m.json.err != nil {
			return m.json
		}
		doc, err := openapi_v2.ParseDocument(m.json.body)
		if err != nil {
			return &encoded{err: fmt.Errorf("parsing the merged OpenAPI v2 document with gnostic: %w", err)}
		}
		enc := encode(proto.Marshal(doc))
		return &enc
	})
}

// mergeV2 adds the paths and definitions of other Swagger 2.0 documents
// to base; what base has already is kept (a server cannot redefine the
// built-in types), and among the others the first document wins.
func mergeV2(base []byte, others [][]byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, err
	}
	sections := map[string]map[string]json.RawMessage{"paths": {}, "definitions": {}}
	for name, m := range sections {
		if raw, ok := doc[name]; ok {
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, err
			}
		}
	}
	for _, o := range others {
		var ext map[string]json.RawMessage
		if json.Unmarshal(o, &ext) != nil {
			continue // a broken document adds nothing
		}
		for name, m := range sections {
			var add map[string]json.RawMessage
			if json.Unmarshal(ext[name], &add) != nil {
				continue
			}
			for k, v := range add {
				if _, ok := m[k]; !ok {
					m[k] = v
				}
			}
		}
	}
	for name, m := range sections {
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		doc[name] = raw
	}
	return json.Marshal(doc)
}

// mergedState caches the last merged document of a Service.
type mergedState struct {
	mergedMu sync.Mutex
	merged   *mergedV2
}

// indexWithExternal is the /openapi/v3 index with the external documents'
// entries added (local group versions keep their own).
func (s *Service) indexWithExternal(st *state) []byte {
	local := s.index(st)
	if s.ext == nil {
		return local
	}
	ext := s.ext.OpenAPIV3()
	if len(ext) == 0 {
		return local
	}
	var idx struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(local, &idx); err != nil {
		return local
	}
	for p, u := range ext {
		if _, ok := idx.Paths[p]; !ok {
			raw, _ := json.Marshal(map[string]string{"serverRelativeURL": u})
			idx.Paths[p] = raw
		}
	}
	body, err := json.Marshal(idx)
	if err != nil {
		return local
	}
	return body
}
