package encryption

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
)

const etcdKey = "/registry/secrets/default/s1"

var secretValue = []byte(`{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s1"},"data":{"password":"aHVudGVyMg=="}}`)

// newKey returns n random bytes and their base64.
func newKey(t testing.TB, n int) ([]byte, string) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b, base64.StdEncoding.EncodeToString(b)
}

// provider renders one provider entry of a YAML config.
func provider(kind string, keys ...string) string {
	if kind == "identity" {
		return "  - identity: {}\n"
	}
	s := "  - " + kind + ":\n      keys:\n"
	for i := 0; i < len(keys); i += 2 {
		s += fmt.Sprintf("      - name: %s\n        secret: %s\n", keys[i], keys[i+1])
	}
	return s
}

func config(resources string, providers ...string) string {
	return "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [" + resources + "]\n  providers:\n" + strings.Join(providers, "")
}

func build(t testing.TB, doc string) *Transformers {
	t.Helper()
	c, err := ParseConfig([]byte(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	ts, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func secrets(t testing.TB, doc string) Transformer {
	return build(t, doc).ForResource("", "secrets")
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	_, k16 := newKey(t, 16)
	_, k24 := newKey(t, 24)
	_, k32 := newKey(t, 32)
	tests := []struct {
		name, provider, key, prefix string
	}{
		{"aesgcm-128", "aesgcm", k16, "k8s:enc:aesgcm:v1:key1:"},
		{"aesgcm-192", "aesgcm", k24, "k8s:enc:aesgcm:v1:key1:"},
		{"aesgcm-256", "aesgcm", k32, "k8s:enc:aesgcm:v1:key1:"},
		{"aescbc-128", "aescbc", k16, "k8s:enc:aescbc:v1:key1:"},
		{"aescbc-256", "aescbc", k32, "k8s:enc:aescbc:v1:key1:"},
		{"secretbox", "secretbox", k32, "k8s:enc:secretbox:v1:key1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := secrets(t, config("secrets", provider(tt.provider, "key1", tt.key)))
			for _, plain := range [][]byte{secretValue, {}, bytes.Repeat([]byte{'x'}, 16), bytes.Repeat([]byte{'y'}, 4096)} {
				stored, err := tr.TransformToStorage(ctx, plain, etcdKey)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(stored, []byte(tt.prefix)) {
					t.Fatalf("stored value %q lacks prefix %q", stored, tt.prefix)
				}
				if len(plain) > 0 && bytes.Contains(stored, plain) {
					t.Fatal("plaintext visible in the stored value")
				}
				again, _ := tr.TransformToStorage(ctx, plain, etcdKey)
				if bytes.Equal(stored, again) {
					t.Error("two encryptions are identical: nonce/IV reused")
				}
				out, stale, err := tr.TransformFromStorage(ctx, stored, etcdKey)
				if err != nil || stale || !bytes.Equal(out, plain) {
					t.Fatalf("read back %q stale %v err %v", out, stale, err)
				}
			}
		})
	}
}

// TestKubernetesFormat decrypts values built by hand in the layout
// kube-apiserver writes, so values move between the two servers.
func TestKubernetesFormat(t *testing.T) {
	ctx := context.Background()
	key, keyB64 := newKey(t, 32)
	block, _ := aes.NewCipher(key)

	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, 12)
	rand.Read(nonce)
	gcmValue := append(append([]byte("k8s:enc:aesgcm:v1:k:"), nonce...), gcm.Seal(nil, nonce, secretValue, []byte(etcdKey))...)

	iv := make([]byte, 16)
	rand.Read(iv)
	pad := 16 - len(secretValue)%16
	padded := append(append([]byte{}, secretValue...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(padded, padded)
	cbcValue := append(append([]byte("k8s:enc:aescbc:v1:k:"), iv...), padded...)

	var boxKey [32]byte
	copy(boxKey[:], key)
	var boxNonce [24]byte
	rand.Read(boxNonce[:])
	boxValue := append(append([]byte("k8s:enc:secretbox:v1:k:"), boxNonce[:]...), secretbox.Seal(nil, secretValue, &boxNonce, &boxKey)...)

	for _, tc := range []struct {
		provider string
		value    []byte
	}{{"aesgcm", gcmValue}, {"aescbc", cbcValue}, {"secretbox", boxValue}} {
		tr := secrets(t, config("secrets", provider(tc.provider, "k", keyB64)))
		out, stale, err := tr.TransformFromStorage(ctx, tc.value, etcdKey)
		if err != nil || stale || !bytes.Equal(out, secretValue) {
			t.Errorf("%s: %q %v %v", tc.provider, out, stale, err)
		}
	}
}

func TestReadFailures(t *testing.T) {
	ctx := context.Background()
	_, k1 := newKey(t, 32)
	_, k2 := newKey(t, 32)
	tests := []struct {
		name     string
		provider string
		mutate   func(stored []byte) []byte
		readWith string // config of the reader; "" = same as the writer
		dataCtx  string
		wantErr  error
	}{
		{"gcm wrong key", "aesgcm", nil, config("secrets", provider("aesgcm", "key1", k2)), etcdKey, ErrDecrypt},
		{"secretbox wrong key", "secretbox", nil, config("secrets", provider("secretbox", "key1", k2)), etcdKey, ErrDecrypt},
		{"gcm unknown key name", "aesgcm", nil, config("secrets", provider("aesgcm", "key2", k1)), etcdKey, ErrUnknownKey},
		{"unknown provider", "secretbox", nil, config("secrets", provider("aesgcm", "key1", k1), provider("identity")), etcdKey, ErrUnknownKey},
		{"gcm tampered", "aesgcm", flipLast, "", etcdKey, ErrDecrypt},
		{"gcm tampered nonce", "aesgcm", flipAt(len("k8s:enc:aesgcm:v1:key1:")), "", etcdKey, ErrDecrypt},
		{"secretbox tampered", "secretbox", flipLast, "", etcdKey, ErrDecrypt},
		{"gcm truncated", "aesgcm", truncate(len("k8s:enc:aesgcm:v1:key1:") + 20), "", etcdKey, ErrDecrypt},
		{"cbc truncated", "aescbc", truncate(len("k8s:enc:aescbc:v1:key1:") + 20), "", etcdKey, ErrDecrypt},
		{"secretbox truncated", "secretbox", truncate(len("k8s:enc:secretbox:v1:key1:") + 30), "", etcdKey, ErrDecrypt},
		{"gcm moved to another etcd key", "aesgcm", nil, "", "/registry/secrets/default/other", ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writer := config("secrets", provider(tt.provider, "key1", k1))
			stored, err := secrets(t, writer).TransformToStorage(ctx, secretValue, etcdKey)
			if err != nil {
				t.Fatal(err)
			}
			if tt.mutate != nil {
				stored = tt.mutate(stored)
			}
			reader := writer
			if tt.readWith != "" {
				reader = tt.readWith
			}
			out, _, err := secrets(t, reader).TransformFromStorage(ctx, stored, tt.dataCtx)
			if !errors.Is(err, tt.wantErr) || out != nil {
				t.Errorf("got %q, %v; want %v", out, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), k1) {
				t.Error("an error names the key's secret")
			}
		})
	}
}

// TestCBCWrongKey: aescbc is not authenticated, so a wrong key is caught
// only when the padding comes out wrong (about 255 times in 256); it must
// never return the plaintext.
func TestCBCWrongKey(t *testing.T) {
	ctx := context.Background()
	_, k1 := newKey(t, 32)
	_, k2 := newKey(t, 32)
	w := secrets(t, config("secrets", provider("aescbc", "key1", k1)))
	r := secrets(t, config("secrets", provider("aescbc", "key1", k2)))
	failures := 0
	for i := 0; i < 64; i++ {
		stored, _ := w.TransformToStorage(ctx, secretValue, etcdKey)
		out, _, err := r.TransformFromStorage(ctx, stored, etcdKey)
		if bytes.Equal(out, secretValue) {
			t.Fatal("wrong key returned the plaintext")
		}
		if err != nil {
			failures++
		}
	}
	if failures < 48 {
		t.Errorf("only %d of 64 wrong-key reads failed", failures)
	}
}

func flipLast(b []byte) []byte { b[len(b)-1] ^= 1; return b }

func flipAt(i int) func([]byte) []byte { return func(b []byte) []byte { b[i] ^= 0x80; return b } }

func truncate(n int) func([]byte) []byte { return func(b []byte) []byte { return b[:n] } }

func TestIdentityAndStale(t *testing.T) {
	ctx := context.Background()
	_, k1 := newKey(t, 32)
	_, k2 := newKey(t, 16)
	gcm1 := config("secrets", provider("aesgcm", "key1", k1))
	stored1, _ := secrets(t, gcm1).TransformToStorage(ctx, secretValue, etcdKey)
	box1 := config("secrets", provider("secretbox", "box1", k1))
	storedBox, _ := secrets(t, box1).TransformToStorage(ctx, secretValue, etcdKey)

	tests := []struct {
		name      string
		config    string
		stored    []byte
		wantStale bool
		wantErr   error
	}{
		{"plain read by listed identity", config("secrets", provider("aesgcm", "key1", k1), provider("identity")), secretValue, true, nil},
		{"plain with identity first", config("secrets", provider("identity"), provider("aesgcm", "key1", k1)), secretValue, false, nil},
		{"encrypted with identity first is stale", config("secrets", provider("identity"), provider("aesgcm", "key1", k1)), stored1, true, nil},
		{"plain without identity", gcm1, secretValue, false, ErrNotEncrypted},
		{"current key", gcm1, stored1, false, nil},
		{"rotated: old key second", config("secrets", provider("aesgcm", "key2", k2, "key1", k1)), stored1, true, nil},
		{"rotated: old provider second", config("secrets", provider("aesgcm", "key2", k2), provider("aesgcm", "key1", k1)), stored1, true, nil},
		{"provider switch", config("secrets", provider("aesgcm", "key2", k2), provider("secretbox", "box1", k1)), storedBox, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := secrets(t, tt.config)
			out, stale, err := tr.TransformFromStorage(ctx, append([]byte{}, tt.stored...), etcdKey)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(out, secretValue) || stale != tt.wantStale {
				t.Fatalf("out %q stale %v, want stale %v", out, stale, tt.wantStale)
			}
			// The migration: rewrite what is stale; then it is current.
			re, err := tr.TransformToStorage(ctx, out, etcdKey)
			if err != nil {
				t.Fatal(err)
			}
			if out, stale, err := tr.TransformFromStorage(ctx, re, etcdKey); err != nil || stale || !bytes.Equal(out, secretValue) {
				t.Errorf("after rewrite: %q stale %v err %v", out, stale, err)
			}
		})
	}
}

func TestForResource(t *testing.T) {
	ctx := context.Background()
	_, k := newKey(t, 32)
	doc := "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n" +
		"- resources: [secrets, deployments.apps, widgets.example.com]\n  providers:\n" + provider("aesgcm", "a", k) +
		"- resources: ['*.batch', '*.']\n  providers:\n" + provider("secretbox", "b", k) +
		"- resources: ['*.*']\n  providers:\n" + provider("aescbc", "c", k)
	ts := build(t, doc)
	tests := []struct {
		group, resource, wantPrefix string
	}{
		{"", "secrets", "k8s:enc:aesgcm:v1:a:"},
		{"apps", "deployments", "k8s:enc:aesgcm:v1:a:"},
		{"example.com", "widgets", "k8s:enc:aesgcm:v1:a:"},
		{"batch", "jobs", "k8s:enc:secretbox:v1:b:"},
		{"", "configmaps", "k8s:enc:secretbox:v1:b:"},
		{"apps", "statefulsets", "k8s:enc:aescbc:v1:c:"},
	}
	for _, tt := range tests {
		stored, err := ts.ForResource(tt.group, tt.resource).TransformToStorage(ctx, secretValue, etcdKey)
		if err != nil || !bytes.HasPrefix(stored, []byte(tt.wantPrefix)) {
			t.Errorf("%s/%s: %.30q %v, want prefix %s", tt.group, tt.resource, stored, err, tt.wantPrefix)
		}
	}

	// Unconfigured resources and Disabled store as is but refuse
	// encrypted values.
	encrypted, _ := ts.ForResource("", "secrets").TransformToStorage(ctx, secretValue, etcdKey)
	only := build(t, config("secrets", provider("aesgcm", "a", k)))
	for name, tr := range map[string]Transformer{"unconfigured": only.ForResource("", "configmaps"), "disabled": Disabled().ForResource("", "secrets")} {
		if out, _ := tr.TransformToStorage(ctx, secretValue, etcdKey); !bytes.Equal(out, secretValue) {
			t.Errorf("%s: stored %q", name, out)
		}
		if out, stale, err := tr.TransformFromStorage(ctx, secretValue, etcdKey); err != nil || stale || !bytes.Equal(out, secretValue) {
			t.Errorf("%s: read %q %v %v", name, out, stale, err)
		}
		if _, _, err := tr.TransformFromStorage(ctx, encrypted, etcdKey); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"aesgcm"`) {
			t.Errorf("%s: encrypted value read: %v", name, err)
		}
	}

	var nilTS *Transformers
	if _, err := nilTS.ForResource("", "secrets").TransformToStorage(ctx, secretValue, etcdKey); err == nil {
		t.Error("nil Transformers stored a value")
	}
	if _, _, err := nilTS.ForResource("", "secrets").TransformFromStorage(ctx, secretValue, etcdKey); err == nil {
		t.Error("nil Transformers read a value")
	}
	if _, err := ts.ForResource("", "secrets").TransformToStorage(ctx, secretValue, ""); err == nil {
		t.Error("encrypting with an empty data context succeeded")
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
}

func TestConfigValidation(t *testing.T) {
	_, k16 := newKey(t, 16)
	_, k32 := newKey(t, 32)
	_, k20 := newKey(t, 20)
	head := "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
	tests := []struct {
		name, doc, wantErr string
	}{
		{"ok", config("secrets", provider("aesgcm", "a", k16), provider("identity")), ""},
		{"wrong kind", strings.Replace(config("secrets", provider("identity")), "kind: EncryptionConfiguration", "kind: Encryption", 1), `kind "Encryption"`},
		{"wrong version", strings.Replace(config("secrets", provider("identity")), "config.k8s.io/v1", "config.k8s.io/v1beta1", 1), `apiVersion "apiserver.config.k8s.io/v1beta1"`},
		{"no resources", head + "resources: []\n", "no resources"},
		{"empty resource list", config("", provider("identity")), "no resources listed"},
		{"no providers", head + "resources:\n- resources: [secrets]\n  providers: []\n", "no providers"},
		{"aes key 20 bytes", config("secrets", provider("aesgcm", "a", k20)), `key "a": secret is 20 bytes, want 16, 24, 32`},
		{"cbc key 20 bytes", config("secrets", provider("aescbc", "a", k20)), `secret is 20 bytes`},
		{"secretbox key 16 bytes", config("secrets", provider("secretbox", "a", k16)), `secret is 16 bytes, want 32`},
		{"bad base64", config("secrets", provider("aesgcm", "a", "not*base64")), "not valid base64"},
		{"empty secret", config("secrets", provider("aesgcm", "a", "''")), "empty secret"},
		{"empty name", config("secrets", provider("aesgcm", "''", k16)), "empty key name"},
		{"colon in name", config("secrets", provider("aesgcm", "'a:b'", k16)), `key name "a:b"`},
		{"duplicate name", config("secrets", provider("aesgcm", "a", k16, "a", k32)), `duplicate key name "a"`},
		{"same name in two providers", config("secrets", provider("aesgcm", "a", k16), provider("aesgcm", "a", k32)), "used by two aesgcm providers"},
		{"no keys", config("secrets", "  - aesgcm:\n      keys: []\n"), "aesgcm: no keys"},
		{"two types in one provider", config("secrets", "  - identity: {}\n    aesgcm:\n      keys:\n      - name: a\n        secret: "+k16+"\n"), "exactly one"},
		{"empty provider", config("secrets", "  - {}\n"), "exactly one"},
		{"kms", config("secrets", "  - kms:\n      name: x\n"), "kms provider is not supported"},
		{"misspelt provider", config("secrets", "  - aesgmc:\n      keys: []\n"), "unknown field"},
		{"identity twice", config("secrets", provider("identity"), provider("identity")), "identity listed 2 times"},
		{"duplicate resource", head + "resources:\n- resources: [secrets]\n  providers:\n" + provider("identity") + "- resources: [secrets]\n  providers:\n" + provider("identity"), `"secrets" is already matched`},
		{"masked by wildcard", head + "resources:\n- resources: ['*.apps']\n  providers:\n" + provider("identity") + "- resources: [deployments.apps]\n  providers:\n" + provider("identity"), `"deployments.apps" is already matched by "*.apps"`},
		{"masked by *.*", config("'*.*', secrets", provider("identity")), `"secrets" is already matched by "*.*"`},
		{"bare star", config("'*'", provider("identity")), "use *.*"},
		{"upper case", config("Secrets", provider("identity")), `invalid resource "Secrets"`},
		{"inner wildcard", config("'sec*.apps'", provider("identity")), "wildcards only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.doc))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			for _, k := range []string{k16, k32, k20} {
				if strings.Contains(err.Error(), k) {
					t.Error("the error shows a key's secret")
				}
			}
		})
	}
}

func TestLoadConfigJSON(t *testing.T) {
	_, k := newKey(t, 32)
	path := filepath.Join(t.TempDir(), "enc.json")
	doc := `{"apiVersion":"apiserver.config.k8s.io/v1","kind":"EncryptionConfiguration","resources":[{"resources":["secrets"],"providers":[{"secretbox":{"keys":[{"name":"k","secret":"` + k + `"}]}}]}]}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%v %+v %#v", c.Resources[0].Providers[0].Secretbox.Keys[0], c.Resources[0].Providers[0].Secretbox.Keys, c.Resources[0].Providers[0].Secretbox.Keys[0]); strings.Contains(got, k) {
		t.Errorf("printing a key shows its secret: %s", got)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file: want error")
	}
}

func TestUnpad(t *testing.T) {
	block := func(tail ...byte) []byte { return append(bytes.Repeat([]byte{'a'}, 16-len(tail)), tail...) }
	tests := []struct {
		b    []byte
		n    int
		good bool
	}{
		{block(1), 15, true},
		{block(3, 3, 3), 13, true},
		{bytes.Repeat([]byte{16}, 16), 0, true},
		{block(0), 0, false},
		{block(17), 0, false},
		{block(2, 3, 3), 0, false},
		{block(1, 2), 0, false},
	}
	for i, tt := range tests {
		n, ok := unpad(tt.b)
		if ok != tt.good || (ok && n != tt.n) {
			t.Errorf("case %d: %d %v, want %d %v", i, n, ok, tt.n, tt.good)
		}
	}
}
