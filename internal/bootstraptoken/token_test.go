package bootstraptoken

import (
	"strings"
	"testing"
	"time"
)

func TestGenerateParse(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		tok, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(tok.String())
		if err != nil || back != tok {
			t.Fatalf("round trip %q: %v %v", tok, back, err)
		}
		if seen[tok.ID] {
			t.Fatalf("duplicate id %q", tok.ID)
		}
		seen[tok.ID] = true
	}
	for _, bad := range []string{"", "abcdef", "abcdef.0123456789abcde", "ABCDEF.0123456789abcdef", "abcdef:0123456789abcdef", "abcdef.0123456789abcdef0"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestSecretRoundTrip(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	in := Info{Token: Token{"abcdef", "0123456789abcdef"}, Expiration: exp, Usages: []string{UsageAuthentication, UsageSigning},
		ExtraGroups: []string{"system:bootstrappers:kastle:default-node-token"}, Description: "d"}
	s, err := in.Secret()
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "bootstrap-token-abcdef" || s.Namespace != "kube-system" || string(s.Data["usage-bootstrap-signing"]) != "true" {
		t.Fatalf("secret %+v", s)
	}
	out, err := FromSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	if out.Token != in.Token || !out.Expiration.Equal(exp) || !out.Has(UsageSigning) || out.ExtraGroups[0] != in.ExtraGroups[0] || out.Description != "d" {
		t.Fatalf("round trip %+v", out)
	}
	if !out.Expired(exp) || out.Expired(exp.Add(-time.Second)) {
		t.Errorf("expiry check")
	}
	for name, bad := range map[string]Info{
		"bad group": {Token: in.Token, ExtraGroups: []string{"admins"}},
		"bad usage": {Token: in.Token, Usages: []string{"everything"}},
		"bad id":    {Token: Token{"ABC", "0123456789abcdef"}},
	} {
		if _, err := bad.Secret(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	s.Name = "bootstrap-token-zzzzzz"
	if _, err := FromSecret(s); err == nil {
		t.Errorf("mismatched name accepted")
	}
}

func TestDetachedJWS(t *testing.T) {
	tok := Token{"abcdef", "0123456789abcdef"}
	content := "apiVersion: v1\nkind: Config\n"
	sig, err := SignDetached(content, tok)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(sig, ".") != 2 || !strings.Contains(sig, "..") {
		t.Fatalf("not detached: %q", sig)
	}
	if err := VerifyDetached(content, sig, tok); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		content, sig string
		tok          Token
	}{
		"changed content": {content + "x", sig, tok},
		"wrong secret":    {content, sig, Token{"abcdef", "fedcba9876543210"}},
		"wrong id":        {content, sig, Token{"zzzzzz", tok.Secret}},
		"attached":        {content, strings.Replace(sig, "..", ".eA.", 1), tok},
		"garbage":         {content, "a.b", tok},
	} {
		if err := VerifyDetached(tc.content, tc.sig, tc.tok); err == nil {
			t.Errorf("%s verified", name)
		}
	}
}
