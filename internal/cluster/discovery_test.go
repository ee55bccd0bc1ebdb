package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kastle-dev/kastle/internal/bootstraptoken"
	"github.com/kastle-dev/kastle/internal/pki"
)

// clusterInfoServer serves cluster-info over TLS with a certificate from a
// CA made here; mutate may change the answer per request.
func clusterInfoServer(t *testing.T, tok bootstraptoken.Token, mutate func(n int32, cm *corev1.ConfigMap)) (endpoint string, ca *pki.CA) {
	t.Helper()
	ca, err := pki.NewSelfSignedCA("test-ca", "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.IssueKeyPair(pki.CertSpec{CommonName: "apiserver", IPs: []net.IP{net.ParseIP("127.0.0.1")},
		Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, Validity: time.Hour}, "")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != clusterInfoPath {
			http.NotFound(w, r)
			return
		}
		kc := clientcmdapi.NewConfig()
		kc.Clusters[""] = &clientcmdapi.Cluster{Server: "https://" + r.Host, CertificateAuthorityData: pki.EncodeCertPEM(ca.Cert)}
		content, _ := clientcmd.Write(*kc)
		sig, _ := bootstraptoken.SignDetached(string(content), tok)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cluster-info", Namespace: "kube-public"},
			Data: map[string]string{"kubeconfig": string(content), "jws-kubeconfig-" + tok.ID: sig}}
		if mutate != nil {
			mutate(n.Add(1), cm)
		}
		_ = json.NewEncoder(w).Encode(cm)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "https://"), ca
}

func TestDiscover(t *testing.T) {
	tok := bootstraptoken.Token{ID: "abcdef", Secret: "0123456789abcdef"}
	ctx := context.Background()
	t.Run("pinned", func(t *testing.T) {
		ep, ca := clusterInfoServer(t, tok, nil)
		res, err := Discover(ctx, Discovery{Endpoint: ep, Token: tok, CAPins: []string{"sha256:" + strings.Repeat("0", 64), pki.CertPin(ca.Cert)}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Server != "https://"+ep || res.CAPin != pki.CertPin(ca.Cert) {
			t.Errorf("result %+v", res)
		}
		conf, err := BootstrapKubeconfig(res, tok)
		if err != nil || !strings.Contains(string(conf), tok.String()) {
			t.Errorf("bootstrap kubeconfig: %v\n%s", err, conf)
		}
	})
	for _, tc := range []struct {
		name   string
		d      func(ep string, ca *pki.CA) Discovery
		mutate func(n int32, cm *corev1.ConfigMap)
		want   string
	}{
		{"wrong pin", func(ep string, ca *pki.CA) Discovery {
			return Discovery{Endpoint: ep, Token: tok, CAPins: []string{"sha256:" + strings.Repeat("ab", 32)}}
		}, nil, "not pinned"},
		{"malformed pin", func(ep string, ca *pki.CA) Discovery {
			return Discovery{Endpoint: ep, Token: tok, CAPins: []string{"md5:abc"}}
		}, nil, "sha256:<64 hex digits>"},
		{"no pin", func(ep string, ca *pki.CA) Discovery { return Discovery{Endpoint: ep, Token: tok} }, nil, "no --discovery-token-ca-cert-hash"},
		{"wrong secret", func(ep string, ca *pki.CA) Discovery {
			return Discovery{Endpoint: ep, Token: bootstraptoken.Token{ID: tok.ID, Secret: "ffffffffffffffff"}, CAPins: []string{pki.CertPin(ca.Cert)}}
		}, nil, "failed to verify the JWS"},
		{"no signature for the token", func(ep string, ca *pki.CA) Discovery {
			return Discovery{Endpoint: ep, Token: bootstraptoken.Token{ID: "zzzzzz", Secret: tok.Secret}, CAPins: []string{pki.CertPin(ca.Cert)}}
		}, nil, "no JWS signed token"},
		{"content changes after the unverified fetch", func(ep string, ca *pki.CA) Discovery {
			return Discovery{Endpoint: ep, Token: tok, CAPins: []string{pki.CertPin(ca.Cert)}}
		}, func(n int32, cm *corev1.ConfigMap) {
			if n > 1 {
				cm.Data["kubeconfig"] += "# changed\n"
			}
		}, "changed between"},
		{"not host:port", func(ep string, ca *pki.CA) Discovery {
			return Discovery{Endpoint: "127.0.0.1", Token: tok, CAPins: []string{pki.CertPin(ca.Cert)}}
		}, nil, "not host:port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep, ca := clusterInfoServer(t, tok, tc.mutate)
			_, err := Discover(ctx, tc.d(ep, ca))
			if !errors.Is(err, ErrDiscovery) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("unsafe skip", func(t *testing.T) {
		ep, _ := clusterInfoServer(t, tok, nil)
		if _, err := Discover(ctx, Discovery{Endpoint: ep, Token: tok, UnsafeSkipCAVerification: true}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCertificateKeyRoundTrip(t *testing.T) {
	k, err := GenerateCertificateKey()
	if err != nil || len(k) != 64 {
		t.Fatalf("key %q %v", k, err)
	}
	g, err := aead(k)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, g.NonceSize())
	box := g.Seal(nil, nonce, []byte("secret"), []byte("ca.key"))
	if _, err := g.Open(nil, nonce, box, []byte("sa.key")); err == nil {
		t.Error("a box opened under another name")
	}
	for _, bad := range []string{"", "zz", strings.Repeat("a", 62)} {
		if _, err := aead(bad); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}
