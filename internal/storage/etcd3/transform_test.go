package etcd3

import (
	"bytes"
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
	"github.com/kastle-dev/kastle/internal/storage/encryption"
)

func transformers(t *testing.T, providers string) *encryption.Transformers {
	t.Helper()
	cfg, err := encryption.ParseConfig([]byte(`apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [configmaps]
  providers:
` + providers))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := encryption.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

const (
	key1 = "  - aesgcm: {keys: [{name: key1, secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}]}\n"
	key2 = "  - aesgcm: {keys: [{name: key2, secret: ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=}]}\n"
)

// TestKeyRotationByRewriting writes with key1, then reads with a
// configuration that writes key2 and still reads key1: the value is
// stale, and an update that changes nothing rewrites it under key2 —
// Kubernetes' "rewrite every secret" rotation.
func TestKeyRotationByRewriting(t *testing.T) {
	ctx := context.Background()
	key := prefixFor(t) + "a"
	old := newStore(WithTransformer(transformers(t, key1).ForResource("", "configmaps")))
	if _, err := old.Create(ctx, key, cm("a", nil, "secret-data")); err != nil {
		t.Fatal(err)
	}
	raw := func() []byte {
		resp, err := testClient.Get(ctx, key)
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("reading %s: %v", key, err)
		}
		return resp.Kvs[0].Value
	}
	if v := raw(); !bytes.HasPrefix(v, []byte("k8s:enc:aesgcm:v1:key1:")) || bytes.Contains(v, []byte("secret-data")) {
		t.Fatalf("stored with key1 as %q", v)
	}
	rotated := newStore(WithTransformer(transformers(t, key2+key1).ForResource("", "configmaps")))
	got, err := rotated.Get(ctx, key, storage.GetOptions{})
	if err != nil || got.(interface{ GetName() string }).GetName() != "a" {
		t.Fatalf("reading a key1 value with key2 first: %v %v", got, err)
	}
	if _, err := rotated.GuaranteedUpdate(ctx, key, nil, func(cur runtime.Object) (runtime.Object, error) { return cur, nil }); err != nil {
		t.Fatal(err)
	}
	if v := raw(); !bytes.HasPrefix(v, []byte("k8s:enc:aesgcm:v1:key2:")) {
		t.Errorf("after the rewrite the value is %q, want key2", v[:min(30, len(v))])
	}
	// Without key1 the old configuration's values are unreadable: the
	// rewrite was needed before dropping it.
	onlyKey1 := newStore(WithTransformer(transformers(t, key1).ForResource("", "configmaps")))
	if _, err := onlyKey1.Get(ctx, key, storage.GetOptions{}); err == nil {
		t.Error("a key2 value read with key1 only")
	}
}
