package e2e

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// staticTokens is the shared server's --token-auth-file.
const staticTokens = `e2e-static-token-0123456789,token-alice,uid-alice,"devs,ops"
`

// whoami posts a SelfSubjectReview with a bearer token (no client
// certificate) and returns the status code and username.
func whoami(t *testing.T, token string) (int, string, []string) {
	t.Helper()
	r := curl(t, env.shared, nil, "/apis/authentication.k8s.io/v1/selfsubjectreviews",
		"-X", "POST", "-H", "Authorization: Bearer "+token, "-H", "Content-Type: application/json",
		"-d", `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`)
	var ssr struct {
		Status struct {
			UserInfo struct {
				Username string
				Groups   []string
			} `json:"userInfo"`
		}
	}
	_ = json.Unmarshal([]byte(r.body), &ssr)
	return r.status, ssr.Status.UserInfo.Username, ssr.Status.UserInfo.Groups
}

// TestBearerTokens covers static tokens, service-account tokens from
// `kubectl create token`, TokenReview, and rejections (a bad token is 401,
// never anonymous; a deleted ServiceAccount's token stops working).
func TestBearerTokens(t *testing.T) {
	t.Parallel()
	code, name, groups := whoami(t, "e2e-static-token-0123456789")
	if code != 201 || name != "token-alice" || strings.Join(groups, ",") != "devs,ops,system:authenticated" {
		t.Errorf("static token: %d %s %v", code, name, groups)
	}
	if code, _, _ := whoami(t, "e2e-static-token-wrong"); code != 401 {
		t.Errorf("wrong static token: %d, want 401", code)
	}
	if r := curl(t, env.shared, nil, "/healthz", "-H", "Authorization: Bearer nonsense"); r.status != 401 {
		t.Errorf("bad token on a public path: %d, want 401 (never anonymous)", r.status)
	}

	// Bootstrap tokens: a Secret in kube-system makes the token valid;
	// an expired one or one without the usage is refused.
	mustKubectl(t, "create", "secret", "generic", "bootstrap-token-e2eabc", "-n", "kube-system",
		"--type=bootstrap.kubernetes.io/token", "--from-literal=token-id=e2eabc", "--from-literal=token-secret=0123456789abcdef",
		"--from-literal=usage-bootstrap-authentication=true", "--from-literal=auth-extra-groups=system:bootstrappers:e2e")
	mustKubectl(t, "create", "secret", "generic", "bootstrap-token-e2eold", "-n", "kube-system",
		"--type=bootstrap.kubernetes.io/token", "--from-literal=token-id=e2eold", "--from-literal=token-secret=0123456789abcdef",
		"--from-literal=usage-bootstrap-authentication=true", "--from-literal=expiration=2020-01-01T00:00:00Z")
	t.Cleanup(func() {
		kubectl(t, "delete", "secret", "-n", "kube-system", "bootstrap-token-e2eabc", "bootstrap-token-e2eold")
	})
	code, name, groups = whoami(t, "e2eabc.0123456789abcdef")
	if code != 201 || name != "system:bootstrap:e2eabc" || strings.Join(groups, ",") != "system:bootstrappers,system:bootstrappers:e2e,system:authenticated" {
		t.Errorf("bootstrap token: %d %s %v", code, name, groups)
	}
	for _, bad := range []string{"e2eabc.0123456789abcdeX", "e2eold.0123456789abcdef"} {
		if code, _, _ := whoami(t, bad); code != 401 {
			t.Errorf("bootstrap token %s: %d, want 401", bad, code)
		}
	}

	ns := nsName(t.Name())
	mustKubectl(t, "create", "ns", ns)
	mustKubectl(t, "create", "serviceaccount", "robot", "-n", ns)
	token := strings.TrimSpace(mustKubectl(t, "create", "token", "robot", "-n", ns, "--duration=10m"))
	code, name, groups = whoami(t, token)
	if code != 201 || name != "system:serviceaccount:"+ns+":robot" || !strings.Contains(strings.Join(groups, ","), "system:serviceaccounts:"+ns) {
		t.Errorf("service-account token: %d %s %v", code, name, groups)
	}
	// Service accounts may read the issuer's discovery documents.
	for _, path := range []string{"/.well-known/openid-configuration", "/openid/v1/jwks"} {
		r := curl(t, env.shared, nil, path, "-H", "Authorization: Bearer "+token)
		if r.status != 200 || (!strings.Contains(r.body, `"keys"`) && !strings.Contains(r.body, `"jwks_uri"`)) {
			t.Errorf("GET %s as a service account: %d %s", path, r.status, r.body)
		}
	}
	if r := curl(t, env.shared, nil, "/openid/v1/jwks"); r.status != 403 {
		t.Errorf("anonymous GET /openid/v1/jwks: %d, want 403", r.status)
	}
	// TokenReview answers for the same token.
	review := mustKubectlIn(t, `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"`+token+`"}}`,
		"create", "-f", "-", "-o", "jsonpath={.status.authenticated} {.status.user.username}")
	mustContain(t, review, "true system:serviceaccount:"+ns+":robot")
	if r := kubectl(t, "create", "token", "robot", "-n", ns, "--duration=1m"); r.code == 0 {
		t.Errorf("a token shorter than 10 minutes was issued")
	}
	mustKubectl(t, "delete", "serviceaccount", "robot", "-n", ns)
	// Successful tokens are remembered for 10 s, as in kube-apiserver.
	eventually(t, 20*time.Second, func() string {
		if code, _, _ := whoami(t, token); code != 401 {
			return "token of a deleted ServiceAccount still accepted"
		}
		return ""
	})
}

