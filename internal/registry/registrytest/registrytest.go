package registrytest

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/storage"
	"github.com/kastle-dev/kastle/internal/storage/etcd3"
)

// NewStore returns a store of the built-in resource group/v1/plural on a
// prefix of its own (named after the test), admitting everything;
// callers may replace Admission.
func NewStore(t testing.TB, client *clientv3.Client, group, plural string) *registry.Store {
	t.Helper()
	scheme, err := apis.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := apis.NewCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := cat.Lookup(group, "v1", plural)
	if !ok {
		t.Fatalf("registrytest: no resource %s/v1 %s", group, plural)
	}
	ser := apis.NewSerializers(scheme)
	return &registry.Store{
		Resource:  r,
		Storage:   etcd3.New(client, ser.StorageCodec(r), storage.APIObjectVersioner{}, etcd3.WithNewFunc(r.New)),
		Prefix:    "/test/" + t.Name() + "/" + plural,
		Admission: AdmitAll{},
		Fields:    registry.NewFieldManagers(scheme, builtinTypes{applyconfigurations.NewTypeConverter(scheme)}),
		Now:       time.Now,
	}
}

type builtinTypes struct{ tc managedfields.TypeConverter }

func (b builtinTypes) TypeConverter(*apis.Resource) (managedfields.TypeConverter, error) {
	return b.tc, nil
}

// AdmitAll is an admission chain with no plugins.
type AdmitAll struct{}

// Admit admits.
func (AdmitAll) Admit(context.Context, *registry.Attributes) error { return nil }

// Validate admits.
func (AdmitAll) Validate(context.Context, *registry.Attributes) error { return nil }
