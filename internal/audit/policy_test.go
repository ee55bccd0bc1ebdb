package audit

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

const testPolicy = `
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  users: ["system:kube-proxy"]
  verbs: ["watch"]
- level: None
  userGroups: ["system:nodes"]
  verbs: ["get"]
  resources:
  - group: ""
    resources: ["nodes"]
- level: None
  nonResourceURLs: ["/healthz*", "/version"]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["secrets", "serviceaccounts/token"]
  - group: "authentication.k8s.io"
    resources: ["tokenreviews"]
- level: Request
  resources:
  - group: ""
    resources: ["pods/log", "*/scale"]
- level: Request
  resources:
  - group: "apps"
    resources: ["deployments/*"]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["configmaps"]
    resourceNames: ["controller-leader"]
- level: Metadata
  namespaces: ["kube-system"]
- level: RequestResponse
  resources:
  - group: "rbac.authorization.k8s.io"
- level: Metadata
  nonResourceURLs: ["/openapi/*"]
- level: Request
`

func newTestAuditor(t testing.TB, policy string, out io.Writer) *Auditor {
	t.Helper()
	p, err := ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAuditor(Config{Policy: p, Out: out, Now: fixedClock(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fixedClock returns a clock that advances one millisecond per call.
func fixedClock() func() time.Time {
	t := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Millisecond); return t }
}

func res(verb, group, resource, sub, ns, name string) *request.Info {
	return &request.Info{IsResourceRequest: true, Verb: verb, APIGroup: group, APIVersion: "v1", Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

func TestEvaluate(t *testing.T) {
	a := newTestAuditor(t, testPolicy, io.Discard)
	alice := &user.Info{Name: "alice", Groups: []string{"dev"}}
	proxy := &user.Info{Name: "system:kube-proxy"}
	node := &user.Info{Name: "system:node:n1", Groups: []string{"system:nodes"}}
	tests := []struct {
		name string
		u    *user.Info
		info *request.Info
		want Level
	}{
		{"user+verb match", proxy, res("watch", "", "endpoints", "", "", ""), LevelNone},
		{"user match, verb not", proxy, res("list", "", "endpoints", "", "", ""), LevelRequest},
		{"group+verb+resource", node, res("get", "", "nodes", "", "", "n1"), LevelNone},
		{"group, other resource", node, res("get", "", "pods", "", "x", "p"), LevelRequest},
		{"non-resource prefix", alice, &request.Info{Verb: "get", Path: "/healthz/ready"}, LevelNone},
		{"non-resource exact", alice, &request.Info{Verb: "get", Path: "/version"}, LevelNone},
		{"non-resource exact only", alice, &request.Info{Verb: "get", Path: "/version/x"}, LevelRequest},
		{"non-resource rule skips resources", alice, res("get", "", "healthz", "", "", ""), LevelRequest},
		{"secret capped", alice, res("get", "", "secrets", "", "x", "s"), LevelMetadata},
		{"secret list capped", alice, res("list", "", "secrets", "", "", ""), LevelMetadata},
		{"token request capped", alice, res("create", "", "serviceaccounts", "token", "x", "default"), LevelMetadata},
		{"tokenreview capped", alice, res("create", "authentication.k8s.io", "tokenreviews", "", "", ""), LevelMetadata},
		{"secrets of another group not capped", alice, res("get", "example.com", "secrets", "", "x", "s"), LevelRequest},
		{"subresource entry", alice, res("get", "", "pods", "log", "x", "p"), LevelRequest},
		{"subresource entry needs subresource", alice, res("get", "", "pods", "", "kube-system", "p"), LevelMetadata},
		{"*/scale", alice, res("update", "", "replicationcontrollers", "scale", "kube-system", "r"), LevelRequest},
		{"resource/*", alice, res("get", "apps", "deployments", "status", "kube-system", "d"), LevelRequest},
		{"resource/* matches main resource", alice, res("get", "apps", "deployments", "", "kube-system", "d"), LevelRequest},
		{"resourceNames match", alice, res("update", "", "configmaps", "", "kube-system", "controller-leader"), LevelRequestResponse},
		{"resourceNames no match → namespace rule", alice, res("update", "", "configmaps", "", "kube-system", "other"), LevelMetadata},
		{"whole group", alice, res("create", "rbac.authorization.k8s.io", "roles", "", "x", ""), LevelRequestResponse},
		{"cluster-scoped is namespace \"\"", alice, res("get", "", "namespaces", "", "", "x"), LevelRequest},
		{"non-resource rule", alice, &request.Info{Verb: "get", Path: "/openapi/v2"}, LevelMetadata},
		{"catch-all", alice, res("get", "", "configmaps", "", "x", "c"), LevelRequest},
		{"nil user fails closed", nil, res("get", "", "pods", "", "x", "p"), LevelMetadata},
		{"nil info fails closed", alice, nil, LevelMetadata},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.Evaluate(Attributes{User: tt.u, Info: tt.info}); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestEvaluateNoRulesIsNone(t *testing.T) {
	a := newTestAuditor(t, "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n", io.Discard)
	if got := a.Evaluate(Attributes{User: &user.Info{Name: "a"}, Info: res("get", "", "pods", "", "x", "p")}); got != LevelNone {
		t.Errorf("got %s, want None", got)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	head := "apiVersion: audit.k8s.io/v1\nkind: Policy\n"
	tests := []struct {
		name, doc, wantErr string
	}{
		{"unknown level", head + "rules:\n- level: Everything\n", `unknown level "Everything"`},
		{"lower-case level", head + "rules:\n- level: metadata\n", `unknown level "metadata"`},
		{"unknown stage", head + "omitStages: [Done]\nrules: []\n", `unknown stage "Done"`},
		{"unknown rule stage", head + "rules:\n- level: None\n  omitStages: [Started]\n", `rules[0]: omitStages: unknown stage "Started"`},
		{"wrong kind", "apiVersion: audit.k8s.io/v1\nkind: Pol\nrules: []\n", `kind "Pol"`},
		{"wrong version", "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules: []\n", `apiVersion "audit.k8s.io/v1beta1"`},
		{"mixed rule", head + "rules:\n- level: None\n  namespaces: [x]\n  nonResourceURLs: [/x]\n", "both nonResourceURLs"},
		{"relative URL", head + "rules:\n- level: None\n  nonResourceURLs: [healthz]\n", `"healthz" must start with /`},
		{"inner star", head + "rules:\n- level: None\n  nonResourceURLs: [/a*/b]\n", "only allowed at the end"},
		{"unknown field", head + "rules:\n- level: None\n  user: [x]\n", "unknown field"},
		{"not yaml", "{", "decoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParsePolicyJSON(t *testing.T) {
	p, err := ParsePolicy([]byte(`{"apiVersion":"audit.k8s.io/v1","kind":"Policy","metadata":{"name":"x"},"rules":[{"level":"Metadata"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 1 || p.Rules[0].Level != LevelMetadata {
		t.Errorf("rules %+v", p.Rules)
	}
}

func TestNewAuditorNeedsDeps(t *testing.T) {
	p, _ := ParsePolicy([]byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Now
	tests := []Config{
		{Out: io.Discard, Now: now, Log: log},
		{Policy: p, Now: now, Log: log},
		{Policy: p, Out: io.Discard, Log: log},
		{Policy: p, Out: io.Discard, Now: now},
		{Policy: p, Out: io.Discard, Now: now, Log: log, MaxBodyBytes: -1},
		{Policy: &Policy{Kind: "Policy", APIVersion: "v1"}, Out: io.Discard, Now: now, Log: log},
	}
	for i, c := range tests {
		if _, err := NewAuditor(c); err == nil {
			t.Errorf("config %d: want error", i)
		}
	}
}
