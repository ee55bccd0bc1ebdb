package agent

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// userInfo is an authenticated caller.
type userInfo struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// authenticator finds the caller of r. (nil, nil) means no credentials
// were presented or they were not accepted: the caller gets 401.
type authenticator interface {
	Authenticate(r *http.Request) (*userInfo, error)
}

// authorizer decides whether u may do attrs.
type authorizer interface {
	Authorize(ctx context.Context, u *userInfo, attrs attributes) (allowed bool, reason string, err error)
}

// attributes is one request in the API's terms: verb on nodes/<subresource>
// of the named node.
type attributes struct {
	Verb, Subresource, Node string
}

// x509Authenticator accepts client certificates that chain to roots with
// client-auth usage: CN is the user name, O the groups.
type x509Authenticator struct {
	roots *x509.CertPool
	now   func() time.Time
}

var _ authenticator = (*x509Authenticator)(nil)

func (a *x509Authenticator) Authenticate(r *http.Request) (*userInfo, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil, nil
	}
	certs := r.TLS.PeerCertificates
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	// Verified here, not only by the TLS stack, so the check does not
	// depend on how the listener was configured.
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: a.roots, Intermediates: inter, CurrentTime: a.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, nil
	}
	name := certs[0].Subject.CommonName
	if name == "" {
		return nil, nil
	}
	return &userInfo{Name: name, Groups: append([]string{}, certs[0].Subject.Organization...)}, nil
}

// tokenReviewAuthenticator checks bearer tokens with a TokenReview.
type tokenReviewAuthenticator struct {
	client func() kubernetes.Interface
	cache  *ttlCache[*userInfo]
}

var _ authenticator = (*tokenReviewAuthenticator)(nil)

func (a *tokenReviewAuthenticator) Authenticate(r *http.Request) (*userInfo, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return nil, nil
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, nil
	}
	// The cache key is a hash: tokens are never kept in memory longer
	// than the request.
	sum := sha256.Sum256([]byte(token))
	key := string(sum[:])
	if u, ok := a.cache.get(key); ok {
		return u, nil
	}
	res, err := a.client().AuthenticationV1().TokenReviews().Create(r.Context(),
		&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token review: %w", err)
	}
	var u *userInfo
	if res.Status.Authenticated {
		u = &userInfo{Name: res.Status.User.Username, UID: res.Status.User.UID, Groups: res.Status.User.Groups}
		if len(res.Status.User.Extra) > 0 {
			u.Extra = map[string][]string{}
			for k, v := range res.Status.User.Extra {
				u.Extra[k] = v
			}
		}
		a.cache.put(key, u, 2*time.Minute)
	} else {
		a.cache.put(key, nil, 10*time.Second)
	}
	return u, nil
}

// unionAuthenticator tries each authenticator in turn.
type unionAuthenticator []authenticator

func (u unionAuthenticator) Authenticate(r *http.Request) (*userInfo, error) {
	var firstErr error
	for _, a := range u {
		info, err := a.Authenticate(r)
		if info != nil {
			return info, nil
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// sarAuthorizer asks the API server with a SubjectAccessReview.
type sarAuthorizer struct {
	client func() kubernetes.Interface
	cache  *ttlCache[sarResult]
}

type sarResult struct {
	allowed bool
	reason  string
}

var _ authorizer = (*sarAuthorizer)(nil)

func (a *sarAuthorizer) Authorize(ctx context.Context, u *userInfo, attrs attributes) (bool, string, error) {
	key := fmt.Sprintf("%q|%q|%q|%q|%q|%q|%v", u.Name, u.UID, u.Groups, attrs.Verb, attrs.Subresource, attrs.Node, u.Extra)
	if r, ok := a.cache.get(key); ok {
		return r.allowed, r.reason, nil
	}
	spec := authorizationv1.SubjectAccessReviewSpec{
		User: u.Name, UID: u.UID, Groups: u.Groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: attrs.Verb, Group: "", Version: "v1", Resource: "nodes", Subresource: attrs.Subresource, Name: attrs.Node,
		},
	}
	if len(u.Extra) > 0 {
		spec.Extra = map[string]authorizationv1.ExtraValue{}
		for k, v := range u.Extra {
			spec.Extra[k] = v
		}
	}
	res, err := a.client().AuthorizationV1().SubjectAccessReviews().Create(ctx,
		&authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("subject access review: %w", err)
	}
	r := sarResult{allowed: res.Status.Allowed && !res.Status.Denied, reason: res.Status.Reason}
	ttl := 30 * time.Second
	if r.allowed {
		ttl = 5 * time.Minute
	}
	a.cache.put(key, r, ttl)
	return r.allowed, r.reason, nil
}

// ttlCache remembers review results for a while, so that a busy caller
// does not cost a review per request (kubelet's webhook caches do the
// same). It holds at most ttlCacheMax entries.
type ttlCache[V any] struct {
	mu  sync.Mutex
	m   map[string]ttlEntry[V]
	now func() time.Time
}

type ttlEntry[V any] struct {
	v   V
	exp time.Time
}

const ttlCacheMax = 4096

func newTTLCache[V any](now func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{m: map[string]ttlEntry[V]{}, now: now}
}

func (c *ttlCache[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || !c.now().Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(k string, v V, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= ttlCacheMax {
		clear(c.m)
	}
	c.m[k] = ttlEntry[V]{v: v, exp: c.now().Add(ttl)}
}
