package webhook

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/registry/registrytest"
)

// mapGetter serves namespaces from a map (the test's cluster state).
type mapGetter map[string]runtime.Object

func (m mapGetter) Get(_ context.Context, ns, name, _ string) (runtime.Object, error) {
	if o, ok := m[ns+"/"+name]; ok {
		return o, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("namespaces"), name)
}

func TestMatchConditionsAndSelectors(t *testing.T) {
	namespaces := mapGetter{"/prod": &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod", Labels: map[string]string{"env": "prod"}}}}
	d := &Dispatcher{Namespaces: namespaces}
	fail := admissionregistrationv1.Fail
	mk := func(conds []admissionregistrationv1.MatchCondition, nsSel, objSel *metav1.LabelSelector) *hook {
		u := "https://127.0.0.1:1/"
		none := admissionregistrationv1.SideEffectClassNone
		h := compileHook("c", false, webhookSpec{name: "h.kastle.dev", clientConfig: admissionregistrationv1.WebhookClientConfig{URL: &u},
			rules:         []admissionregistrationv1.RuleWithOperations{rule(allOps, []string{"*"}, []string{"*"}, []string{"*"}, "*")},
			failurePolicy: &fail, sideEffects: &none, admissionReviewVersions: []string{"v1"}, matchConditions: conds, nsSel: nsSel, objSel: objSel})
		if h.err != nil {
			t.Fatal(h.err)
		}
		return h
	}
	prodOnly := &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	tests := []struct {
		name string
		h    *hook
		a    *registry.Attributes
		want bool
		err  bool
	}{
		{"cel name true", mk([]admissionregistrationv1.MatchCondition{{Name: "n", Expression: `object.metadata.name.startsWith("bad")`}}, nil, nil), configMapCreate(t, "x", "bad-1", nil), true, false},
		{"cel name false", mk([]admissionregistrationv1.MatchCondition{{Name: "n", Expression: `object.metadata.name.startsWith("bad")`}}, nil, nil), configMapCreate(t, "x", "good", nil), false, false},
		{"cel request user", mk([]admissionregistrationv1.MatchCondition{{Name: "u", Expression: `request.userInfo.username == "alice"`}}, nil, nil), configMapCreate(t, "x", "a", nil), true, false},
		{"cel oldObject null on create", mk([]admissionregistrationv1.MatchCondition{{Name: "o", Expression: `oldObject == null`}}, nil, nil), configMapCreate(t, "x", "a", nil), true, false},
		{"cel error fails closed", mk([]admissionregistrationv1.MatchCondition{{Name: "e", Expression: `object.data["missing"] == "x"`}}, nil, nil), configMapCreate(t, "x", "a", nil), false, true},
		{"namespace selector match", mk(nil, prodOnly, nil), configMapCreate(t, "prod", "a", nil), true, false},
		{"namespace selector miss", mk(nil, prodOnly, nil), configMapCreate(t, "dev", "a", nil), false, false},
		{"namespace object uses its own labels", mk(nil, prodOnly, nil), &registry.Attributes{Operation: registry.Create, Resource: resource(t, "", "namespaces"), Name: "new",
			Object: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "new", Labels: map[string]string{"env": "prod"}}}}, true, false},
		{"object selector", mk(nil, nil, &metav1.LabelSelector{MatchLabels: map[string]string{"hook": "on"}}), configMapCreate(t, "x", "a", map[string]string{"hook": "on"}), true, false},
		{"object selector miss", mk(nil, nil, &metav1.LabelSelector{MatchLabels: map[string]string{"hook": "on"}}), configMapCreate(t, "x", "a", nil), false, false},
	}
	ctx := request.WithUser(context.Background(), &user.Info{Name: "alice"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := d.matches(ctx, tt.a, requestOf(tt.a), tt.h, lazyAttrs(ctx, tt.a))
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("matches = %v, %v; want %v (error %v)", got, err, tt.want, tt.err)
			}
		})
	}
	// The object selector also looks at the old object (updates, deletes).
	h := mk(nil, nil, &metav1.LabelSelector{MatchLabels: map[string]string{"hook": "on"}})
	a := configMapCreate(t, "x", "a", nil)
	a.Operation, a.OldObject = registry.Update, configMapCreate(t, "x", "a", map[string]string{"hook": "on"}).Object
	if _, ok, _ := d.matches(ctx, a, requestOf(a), h, lazyAttrs(ctx, a)); !ok {
		t.Error("old object's labels ignored")
	}
}