// TestLegacyServiceAccountToken fills a kubernetes.io/service-account-token
// Secret (token, ca.crt, namespace), authenticates with its token, and
// removes the Secret with its ServiceAccount.
func TestLegacyServiceAccountToken(t *testing.T) {
	t.Parallel()
	ns := nsName(t.Name())
	mustKubectl(t, "create", "ns", ns)
	mustKubectl(t, "create", "serviceaccount", "old-style", "-n", ns)
	mustKubectlIn(t, `apiVersion: v1
kind: Secret
metadata:
  name: old-style-token
  annotations: {kubernetes.io/service-account.name: old-style}
type: kubernetes.io/service-account-token
`, "create", "-n", ns, "-f", "-")
	var token string
	eventually(t, 10*time.Second, func() string {
		out := mustKubectl(t, "get", "secret", "old-style-token", "-n", ns, "-o", `jsonpath={.data.token}`)
		if out == "" {
			return "token not filled in"
		}
		b, err := base64.StdEncoding.DecodeString(out)
		if err != nil {
			return err.Error()
		}
		token = string(b)
		return ""
	})
	if code, name, _ := whoami(t, token); code != 201 || name != "system:serviceaccount:"+ns+":old-style" {
		t.Errorf("legacy token: %d %s", code, name)
	}
	mustKubectl(t, "delete", "serviceaccount", "old-style", "-n", ns)
	// Successful tokens are remembered for 10 s, as in kube-apiserver.
	eventually(t, 20*time.Second, func() string {
		if r := kubectl(t, "get", "secret", "old-style-token", "-n", ns); r.code == 0 {
			return "token Secret outlives its ServiceAccount"
		}
		if code, _, _ := whoami(t, token); code != 401 {
			return "legacy token of a deleted account still accepted"
		}
		return ""
	})
}

// TestRestartWithLegacyTokens restarts a server that holds a filled
// legacy token Secret: the token controller must be ready (its issuer
// loaded) before it sees the existing Secrets, and the token keeps working.
func TestRestartWithLegacyTokens(t *testing.T) {
	t.Parallel()
	s := startServer(t, filepath.Join(t.TempDir(), "data"))
	s.mustKubectl(t, "create", "serviceaccount", "keeper")
	s.mustKubectlWith(t, runOpts{stdin: `apiVersion: v1
kind: Secret
metadata:
  name: keeper-token
  annotations: {kubernetes.io/service-account.name: keeper}
type: kubernetes.io/service-account-token
`}, "create", "-f", "-")
	eventually(t, 10*time.Second, func() string {
		if s.mustKubectl(t, "get", "secret", "keeper-token", "-o", "jsonpath={.data.token}") == "" {
			return "token not filled in"
		}
		return ""
	})
	s2 := s.restart(t, syscall.SIGTERM)
	if out := s2.mustKubectl(t, "get", "secret", "keeper-token", "-o", "jsonpath={.type}"); out != "kubernetes.io/service-account-token" {
		t.Errorf("after restart: %q", out)
	}
}
