package authn

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kastle-dev/kastle/internal/auth/user"
)

// DefaultTokenSuccessTTL is how long kube-apiserver remembers a bearer
// token that authenticated (its --authentication-token success cache);
// failures are not remembered.
const DefaultTokenSuccessTTL = 10 * time.Second

// TokenCache remembers successful bearer-token authentications for TTL, so
// that a token's later requests skip signature checks and secret lookups,
// as kube-apiserver's token cache does. The same consequences follow: a
// token whose ServiceAccount, Secret or bootstrap-token Secret is deleted,
// or that leaves the token file, keeps working until its entry expires (at
// most TTL after it last authenticated afresh). Failures are not cached,
// so a token that becomes valid works at once.
//
// Entries are keyed by an HMAC-SHA256, under a key drawn at start, of the
// token and the audiences asked for (TokenReview's spec.audiences): the
// cache never holds a token. It keeps at most max entries. Create it with
// NewTokenCache; it is safe for concurrent use.
type TokenCache struct {
	next TokenAuthenticator
	ttl  time.Duration
	max  int
	now  func() time.Time

	hashes sync.Pool // of hash.Hash (HMAC-SHA256 under the cache's key)

	mu sync.Mutex
	m  map[[sha256.Size]byte]cachedToken
}

var (
	_ TokenAuthenticator = (*TokenCache)(nil)
	_ Authenticator      = (*TokenCache)(nil)
)

type cachedToken struct {
	info    user.Info
	expires time.Time
}

// NewTokenCache caches the successes of next for ttl, at most max entries
// (0: 4,096). now defaults to time.Now.
func NewTokenCache(next TokenAuthenticator, ttl time.Duration, max int, now func() time.Time) (*TokenCache, error) {
	if max <= 0 {
		max = 4096
	}
	if now == nil {
		now = time.Now
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	c := &TokenCache{next: next, ttl: ttl, max: max, now: now, m: map[[sha256.Size]byte]cachedToken{}}
	c.hashes.New = func() any { return hmac.New(sha256.New, key) }
	return c, nil
}

// Authenticate implements Authenticator for the request's bearer token.
func (c *TokenCache) Authenticate(r *http.Request) (*user.Info, bool, error) {
	return authenticateBearer(r, c)
}

// AuthenticateToken returns a remembered success, or asks the next
// authenticator and remembers its success.
func (c *TokenCache) AuthenticateToken(ctx context.Context, token string) (*user.Info, bool, error) {
	if c.ttl <= 0 {
		return c.next.AuthenticateToken(ctx, token)
	}
	auds, _ := AudiencesFrom(ctx)
	k := c.key(auds, token)
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return cloneInfo(&e.info), true, nil
	}
	info, ok, err := c.next.AuthenticateToken(ctx, token)
	if err != nil || !ok {
		return info, ok, err
	}
	expires := now.Add(c.ttl)
	if exp, ok := jwtExpiry(token); ok && exp.Before(expires) {
		// A JWT is never remembered past its own expiry: the cache may
		// shorten a token's life, never lengthen it.
		expires = exp
	}
	c.put(k, cachedToken{info: *cloneInfo(info), expires: expires}, now)
	return info, true, nil
}

// jwtExpiry reads the exp claim of a compact JWS without checking it: it
// is called only for a token the next authenticator has just accepted,
// and only to bound how long its success is remembered.
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	sec, err := claims.Exp.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(sec), 0), true
}

func (c *TokenCache) put(k [sha256.Size]byte, e cachedToken, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old, oe := range c.m { // drop the expired, else one arbitrary entry
			if !now.Before(oe.expires) {
				delete(c.m, old)
			}
		}
		for old := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, old)
		}
	}
	c.m[k] = e
}

// key is the HMAC of the audiences (each length-prefixed, so that no two
// lists run together the same way) and the token.
func (c *TokenCache) key(auds []string, token string) [sha256.Size]byte {
	h := c.hashes.Get().(hash.Hash)
	h.Reset()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(auds)))])
	for _, a := range auds {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(a)))])
		h.Write([]byte(a))
	}
	h.Write([]byte(token))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	c.hashes.Put(h)
	return k
}

// cloneInfo copies a user.Info so that callers adding groups (the
// authentication filter adds system:authenticated) never touch the cached
// one.
func cloneInfo(u *user.Info) *user.Info {
	c := *u
	c.Groups = slices.Clone(u.Groups)
	if u.Extra != nil {
		c.Extra = make(map[string][]string, len(u.Extra))
		for k, v := range u.Extra {
			c.Extra[k] = slices.Clone(v)
		}
	}
	return &c
}
