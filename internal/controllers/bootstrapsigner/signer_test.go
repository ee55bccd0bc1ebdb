package bootstrapsigner

import (
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kastle-dev/kastle/internal/bootstraptoken"
)

func TestSignatures(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	add := func(info bootstraptoken.Info) bootstraptoken.Token {
		s, err := info.Secret()
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.Add(s); err != nil {
			t.Fatal(err)
		}
		return info.Token
	}
	signing := []string{bootstraptoken.UsageSigning}
	valid := add(bootstraptoken.Info{Token: bootstraptoken.Token{ID: "aaaaaa", Secret: "0123456789abcdef"}, Usages: signing, Expiration: now.Add(time.Hour)})
	forever := add(bootstraptoken.Info{Token: bootstraptoken.Token{ID: "bbbbbb", Secret: "0123456789abcdef"}, Usages: signing})
	expired := add(bootstraptoken.Info{Token: bootstraptoken.Token{ID: "cccccc", Secret: "0123456789abcdef"}, Usages: signing, Expiration: now.Add(-time.Second)})
	authOnly := add(bootstraptoken.Info{Token: bootstraptoken.Token{ID: "dddddd", Secret: "0123456789abcdef"}, Usages: []string{bootstraptoken.UsageAuthentication}})
	// A malformed one is skipped, not fatal.
	_ = idx.Add(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-zzzzzz", Namespace: "kube-system"}, Type: bootstraptoken.SecretType,
		Data: map[string][]byte{"token-id": []byte("zzzzzz"), "token-secret": []byte("short")}})

	s := &Signer{secrets: corelisters.NewSecretLister(idx), now: func() time.Time { return now }, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	content := "apiVersion: v1\nkind: Config\n"
	got, next, err := s.signatures(content)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []bootstraptoken.Token{valid, forever} {
		sig, ok := got[bootstraptoken.JWSKeyPrefix+tok.ID]
		if !ok {
			t.Errorf("no signature for %s", tok.ID)
			continue
		}
		if err := bootstraptoken.VerifyDetached(content, sig, tok); err != nil {
			t.Errorf("signature for %s: %v", tok.ID, err)
		}
	}
	for _, tok := range []bootstraptoken.Token{expired, authOnly} {
		if _, ok := got[bootstraptoken.JWSKeyPrefix+tok.ID]; ok {
			t.Errorf("signature for %s", tok.ID)
		}
	}
	if len(got) != 2 {
		t.Errorf("signatures %v", got)
	}
	if next < time.Hour || next > time.Hour+2*time.Second {
		t.Errorf("next look in %v, want when the first signing token expires (1h)", next)
	}
}
