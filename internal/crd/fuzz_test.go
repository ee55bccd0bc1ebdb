package crd

import (
	"encoding/json"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// The seed corpora live in testdata/fuzz/<FuzzName>; `go test` replays
// them, `go test -fuzz=FuzzPrune` explores further.

func fuzzObject(data []byte) (map[string]interface{}, bool) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, false
	}
	m, ok := v.(map[string]interface{})
	return m, ok
}

// FuzzPrune checks that pruning and defaulting never panic and that a
// pruned object is stable under a second pruning.
func FuzzPrune(f *testing.F) {
	s := mustSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, ok := fuzzObject(data)
		if !ok {
			return
		}
		s.Prune(obj)
		if again := s.Prune(obj); len(again) != 0 {
			t.Fatalf("second prune removed %v", again)
		}
		s.Default(obj)
		_ = runtime.DeepCopyJSON(obj) // defaults must leave only JSON types
	})
}

// FuzzValidate checks that validation, table rows and scale reads never
// panic on arbitrary objects.
func FuzzValidate(f *testing.F) {
	s := mustSchema(f)
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, ok := fuzzObject(data)
		if !ok {
			return
		}
		_ = s.Validate(obj)
		u := &unstructured.Unstructured{Object: obj}
		_, _ = s.RowAt(u, now)
		_, _ = GetScale(u, s.Scale())
		_ = SetReplicas(u, s.Scale(), 2)
	})
}

// FuzzCRD checks that validating and compiling arbitrary CRD specs never
// panics, and that every CRD ValidateCRD accepts compiles.
func FuzzCRD(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := json.Unmarshal(data, crd); err != nil {
			return
		}
		DefaultCRD(crd)
		errs := ValidateCRD(crd)
		_ = ValidateCRDUpdate(crd, crd.DeepCopy())
		_ = ComputeStatusAt(crd, []*apiextensionsv1.CustomResourceDefinition{crd}, time.Time{})
		for _, v := range crd.Spec.Versions {
			s, err := Compile(crd, v.Name)
			if len(errs) == 0 && err != nil {
				t.Fatalf("valid CRD does not compile: %v", err)
			}
			if err == nil {
				obj := map[string]interface{}{"spec": map[string]interface{}{"a": int64(1)}}
				s.Prune(obj)
				s.Default(obj)
				_ = s.Validate(obj)
			}
		}
	})
}