// paramMap resolves params from a fixed list.
type paramMap map[string]runtime.Object

func (p paramMap) Params(_ context.Context, _, _, ns, name string, _ labels.Selector) ([]runtime.Object, bool, error) {
	if o, ok := p[ns+"/"+name]; ok {
		return []runtime.Object{o}, true, nil
	}
	return nil, true, nil
}

func policyPlugin(t *testing.T, p *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding, params ParamResolver) *PolicyPlugin {
	t.Helper()
	return &PolicyPlugin{D: &Dispatcher{Namespaces: mapGetter{}}, Policies: staticCache(compilePolicies([]runtime.Object{p})),
		Bindings: staticCache(compileBindings([]runtime.Object{b})), Params: params}
}

func TestPolicy(t *testing.T) {
	reason := metav1.StatusReasonForbidden
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "max-keys"},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			ParamKind: &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"},
			MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
				RuleWithOperations: rule(allOps, []string{""}, []string{"v1"}, []string{"configmaps"}, "*")}}},
			Variables: []admissionregistrationv1.Variable{{Name: "n", Expression: "size(object.data)"}},
			Validations: []admissionregistrationv1.Validation{
				{Expression: "variables.n <= int(params.data.max)", MessageExpression: "'at most ' + params.data.max + ' keys'"},
				{Expression: "!object.metadata.name.startsWith('x')", Reason: &reason},
			},
			AuditAnnotations: []admissionregistrationv1.AuditAnnotation{{Key: "keys", ValueExpression: "string(variables.n)"}},
		}}
	missing := admissionregistrationv1.DenyAction
	binding := func(actions ...admissionregistrationv1.ValidationAction) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
		return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "b"},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: "max-keys", ValidationActions: actions,
				ParamRef: &admissionregistrationv1.ParamRef{Name: "limits", Namespace: "cfg", ParameterNotFoundAction: &missing}}}
	}
	params := paramMap{"cfg/limits": &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "limits"}, Data: map[string]string{"max": "1"}}}
	two := func(name string) *registry.Attributes {
		a := configMapCreate(t, "ns", name, nil)
		a.Object.(*corev1.ConfigMap).Data["k2"] = "v"
		return a
	}
	ctx := context.Background()

	err := policyPlugin(t, policy, binding(admissionregistrationv1.Deny), params).Validate(ctx, two("cm"))
	if se, ok := err.(*apierrors.StatusError); !ok || se.ErrStatus.Code != 422 || se.ErrStatus.Reason != metav1.StatusReasonInvalid ||
		!strings.Contains(err.Error(), `configmaps "cm" is forbidden: ValidatingAdmissionPolicy 'max-keys' with binding 'b' denied request: at most 1 keys`) {
		t.Errorf("deny: %v", err)
	}
	if err := policyPlugin(t, policy, binding(admissionregistrationv1.Deny), params).Validate(ctx, configMapCreate(t, "ns", "cm", nil)); err != nil {
		t.Errorf("valid object denied: %v", err)
	}
	err = policyPlugin(t, policy, binding(admissionregistrationv1.Deny), params).Validate(ctx, configMapCreate(t, "ns", "xname", nil))
	if se, ok := err.(*apierrors.StatusError); !ok || se.ErrStatus.Code != 403 || !strings.Contains(err.Error(), "failed expression: !object.metadata.name.startsWith('x')") {
		t.Errorf("reason Forbidden: %v", err)
	}
	rec := httptest.NewRecorder()
	wctx := request.WithWarnings(ctx, rec.Header())
	if err := policyPlugin(t, policy, binding(admissionregistrationv1.Warn, admissionregistrationv1.Audit), params).Validate(wctx, two("cm")); err != nil {
		t.Errorf("warn: %v", err)
	}
	if w := rec.Header().Get("Warning"); !strings.Contains(w, "Validation failed for ValidatingAdmissionPolicy 'max-keys' with binding 'b': at most 1 keys") {
		t.Errorf("warning %q", w)
	}
	err = policyPlugin(t, policy, binding(admissionregistrationv1.Deny), paramMap{}).Validate(ctx, configMapCreate(t, "ns", "cm", nil))
	if err == nil || !strings.Contains(err.Error(), "no params found") {
		t.Errorf("missing params with Deny: %v", err)
	}
	allow := admissionregistrationv1.AllowAction
	b := binding(admissionregistrationv1.Deny)
	b.Spec.ParamRef.ParameterNotFoundAction = &allow
	if err := policyPlugin(t, policy, b, paramMap{}).Validate(ctx, two("cm")); err != nil {
		t.Errorf("missing params with Allow: %v", err)
	}
	// A binding's matchResources narrows the policy.
	b = binding(admissionregistrationv1.Deny)
	b.Spec.MatchResources = &admissionregistrationv1.MatchResources{ExcludeResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
		ResourceNames: []string{"cm"}, RuleWithOperations: rule(allOps, []string{""}, []string{"v1"}, []string{"configmaps"}, "*")}}}
	if err := policyPlugin(t, policy, b, params).Validate(ctx, two("cm")); err != nil {
		t.Errorf("excluded by name: %v", err)
	}
	// Runtime errors follow failurePolicy.
	bad := policy.DeepCopy()
	bad.Spec.ParamKind = nil
	bad.Spec.Validations = []admissionregistrationv1.Validation{{Expression: "object.data['absent'] == 'x'"}}
	bad.Spec.AuditAnnotations = nil
	nob := binding(admissionregistrationv1.Deny)
	nob.Spec.ParamRef = nil
	if err := policyPlugin(t, bad, nob, nil).Validate(ctx, two("cm")); err == nil || !strings.Contains(err.Error(), "resulted in error") {
		t.Errorf("eval error with Fail: %v", err)
	}
	ignore := admissionregistrationv1.Ignore
	bad.Spec.FailurePolicy = &ignore
	if err := policyPlugin(t, bad, nob, nil).Validate(ctx, two("cm")); err != nil {
		t.Errorf("eval error with Ignore: %v", err)
	}
}

