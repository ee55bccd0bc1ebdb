package openapi

import "testing"

// BenchmarkBuildBuiltinDocuments measures building every built-in
// group-version document from scratch (reflection included), i.e. the cost
// of the first /openapi/v3 request after server start.
func BenchmarkBuildBuiltinDocuments(b *testing.B) {
	rs := builtinResources()
	for b.Loop() {
		s := NewService()
		s.SetResources(rs)
		s.index(s.state.Load())
	}
}

// BenchmarkRebuildDocumentsWarmTypes is the same with the per-type schema
// cache already filled: the cost of rebuilding after the set changed.
func BenchmarkRebuildDocumentsWarmTypes(b *testing.B) {
	rs := builtinResources()
	warm := NewService()
	warm.SetResources(rs)
	warm.index(warm.state.Load())
	for b.Loop() {
		s := NewService()
		s.defs = warm.defs
		s.SetResources(rs)
		s.index(s.state.Load())
	}
}

// BenchmarkSetResources measures replacing the set when one CRD changed.
func BenchmarkSetResources(b *testing.B) {
	s := NewService()
	a := append(builtinResources(), widgetResource("v1", ""))
	c := append(builtinResources(), widgetResource("v1", "extra"))
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			s.SetResources(a)
		} else {
			s.SetResources(c)
		}
		i++
	}
}

// BenchmarkCRDDocument measures rebuilding one CRD group-version document.
func BenchmarkCRDDocument(b *testing.B) {
	s := NewService()
	r := []Resource{widgetResource("v1", "")}
	for b.Loop() {
		s.buildGV(surveyV1, r)
	}
}

// BenchmarkV2 measures the Swagger 2.0 document of all built-ins, JSON and
// then gnostic protobuf.
func BenchmarkV2(b *testing.B) {
	rs := builtinResources()
	warm := NewService()
	warm.SetResources(rs)
	warm.index(warm.state.Load())
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			s := NewService()
			s.defs = warm.defs
			s.SetResources(rs)
			s.v2JSON(s.state.Load().v2)
		}
	})
	b.Run("protobuf", func(b *testing.B) {
		for b.Loop() {
			s := NewService()
			s.defs = warm.defs
			s.SetResources(rs)
			s.v2Proto(s.state.Load().v2)
		}
	})
}
