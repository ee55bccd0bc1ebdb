package cacher

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// TestEncodingsFollowVersions checks that the cache hands out one
// Encodings per stored version, the same to lists and gets, and gives its
// bytes back when the version is replaced, deleted or the cache stops.
func TestEncodingsFollowVersions(t *testing.T) {
	ctx := context.Background()
	budget := storage.NewEncodingBudget(1 << 20)
	c, _ := newCacher(t, func(cfg *Config) { cfg.Encodings = budget })
	a := mustCreate(t, c, "a", nil, "1")
	mustCreate(t, c, "b", nil, "2")

	get := func(name string) (runtime.Object, *storage.Encodings) {
		t.Helper()
		obj, err := c.Get(ctx, keyOf(t, name), storage.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return obj, c.Encodings(keyOf(t, name), obj)
	}
	builds := 0
	form := func(e *storage.Encodings, v string) string {
		t.Helper()
		b, err := e.Get(0, func() ([]byte, error) { builds++; return []byte(v), nil })
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	objA, encA := get("a")
	if encA == nil {
		t.Fatal("no Encodings for the cached object")
	}
	if form(encA, "A1") != "A1" || form(encA, "other") != "A1" || builds != 1 {
		t.Fatalf("a cached form was built %d times, want once", builds)
	}
	if budget.Used() != 2 {
		t.Fatalf("budget used %d, want 2", budget.Used())
	}
	res, err := c.GetList(ctx, prefixFor(t), storage.ListOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Encodings) != len(res.Items) || len(res.Items) != 2 || res.Items[0] != objA || res.Encodings[0] != encA || res.Encodings[1] == nil {
		t.Fatalf("list encodings %v for items %v: want one per item, the first shared with the get", res.Encodings, names(res.Items))
	}
	if c.Encodings(keyOf(t, "a"), a) != nil {
		t.Error("Encodings for the object Create returned (not the cached one)")
	}
	if c.Encodings(keyOf(t, "missing"), objA) != nil || c.Encodings(keyOf(t, "b"), objA) != nil {
		t.Error("Encodings for a key that does not hold the object")
	}

	update(t, c, "a", "3", nil)
	waitRV(t, c)
	if budget.Used() != 0 {
		t.Fatalf("budget used %d after the version changed, want 0", budget.Used())
	}
	if c.Encodings(keyOf(t, "a"), objA) != nil {
		t.Error("the old version still has Encodings")
	}
	if form(encA, "A2") != "A2" || budget.Used() != 0 {
		t.Error("a released Encodings kept a new form")
	}
	_, encA2 := get("a")
	form(encA2, "A3")
	_, encB := get("b")
	form(encB, "B1")
	if budget.Used() != 4 {
		t.Fatalf("budget used %d, want 4", budget.Used())
	}
	if _, err := c.Delete(ctx, keyOf(t, "b"), nil, nil); err != nil {
		t.Fatal(err)
	}
	waitRV(t, c)
	if budget.Used() != 2 {
		t.Fatalf("budget used %d after a delete, want 2", budget.Used())
	}
	c.Stop()
	if budget.Used() != 0 {
		t.Fatalf("budget used %d after Stop, want 0", budget.Used())
	}
}

func TestEncodingsWithoutBudget(t *testing.T) {
	c, _ := newCacher(t, nil)
	mustCreate(t, c, "a", nil, "1")
	obj, err := c.Get(context.Background(), keyOf(t, "a"), storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.GetList(context.Background(), prefixFor(t), storage.ListOptions{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.Encodings(keyOf(t, "a"), obj) != nil || res.Encodings != nil {
		t.Fatal("Encodings without a budget")
	}
}

// waitRV waits until the cache has seen etcd's current revision (a
// consistent read does).
func waitRV(t *testing.T, c *Cacher) {
	t.Helper()
	if _, err := c.GetList(context.Background(), prefixFor(t), storage.ListOptions{Recursive: true}); err != nil {
		t.Fatal(err)
	}
}
