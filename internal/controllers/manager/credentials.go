package manager

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Service accounts the controllers that may delete anything run as, as
// kube-controller-manager's --use-service-account-credentials names them:
// the manager's own identity keeps only what the others need.
const (
	ServiceAccountNamespaceController = "namespace-controller"
	ServiceAccountGarbageCollector    = "generic-garbage-collector"
)

// tokenLifetime is how long requested tokens last; they are renewed at
// four fifths of it.
const tokenLifetime = time.Hour

// CAFromKubeconfig returns the certificate authority data a kubeconfig
// verifies its server with, for Config.ServerCAData.
func CAFromKubeconfig(path string) ([]byte, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	if len(rc.TLSClientConfig.CAData) > 0 || rc.TLSClientConfig.CAFile == "" {
		return rc.TLSClientConfig.CAData, nil
	}
	return os.ReadFile(rc.TLSClientConfig.CAFile)
}

// serviceAccountConfig returns a client configuration that authenticates
// as kube-system/name with tokens the manager requests for it (creating
// the account if needed), and with none of base's own credentials.
func serviceAccountConfig(base *rest.Config, caData []byte, client kubernetes.Interface, name string) *rest.Config {
	cfg := rest.AnonymousClientConfig(base)
	if len(cfg.TLSClientConfig.CAData) == 0 && cfg.TLSClientConfig.CAFile == "" {
		cfg.TLSClientConfig.CAData = caData
	}
	cfg.UserAgent = base.UserAgent + "/" + name
	src := &tokenSource{client: client, name: name, now: time.Now}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &bearer{src: src, next: rt} }
	return cfg
}

// tokenSource requests and caches a service account's token.
type tokenSource struct {
	client kubernetes.Interface
	name   string
	now    func() time.Time

	mu    sync.Mutex
	token string
	renew time.Time
}

func (s *tokenSource) get(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.now().Before(s.renew) {
		return s.token, nil
	}
	accounts := s.client.CoreV1().ServiceAccounts(metav1.NamespaceSystem)
	seconds := int64(tokenLifetime / time.Second)
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}
	tr, err := accounts.CreateToken(ctx, s.name, req, metav1.CreateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = accounts.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: s.name}}, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			tr, err = accounts.CreateToken(ctx, s.name, req, metav1.CreateOptions{})
		}
	}
	if err != nil {
		return "", fmt.Errorf("token for service account %s/%s: %w", metav1.NamespaceSystem, s.name, err)
	}
	now := s.now()
	s.token = tr.Status.Token
	s.renew = now.Add(tr.Status.ExpirationTimestamp.Sub(now) * 4 / 5)
	return s.token, nil
}

// invalidate drops a token the server refused (its account was replaced).
func (s *tokenSource) invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == token {
		s.token = ""
	}
}

// bearer adds the service account's token to every request.
type bearer struct {
	src  *tokenSource
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	token, err := b.src.get(r.Context())
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+token)
	resp, err := b.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		b.src.invalidate(token)
	}
	return resp, err
}