func TestCacheFollowsStore(t *testing.T) {
	st := registrytest.NewStore(t, testClient, "admissionregistration.k8s.io", "validatingwebhookconfigurations")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := NewCache(ctx, st, nil, compileValidating)
	if _, ok := c.Ready(ctx); !ok {
		t.Fatal("cache never synced")
	}
	u := "https://127.0.0.1:1/"
	none := admissionregistrationv1.SideEffectClassNone
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "c"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "a.kastle.dev", SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &u}}}}
	if _, err := st.Create(ctx, "", cfg, registry.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(c.Load()) == 1 && c.Load()[0].name == "a.kastle.dev" })
	if _, err := st.Delete(ctx, "", "c", nil, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(c.Load()) == 0 })
}

// waitFor polls cond until it holds, for at most 20s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("condition never held")
}

// TestPoliciesShareOneInput evaluates several policies and bindings on one
// request: the converted input is shared, but variables, params and the
// names each expression list may see stay per policy, binding and list.
func TestPoliciesShareOneInput(t *testing.T) {
	cmRules := &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
		RuleWithOperations: rule(allOps, []string{""}, []string{"v1"}, []string{"configmaps"}, "*")}}}
	pol := func(name string, vars []admissionregistrationv1.Variable, conds []admissionregistrationv1.MatchCondition, exprs ...string) *admissionregistrationv1.ValidatingAdmissionPolicy {
		p := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{MatchConstraints: cmRules, Variables: vars, MatchConditions: conds}}
		for _, e := range exprs {
			p.Spec.Validations = append(p.Spec.Validations, admissionregistrationv1.Validation{Expression: e})
		}
		return p
	}
	bind := func(name, policy string, ref *admissionregistrationv1.ParamRef) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
		return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy, ParamRef: ref,
				ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}}}
	}
	withParams := pol("max", nil, nil, "size(object.data) <= int(params.data.max)")
	withParams.Spec.ParamKind = &admissionregistrationv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
	deny := admissionregistrationv1.DenyAction
	ref := func(name string) *admissionregistrationv1.ParamRef {
		return &admissionregistrationv1.ParamRef{Name: name, Namespace: "cfg", ParameterNotFoundAction: &deny}
	}
	params := paramMap{
		"cfg/loose":  &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "loose"}, Data: map[string]string{"max": "5"}},
		"cfg/strict": &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "strict"}, Data: map[string]string{"max": "0"}},
	}
	namespaces := mapGetter{"/ns": &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: map[string]string{"team": "a"}}}}
	tests := []struct {
		name     string
		policies []runtime.Object
		bindings []runtime.Object
		want     string // "" admits; else a substring of the denial
	}{
		{"same variable name, different expressions", []runtime.Object{
			pol("a", []admissionregistrationv1.Variable{{Name: "v", Expression: "object.metadata.name"}}, nil, "variables.v == 'cm'"),
			pol("b", []admissionregistrationv1.Variable{{Name: "v", Expression: "size(object.data)"}}, nil, "variables.v == 1"),
		}, []runtime.Object{bind("a", "a", nil), bind("b", "b", nil)}, ""},
		{"variable of the second policy differs", []runtime.Object{
			pol("a", []admissionregistrationv1.Variable{{Name: "v", Expression: "object.metadata.name"}}, nil, "variables.v == 'cm'"),
			pol("b", []admissionregistrationv1.Variable{{Name: "v", Expression: "size(object.data)"}}, nil, "variables.v == 2"),
		}, []runtime.Object{bind("a", "a", nil), bind("b", "b", nil)}, "'b' with binding 'b' denied request: failed expression: variables.v == 2"},
		{"params per binding", []runtime.Object{withParams},
			[]runtime.Object{bind("loose", "max", ref("loose")), bind("strict", "max", ref("strict"))}, "binding 'strict' denied"},
		{"params per binding, both loose", []runtime.Object{withParams},
			[]runtime.Object{bind("loose", "max", ref("loose")), bind("loose2", "max", ref("loose"))}, ""},
		{"unused variable that fails is never evaluated", []runtime.Object{
			pol("a", []admissionregistrationv1.Variable{{Name: "bad", Expression: "object.data['absent']"}}, nil, "true"),
		}, []runtime.Object{bind("a", "a", nil)}, ""},
		{"validations see the namespace object", []runtime.Object{pol("a", nil, nil, "namespaceObject.metadata.labels.team == 'b'")},
			[]runtime.Object{bind("a", "a", nil)}, "failed expression: namespaceObject.metadata.labels.team == 'b'"},
		{"match conditions see no namespace object", []runtime.Object{
			pol("a", nil, []admissionregistrationv1.MatchCondition{{Name: "n", Expression: "namespaceObject == null"}}, "false"),
		}, []runtime.Object{bind("a", "a", nil)}, "failed expression: false"},
		{"false match condition skips the policy", []runtime.Object{
			pol("a", nil, []admissionregistrationv1.MatchCondition{{Name: "n", Expression: "object.metadata.name == 'other'"}}, "false"),
		}, []runtime.Object{bind("a", "a", nil)}, ""},
		{"request is the policy's", []runtime.Object{pol("a", nil, nil, "request.resource.resource == 'configmaps' && request.operation == 'CREATE' && request.namespace == 'ns'")},
			[]runtime.Object{bind("a", "a", nil)}, ""},
		{"runtime cost budget", []runtime.Object{pol("a", nil, nil,
			"[0,1,2,3,4,5,6,7,8,9].all(a, [0,1,2,3,4,5,6,7,8,9].all(b, [0,1,2,3,4,5,6,7,8,9].all(c, [0,1,2,3,4,5,6,7,8,9].all(d, [0,1,2,3,4,5,6,7,8,9].all(e, [0,1,2,3,4,5,6,7,8,9].all(f, [0,1,2,3,4,5,6,7,8,9].all(g, true)))))))")},
			[]runtime.Object{bind("a", "a", nil)}, "actual cost limit exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &PolicyPlugin{D: &Dispatcher{Namespaces: namespaces}, Policies: staticCache(compilePolicies(tt.policies)),
				Bindings: staticCache(compileBindings(tt.bindings)), Params: params}
			err := p.Validate(context.Background(), configMapCreate(t, "ns", "cm", nil))
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestPolicyCompiledOncePerGeneration checks that the policy cache reuses
// a compiled policy until its generation changes.
func TestPolicyCompiledOncePerGeneration(t *testing.T) {
	p := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u", Generation: 1},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{Validations: []admissionregistrationv1.Validation{{Expression: "true"}}}}
	compile := policyCompiler()
	first := compile([]runtime.Object{p})["p"]
	status := p.DeepCopy()
	status.ResourceVersion = "2"
	other := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "q", UID: "v", Generation: 1}}
	if again := compile([]runtime.Object{status, other})["p"]; again != first {
		t.Error("same generation compiled again")
	}
	changed := p.DeepCopy()
	changed.Generation = 2
	changed.Spec.Validations[0].Expression = "false"
	if got := compile([]runtime.Object{changed})["p"]; got == first || got.p.Spec.Validations[0].Expression != "false" {
		t.Error("new generation not compiled")
	}
	recreated := p.DeepCopy()
	recreated.UID = "u2"
	if got := compile([]runtime.Object{recreated})["p"]; got == first {
		t.Error("recreated policy (new UID) reused the old compilation")
	}
}
