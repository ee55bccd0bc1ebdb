package authn

import (
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/auth/user"
)

// countingTokens counts the calls that reach a real token authenticator.
type countingTokens struct {
	next  TokenAuthenticator
	calls atomic.Int64
}

func (c *countingTokens) AuthenticateToken(ctx context.Context, token string) (*user.Info, bool, error) {
	c.calls.Add(1)
	return c.next.AuthenticateToken(ctx, token)
}

// TestTokenCache runs a token file behind the cache through rotations,
// with a clock the test moves: successes are remembered for the TTL (a
// removed token keeps working until then, as in kube-apiserver), failures
// never, and audiences and the bound are honoured.
func TestTokenCache(t *testing.T) {
	clock := newTestClock()
	p := tempFile(t, "tokens.csv", []byte("secret-alice,alice,uid-1,dev\n"))
	tf, err := NewTokenFile(FileConfig{Path: p, Now: clock.Now, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingTokens{next: BearerTokenUnion{tf}}
	c, err := NewTokenCache(counted, DefaultTokenSuccessTTL, 3, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	alice := &user.Info{Name: "alice", UID: "uid-1", Groups: []string{"dev"}}
	type step struct {
		name      string
		ctx       context.Context
		token     string
		advance   time.Duration
		write     string // new token file content, before the step
		want      *user.Info
		wantCalls int64 // calls that reached the token file so far
	}
	aud := WithAudiences(context.Background(), []string{"vault"})
	steps := []step{
		{name: "first", token: "secret-alice", want: alice, wantCalls: 1},
		{name: "remembered", token: "secret-alice", want: alice, wantCalls: 1},
		{name: "request path remembered", token: "secret-alice", want: alice, wantCalls: 1},
		{name: "other audiences are another entry", ctx: aud, token: "secret-alice", want: alice, wantCalls: 2},
		{name: "failure", token: "secret-bob", wantCalls: 3},
		{name: "failure is not remembered", token: "secret-bob", wantCalls: 4},
		{name: "bob added works at once", write: "secret-alice,alice,uid-1,dev\nsecret-bob,bob,uid-2\n", advance: DefaultReloadInterval,
			token: "secret-bob", want: &user.Info{Name: "bob", UID: "uid-2"}, wantCalls: 5},
		{name: "alice removed still works within the TTL", write: "secret-bob,bob,uid-2\n", advance: DefaultReloadInterval,
			token: "secret-alice", want: alice, wantCalls: 5},
		{name: "alice after the TTL is refused", advance: DefaultTokenSuccessTTL, token: "secret-alice", wantCalls: 6},
	}
	for _, s := range steps {
		if s.write != "" {
			writeFile(t, p, []byte(s.write))
		}
		clock.Advance(s.advance)
		ctx := s.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		var got *user.Info
		var ok bool
		if s.name == "request path remembered" {
			got, ok, err = c.Authenticate(bearer(s.token))
		} else {
			got, ok, err = c.AuthenticateToken(ctx, s.token)
		}
		switch {
		case s.want == nil && (ok || err == nil):
			t.Fatalf("%s: accepted: %+v %v %v", s.name, got, ok, err)
		case s.want != nil && (!ok || err != nil || !reflect.DeepEqual(got, s.want)):
			t.Fatalf("%s: got %+v %v %v, want %+v", s.name, got, ok, err, s.want)
		}
		if n := counted.calls.Load(); n != s.wantCalls {
			t.Fatalf("%s: %d calls reached the token file, want %d", s.name, n, s.wantCalls)
		}
		if got != nil {
			// Callers add groups; the cached answer must not change.
			got.Groups = append(got.Groups, "system:authenticated")
		}
	}
}

func TestTokenCacheBound(t *testing.T) {
	p := tempFile(t, "tokens.csv", []byte("t1,a,1\nt2,b,2\nt3,c,3\n"))
	tf, err := NewTokenFile(FileConfig{Path: p, Now: time.Now, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewTokenCache(tf, time.Minute, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"t1", "t2", "t3", "t1"} {
		if _, ok, err := c.AuthenticateToken(context.Background(), tok); !ok || err != nil {
			t.Fatal(tok, ok, err)
		}
		if n := len(c.m); n > 2 {
			t.Fatalf("%d entries, bound is 2", n)
		}
	}
}

func TestTokenCacheWithoutTTL(t *testing.T) {
	p := tempFile(t, "tokens.csv", []byte("tok,alice,1\n"))
	tf, err := NewTokenFile(FileConfig{Path: p, Now: time.Now, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingTokens{next: tf}
	c, err := NewTokenCache(counted, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, ok, err := c.AuthenticateToken(context.Background(), "tok"); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if n := counted.calls.Load(); n != 3 {
		t.Fatalf("%d calls with TTL 0, want 3 (no caching)", n)
	}
}

// TestTokenCacheKeys: keys depend on the token, the audiences and the
// cache's secret key, and never are a plain hash of the token.
func TestTokenCacheKeys(t *testing.T) {
	a, _ := NewTokenCache(BearerTokenUnion{}, time.Second, 0, nil)
	b, _ := NewTokenCache(BearerTokenUnion{}, time.Second, 0, nil)
	keys := map[[32]byte]string{}
	for name, k := range map[string][32]byte{
		"token":              a.key(nil, "tok"),
		"other token":        a.key(nil, "tok2"),
		"audience":           a.key([]string{"x"}, "tok"),
		"audiences run on":   a.key([]string{"x", "y"}, "tok"),
		"audiences together": a.key([]string{"xy"}, "tok"),
		"other cache":        b.key(nil, "tok"),
	} {
		if prev, dup := keys[k]; dup {
			t.Errorf("%s and %s have the same key", name, prev)
		}
		keys[k] = name
	}
	if a.key(nil, "tok") != a.key(nil, "tok") {
		t.Error("keys are not stable")
	}
}

// acceptAll accepts every token as "someone".
type acceptAll struct{}

func (acceptAll) AuthenticateToken(context.Context, string) (*user.Info, bool, error) {
	return &user.Info{Name: "someone"}, true, nil
}

// TestTokenCacheJWTExpiry: a JWT's success is not remembered past the
// token's exp claim, even when that is sooner than the TTL.
func TestTokenCacheJWTExpiry(t *testing.T) {
	clock := newTestClock()
	counted := &countingTokens{next: acceptAll{}}
	c, err := NewTokenCache(counted, DefaultTokenSuccessTTL, 0, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	jwt := func(claims string) string {
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(`{"alg":"ES256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
	}
	exp := clock.Now().Add(3 * time.Second).Unix()
	for _, tc := range []struct {
		name      string
		token     string
		advance   time.Duration
		wantCalls int64
	}{
		{name: "first", token: jwt(fmt.Sprintf(`{"exp":%d}`, exp)), wantCalls: 1},
		{name: "remembered before exp", token: jwt(fmt.Sprintf(`{"exp":%d}`, exp)), advance: 2 * time.Second, wantCalls: 1},
		{name: "asked again after exp, within the TTL", token: jwt(fmt.Sprintf(`{"exp":%d}`, exp)), advance: 2 * time.Second, wantCalls: 2},
		{name: "no exp: the TTL", token: jwt(`{"sub":"x"}`), wantCalls: 3},
		{name: "no exp remembered", token: jwt(`{"sub":"x"}`), advance: 5 * time.Second, wantCalls: 3},
		{name: "not a JWT: the TTL", token: "abcdef.0123456789abcdef", wantCalls: 4},
		{name: "not a JWT remembered", token: "abcdef.0123456789abcdef", advance: 5 * time.Second, wantCalls: 4},
	} {
		clock.Advance(tc.advance)
		if _, ok, err := c.AuthenticateToken(context.Background(), tc.token); !ok || err != nil {
			t.Fatalf("%s: %v %v", tc.name, ok, err)
		}
		if n := counted.calls.Load(); n != tc.wantCalls {
			t.Fatalf("%s: %d calls reached the authenticator, want %d", tc.name, n, tc.wantCalls)
		}
	}
}
