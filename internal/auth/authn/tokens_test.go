package authn

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/auth/user"
)

func TestParseCredentialCSV(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		want    []credentialRecord
		wantErr string
	}{
		{name: "full and short lines", data: "\xef\xbb\xbftok1,alice,uid-1,\"dev, ops\"\n\ntok2,bob,uid-2\ntok3,carol,,\n",
			want: []credentialRecord{
				{secret: "tok1", info: user.Info{Name: "alice", UID: "uid-1", Groups: []string{"dev", "ops"}}},
				{secret: "tok2", info: user.Info{Name: "bob", UID: "uid-2"}},
				{secret: "tok3", info: user.Info{Name: "carol"}},
			}},
		{name: "too few fields", data: "tok1,alice\n", wantErr: "line 1: want at least 3 fields"},
		{name: "empty token", data: "tok1,alice,1\n,bob,2\n", wantErr: "line 2: empty token"},
		{name: "empty user", data: "tok1,,1\n", wantErr: "line 1: empty user"},
		{name: "duplicate token", data: "tok1,alice,1\ntok1,bob,2\n", wantErr: "line 2: same token as line 1"},
		{name: "bad quoting", data: "tok1,alice,1,\"dev\n", wantErr: "extraneous or missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCredentialCSV([]byte(tt.data), "token")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "tok1") {
					t.Fatalf("error %q leaks the token", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func bearer(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func TestTokenFile(t *testing.T) {
	clock := newTestClock()
	p := tempFile(t, "tokens.csv", []byte("secret-alice,alice,uid-1,\"dev,ops\"\nsecret-bob,bob,uid-2\n"))
	tf, err := NewTokenFile(FileConfig{Path: p, Now: clock.Now, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	union := BearerTokenUnion{tf}
	check := func(step, token string, want *user.Info) {
		t.Helper()
		got, ok, err := union.Authenticate(bearer(token))
		if want == nil {
			if err == nil || ok || got != nil {
				t.Fatalf("%s: token %q accepted: %v %v %v", step, token, got, ok, err)
			}
			return
		}
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got %+v %v %v, want %+v", step, got, ok, err, want)
		}
	}
	alice := &user.Info{Name: "alice", UID: "uid-1", Groups: []string{"dev", "ops"}}
	bob := &user.Info{Name: "bob", UID: "uid-2"}
	check("initial", "secret-alice", alice)
	check("initial", "secret-bob", bob)
	check("initial", "secret-alic", nil)
	check("initial", "secret-alice2", nil)
	check("initial", "", nil)

	// The returned user is a copy.
	got, _, _ := tf.AuthenticateToken(context.Background(), "secret-alice")
	got.Groups[0] = "tampered"
	check("after caller modified a result", "secret-alice", alice)

	// Rotate: bob's token goes, carol's comes, after the reload interval.
	writeFile(t, p, []byte("secret-alice,alice,uid-1,\"dev,ops\"\nsecret-carol,carol,uid-3\n"))
	check("before interval", "secret-bob", bob)
	clock.Advance(DefaultReloadInterval)
	check("after reload", "secret-bob", nil)
	check("after reload", "secret-carol", &user.Info{Name: "carol", UID: "uid-3"})

	// A broken file keeps the last good content.
	writeFile(t, p, []byte("secret-dave\n"))
	clock.Advance(DefaultReloadInterval)
	check("broken reload", "secret-carol", &user.Info{Name: "carol", UID: "uid-3"})
	check("broken reload", "secret-dave", nil)
}

func TestNewTokenFileErrors(t *testing.T) {
	good := tempFile(t, "tokens.csv", []byte("a,b,c\n"))
	bad := tempFile(t, "bad.csv", []byte("a,b\n"))
	for name, cfg := range map[string]FileConfig{
		"no path":   {Now: time.Now, Log: discardLog()},
		"no clock":  {Path: good, Log: discardLog()},
		"no logger": {Path: good, Now: time.Now},
		"missing":   {Path: good + ".nope", Now: time.Now, Log: discardLog()},
		"bad file":  {Path: bad, Now: time.Now, Log: discardLog()},
	} {
		if _, err := NewTokenFile(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := NewBasicAuth(cfg); err == nil {
			t.Errorf("basic %s: no error", name)
		}
	}
}

// tokenFunc adapts a function to TokenAuthenticator.
type tokenFunc func(token string) (*user.Info, bool, error)

func (f tokenFunc) AuthenticateToken(_ context.Context, token string) (*user.Info, bool, error) {
	return f(token)
}

func TestBearerTokenUnion(t *testing.T) {
	rejectAll := tokenFunc(func(string) (*user.Info, bool, error) { return nil, false, errors.New("bad signature") })
	ignoreAll := tokenFunc(func(string) (*user.Info, bool, error) { return nil, false, nil })
	acceptX := tokenFunc(func(tok string) (*user.Info, bool, error) {
		if tok == "x" {
			return &user.Info{Name: "x"}, true, nil
		}
		return nil, false, nil
	})
	tests := []struct {
		name    string
		union   BearerTokenUnion
		header  string
		want    string
		wantErr error
	}{
		{name: "no header", union: BearerTokenUnion{acceptX}},
		{name: "basic scheme", union: BearerTokenUnion{acceptX}, header: "Basic eDp5"},
		{name: "accepted", union: BearerTokenUnion{acceptX}, header: "Bearer x", want: "x"},
		{name: "scheme case-insensitive", union: BearerTokenUnion{acceptX}, header: "bearer x", want: "x"},
		{name: "unknown token", union: BearerTokenUnion{ignoreAll, acceptX}, header: "Bearer y", wantErr: ErrInvalidBearerToken},
		{name: "empty token", union: BearerTokenUnion{acceptX}, header: "Bearer ", wantErr: ErrInvalidBearerToken},
		{name: "token with spaces", union: BearerTokenUnion{acceptX}, header: "Bearer x y", wantErr: ErrInvalidBearerToken},
		{name: "empty union", union: nil, header: "Bearer x", wantErr: ErrInvalidBearerToken},
		{name: "rejected by one, accepted by the next", union: BearerTokenUnion{rejectAll, acceptX}, header: "Bearer x", want: "x"},
		{name: "rejected by all", union: BearerTokenUnion{rejectAll, ignoreAll}, header: "Bearer x", wantErr: ErrInvalidBearerToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			got, ok, err := tt.union.Authenticate(r)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || ok {
					t.Fatalf("got %v %v %v, want error %v", got, ok, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (tt.want == "") == ok || (ok && got.Name != tt.want) {
				t.Fatalf("got %+v %v, want %q", got, ok, tt.want)
			}
		})
	}
}

// TestInvalidBearerNeverAnonymous is the union as the server builds it: a
// bad token is 401, no token is anonymous.
func TestInvalidBearerNeverAnonymous(t *testing.T) {
	p := tempFile(t, "tokens.csv", []byte("good,alice,1\n"))
	tf, err := NewTokenFile(FileConfig{Path: p, Now: time.Now, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	chain := Union{BearerTokenUnion{tf}, Anonymous{}}
	if u, ok, err := chain.Authenticate(bearer("bad")); err == nil || ok {
		t.Fatalf("bad token: %v %v %v", u, ok, err)
	}
	u, ok, err := chain.Authenticate(httptest.NewRequest(http.MethodGet, "/", nil))
	if err != nil || !ok || u.Name != AnonymousUser {
		t.Fatalf("no token: %v %v %v", u, ok, err)
	}
}

func TestBasicAuth(t *testing.T) {
	clock := newTestClock()
	p := tempFile(t, "basic.csv", []byte("pw-alice,alice,uid-1,\"dev,ops\"\npw-bob,bob,uid-2\n"))
	ba, err := NewBasicAuth(FileConfig{Path: p, Now: clock.Now, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ba.DeprecationWarning(), "deprecated") {
		t.Errorf("warning %q", ba.DeprecationWarning())
	}
	tests := []struct {
		name    string
		header  string
		user    string
		pass    string
		want    *user.Info
		wantErr bool
	}{
		{name: "no credentials"},
		{name: "bearer is not basic", header: "Bearer abc"},
		{name: "valid", user: "alice", pass: "pw-alice", want: &user.Info{Name: "alice", UID: "uid-1", Groups: []string{"dev", "ops"}}},
		{name: "valid without groups", user: "bob", pass: "pw-bob", want: &user.Info{Name: "bob", UID: "uid-2"}},
		{name: "wrong password", user: "alice", pass: "pw-bob", wantErr: true},
		{name: "password prefix", user: "alice", pass: "pw-alic", wantErr: true},
		{name: "empty password", user: "alice", pass: "", wantErr: true},
		{name: "unknown user", user: "mallory", pass: "pw-alice", wantErr: true},
		{name: "malformed", header: "Basic !!!notbase64", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			} else if tt.user != "" {
				r.SetBasicAuth(tt.user, tt.pass)
			}
			got, ok, err := ba.Authenticate(r)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidBasicAuth) || ok || got != nil {
					t.Fatalf("got %v %v %v, want ErrInvalidBasicAuth", got, ok, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tt.want != nil) || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v %v, want %+v", got, ok, tt.want)
			}
		})
	}
	// Password change is picked up.
	writeFile(t, p, []byte("pw-alice-2,alice,uid-1\n"))
	clock.Advance(DefaultReloadInterval)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth("alice", "pw-alice")
	if _, _, err := ba.Authenticate(r); err == nil {
		t.Fatal("old password still accepted after reload")
	}
	r.SetBasicAuth("alice", "pw-alice-2")
	if u, ok, err := ba.Authenticate(r); err != nil || !ok || u.Name != "alice" {
		t.Fatalf("new password: %v %v %v", u, ok, err)
	}
	// Same user twice is a parse error.
	if _, err := parsePasswordFile([]byte("a,alice,1\nb,alice,2\n")); err == nil {
		t.Fatal("duplicate user accepted")
	}
}

// TestTokenFileConcurrentReload uses the authenticator from many
// goroutines while the file changes (run with -race).
func TestTokenFileConcurrentReload(t *testing.T) {
	clock := newTestClock()
	p := tempFile(t, "tokens.csv", []byte("stable,alice,1\n"))
	tf, err := NewTokenFile(FileConfig{Path: p, Now: clock.Now, Log: discardLog()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				if _, ok, err := tf.AuthenticateToken(context.Background(), "stable"); !ok || err != nil {
					errs <- errors.New("stable token rejected during reload")
					return
				}
			}
		}()
	}
	for i := range 50 {
		writeFile(t, p, []byte("stable,alice,1\nextra-"+strings.Repeat("x", i)+",bob,2\n"))
		clock.Advance(DefaultReloadInterval)
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := tf.AuthenticateToken(context.Background(), "extra-"+strings.Repeat("x", 49)); !ok {
		t.Fatal("last rewrite not loaded")
	}
}
