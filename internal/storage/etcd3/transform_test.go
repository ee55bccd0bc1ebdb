package etcd3

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
	"github.com/kastle-dev/kastle/internal/storage/encryption"
	"github.com/kastle-dev/kastle/internal/storage/etcdtest"
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
// Kubernetes' "rewrite every secret" rotation. Started from a guess (the
// watch cache's copy, which knows nothing of the stored bytes), the
// no-op is checked on a read, which finds the value stale.
func TestKeyRotationByRewriting(t *testing.T) {
	for _, fromGuess := range []bool{false, true} {
		t.Run(fmt.Sprintf("fromGuess=%v", fromGuess), func(t *testing.T) {
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
			noOp := func(cur runtime.Object) (runtime.Object, error) { return cur, nil }
			if fromGuess {
				_, err = rotated.GuaranteedUpdateFrom(ctx, key, got, nil, noOp)
			} else {
				_, err = rotated.GuaranteedUpdate(ctx, key, nil, noOp)
			}
			if err != nil {
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
		})
	}
}

// TestEncryptedUpdateFromGuess changes an encrypted value starting from a
// current guess: one transaction, the value stored encrypted under the
// write key, and read back.
func TestEncryptedUpdateFromGuess(t *testing.T) {
	ctx := context.Background()
	key := prefixFor(t) + "a"
	client, counts := etcdtest.Counting(testClient)
	s := New(client, newCodec(), storage.APIObjectVersioner{}, WithNewFunc(newConfigMap),
		WithTransformer(transformers(t, key2+key1).ForResource("", "configmaps")))
	guess := mustCreate(t, s, key, cm("a", nil, "secret-1"))
	counts.Reset()
	out, err := s.GuaranteedUpdateFrom(ctx, key, guess, nil, func(cur runtime.Object) (runtime.Object, error) {
		cur.(*corev1.ConfigMap).Data["v"] = "secret-2"
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if gets, txns := counts.Gets.Load(), counts.Txns.Load(); gets != 0 || txns != 1 {
		t.Errorf("%d reads and %d transactions, want 0 and 1", gets, txns)
	}
	resp, err := testClient.Get(ctx, key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("reading %s: %v", key, err)
	}
	if v := resp.Kvs[0].Value; !bytes.HasPrefix(v, []byte("k8s:enc:aesgcm:v1:key2:")) || bytes.Contains(v, []byte("secret-2")) {
		t.Errorf("stored as %q, want encrypted with key2", v[:min(30, len(v))])
	}
	got, err := s.Get(ctx, key, storage.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.(*corev1.ConfigMap).Data["v"] != "secret-2" || rvOf(t, got) != rvOf(t, out) {
		t.Errorf("read back %v, want the update's answer %v", got, out)
	}
}
