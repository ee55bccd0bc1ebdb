package apiserver

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/auth/authn"
	"github.com/kastle-dev/kastle/internal/auth/serviceaccount"
	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/pki"
)

// DefaultServiceAccountIssuer is kube-apiserver's usual issuer.
const DefaultServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// authentication is what the server authenticates with and issues.
type authentication struct {
	// request authenticates HTTP requests (the union of every method).
	request authn.Authenticator
	// tokens authenticates bearer tokens alone (TokenReview), remembering
	// successes for 10 s as kube-apiserver does.
	tokens *authn.TokenCache
	// issuer signs TokenRequest tokens.
	issuer *serviceaccount.Issuer
	// saKeys verify service-account tokens (served as JWKS).
	saKeys []crypto.PublicKey
}

// newAuthentication assembles the authenticators in kube-apiserver's
// order: the front proxy's request headers (a certificate of the
// request-header CA; any other certificate is left to the next one),
// client certificates, basic auth, bearer tokens (token file,
// bootstrap tokens, service accounts: one union, so a bad token is 401
// and never anonymous), then anonymous.
func (s *server) newAuthentication(cfg Config, files *servingFiles, pkiDir string, requestHeader *authn.RequestHeader) (*authentication, error) {
	log := s.log
	a := &authentication{}
	var tokens authn.BearerTokenUnion
	rev := revocations{recordRevocation{s}}
	x := dynamicX509{files: files, revocation: &rev, cache: authn.NewChainCache(0)}
	if cfg.ClientCertRevocationFile != "" {
		cas, err := readCerts(files.caFile)
		if err != nil {
			return nil, err
		}
		rl, err := authn.NewRevocationList(authn.RevocationConfig{Path: cfg.ClientCertRevocationFile, ClientCAs: cas, Now: time.Now, Log: log})
		if err != nil {
			return nil, err
		}
		rev = append(rev, rl)
	}
	union := authn.Union{requestHeader, x}
	if cfg.BasicAuthFile != "" {
		b, err := authn.NewBasicAuth(authn.FileConfig{Path: cfg.BasicAuthFile, Now: time.Now, Log: log})
		if err != nil {
			return nil, err
		}
		log.Warn(b.DeprecationWarning())
		union = append(union, b)
	}
	if cfg.TokenAuthFile != "" {
		t, err := authn.NewTokenFile(authn.FileConfig{Path: cfg.TokenAuthFile, Now: time.Now, Log: log})
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, t)
	}
	if cfg.EnableBootstrapTokenAuth {
		b, err := authn.NewBootstrapToken(storeGetter{s}, time.Now)
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, b)
	}
	signingKey := cfg.ServiceAccountSigningKeyFile
	keyFiles := cfg.ServiceAccountKeyFiles
	if signingKey == "" {
		keyPath, pubPath, err := pki.EnsureServiceAccountKey(pkiDir, "")
		if err != nil {
			return nil, err
		}
		signingKey = keyPath
		if len(keyFiles) == 0 {
			keyFiles = []string{pubPath}
		}
	}
	key, err := serviceaccount.LoadSigningKeyFile(signingKey)
	if err != nil {
		return nil, fmt.Errorf("--service-account-signing-key-file: %w", err)
	}
	if len(keyFiles) == 0 {
		return nil, fmt.Errorf("--service-account-key-file is required with --service-account-signing-key-file")
	}
	if a.saKeys, err = serviceaccount.LoadPublicKeyFiles(keyFiles...); err != nil {
		return nil, fmt.Errorf("--service-account-key-file: %w", err)
	}
	issuer := cfg.ServiceAccountIssuer
	audiences := cfg.APIAudiences
	if len(audiences) == 0 {
		audiences = []string{issuer}
	}
	if a.issuer, err = serviceaccount.NewIssuer(serviceaccount.IssuerConfig{Issuer: issuer, Key: key, DefaultAudiences: audiences, Now: time.Now}); err != nil {
		return nil, err
	}
	sa, err := serviceaccount.NewAuthenticator(serviceaccount.AuthenticatorConfig{
		Keys: a.saKeys, Issuers: []string{issuer}, APIAudiences: audiences,
		AcceptLegacy: true, DisableLookup: !cfg.ServiceAccountLookup,
		Getter: storeGetter{s}, Now: time.Now,
	})
	if err != nil {
		return nil, err
	}
	tokens = append(tokens, sa)
	if a.tokens, err = authn.NewTokenCache(tokens, authn.DefaultTokenSuccessTTL, 0, time.Now); err != nil {
		return nil, err
	}
	union = append(union, a.tokens)
	if cfg.AnonymousAuth {
		union = append(union, authn.Anonymous{})
	}
	a.request = union
	return a, nil
}

func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return pki.ParseCertsPEM(data)
}

// dynamicX509 verifies client certificates against the client CAs as
// they are now (the CA file may be replaced while the server runs).
type dynamicX509 struct {
	files      *servingFiles
	revocation authn.RevocationChecker // nil: no revocation list
	cache      *authn.ChainCache       // verified chains, across requests
}

// Authenticate implements authn.Authenticator.
func (d dynamicX509) Authenticate(r *http.Request) (*user.Info, bool, error) {
	x := &authn.X509{Roots: d.files.Pool(), Cache: d.cache}
	if d.revocation != nil {
		x.Revocation = d.revocation
	}
	return x.Authenticate(r)
}

// storeGetter reads the objects authenticators look up, always at the
// latest state (a deleted ServiceAccount must stop working at once).
type storeGetter struct{ s *server }

func (g storeGetter) get(ctx context.Context, plural, ns, name string) (runtime.Object, error) {
	st, _ := g.s.stores.Store(mustLookup(g.s.catalogue, "", "v1", plural))
	return st.Get(ctx, ns, name, "")
}

func (g storeGetter) GetSecret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	o, err := g.get(ctx, "secrets", ns, name)
	if err != nil {
		return nil, err
	}
	return o.(*corev1.Secret), nil
}

func (g storeGetter) GetServiceAccount(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	o, err := g.get(ctx, "serviceaccounts", ns, name)
	if err != nil {
		return nil, err
	}
	return o.(*corev1.ServiceAccount), nil
}

func (g storeGetter) GetPod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	o, err := g.get(ctx, "pods", ns, name)
	if err != nil {
		return nil, err
	}
	return o.(*corev1.Pod), nil
}

func (g storeGetter) GetNode(ctx context.Context, name string) (*corev1.Node, error) {
	o, err := g.get(ctx, "nodes", "", name)
	if err != nil {
		return nil, err
	}
	return o.(*corev1.Node), nil
}
