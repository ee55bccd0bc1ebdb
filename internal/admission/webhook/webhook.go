package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"sync"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/audit"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/registry"
)

type typesUID = types.UID
type authnExtra = authenticationv1.ExtraValue

// maxResponseBytes bounds what we read from a webhook.
const maxResponseBytes = 3 << 20

// hook is one webhook compiled from its configuration.
type hook struct {
	name, config  string
	mutating      bool
	rules         []admissionregistrationv1.RuleWithOperations
	matchPolicy   *admissionregistrationv1.MatchPolicyType
	nsSel, objSel *selector
	matcher       matchconditions.Matcher
	failurePolicy admissionregistrationv1.FailurePolicyType
	sideEffects   admissionregistrationv1.SideEffectClass
	timeout       time.Duration
	reviewVersion string
	reinvoke      bool
	client        *endpointClient
	// err is a configuration that could not be compiled: calls fail per
	// failurePolicy.
	err error
}

// hookSet is the compiled state of all configurations of one kind.
type hookSet []*hook

// webhookSpec is the part of both webhook kinds that compiling needs.
type webhookSpec struct {
	name                    string
	clientConfig            admissionregistrationv1.WebhookClientConfig
	rules                   []admissionregistrationv1.RuleWithOperations
	failurePolicy           *admissionregistrationv1.FailurePolicyType
	matchPolicy             *admissionregistrationv1.MatchPolicyType
	nsSel, objSel           *metav1.LabelSelector
	sideEffects             *admissionregistrationv1.SideEffectClass
	timeoutSeconds          *int32
	admissionReviewVersions []string
	matchConditions         []admissionregistrationv1.MatchCondition
	reinvocation            *admissionregistrationv1.ReinvocationPolicyType
}

// compileMutating compiles MutatingWebhookConfigurations (sorted by name,
// as upstream orders them).
func compileMutating(objs []runtime.Object) hookSet {
	var out hookSet
	for _, o := range objs {
		c, ok := o.(*admissionregistrationv1.MutatingWebhookConfiguration)
		if !ok {
			continue
		}
		for _, w := range c.Webhooks {
			out = append(out, compileHook(c.Name, true, webhookSpec{w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy,
				w.NamespaceSelector, w.ObjectSelector, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.MatchConditions, w.ReinvocationPolicy}))
		}
	}
	return out
}

// compileValidating compiles ValidatingWebhookConfigurations.
func compileValidating(objs []runtime.Object) hookSet {
	var out hookSet
	for _, o := range objs {
		c, ok := o.(*admissionregistrationv1.ValidatingWebhookConfiguration)
		if !ok {
			continue
		}
		for _, w := range c.Webhooks {
			out = append(out, compileHook(c.Name, false, webhookSpec{w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy,
				w.NamespaceSelector, w.ObjectSelector, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.MatchConditions, nil}))
		}
	}
	return out
}

func compileHook(config string, mutating bool, w webhookSpec) *hook {
	h := &hook{name: w.name, config: config, mutating: mutating, rules: w.rules, matchPolicy: w.matchPolicy,
		failurePolicy: admissionregistrationv1.Fail, sideEffects: admissionregistrationv1.SideEffectClassUnknown, timeout: 10 * time.Second}
	if w.failurePolicy != nil {
		h.failurePolicy = *w.failurePolicy
	}
	if w.sideEffects != nil {
		h.sideEffects = *w.sideEffects
	}
	if w.timeoutSeconds != nil {
		h.timeout = time.Duration(*w.timeoutSeconds) * time.Second
	}
	h.reinvoke = w.reinvocation != nil && *w.reinvocation == admissionregistrationv1.IfNeededReinvocationPolicy
	for _, v := range w.admissionReviewVersions {
		if v == "v1" || v == "v1beta1" {
			h.reviewVersion = v
			break
		}
	}
	var err error
	if h.nsSel, err = compileSelector(w.nsSel); err != nil {
		h.err = fmt.Errorf("invalid namespaceSelector: %w", err)
		return h
	}
	if h.objSel, err = compileSelector(w.objSel); err != nil {
		h.err = fmt.Errorf("invalid objectSelector: %w", err)
		return h
	}
	if h.reviewVersion == "" {
		h.err = fmt.Errorf("webhook does not accept known AdmissionReview versions (v1, v1beta1)")
		return h
	}
	if h.client, err = newEndpointClient(w.clientConfig); err != nil {
		h.err = err
		return h
	}
	if len(w.matchConditions) > 0 {
		h.matcher, h.err = compileMatchConditions(w.matchConditions, h.failurePolicy, mutating, w.name)
	}
	return h
}

// compileMatchConditions builds upstream's matcher (k8s.io/apiserver's
// CEL environment, libraries and cost limits).
func compileMatchConditions(conds []admissionregistrationv1.MatchCondition, fp admissionregistrationv1.FailurePolicyType, mutating bool, name string) (matchconditions.Matcher, error) {
	c, err := plugincel.NewCompositedCompiler(celEnv())
	if err != nil {
		return nil, err
	}
	acc := make([]plugincel.ExpressionAccessor, len(conds))
	for i := range conds {
		mc := matchconditions.MatchCondition(conds[i])
		acc[i] = &mc
	}
	eval := c.CompileCondition(acc, plugincel.OptionalVariableDeclarations{HasAuthorizer: true}, environment.StoredExpressions)
	if errs := eval.CompilationErrors(); len(errs) > 0 {
		return nil, fmt.Errorf("matchConditions: %v", errs[0])
	}
	kind := "validating"
	if mutating {
		kind = "admit"
	}
	return matchconditions.NewMatcher(eval, &fp, "webhook", kind, name), nil
}

var (
	envOnce sync.Once
	envSet  *environment.EnvSet
)

func celEnv() *environment.EnvSet {
	envOnce.Do(func() { envSet = environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()) })
	return envSet
}

// Dispatcher calls webhooks; the plugins share it.
type Dispatcher struct {
	Namespaces, Services, Endpoints Getter
	Authorizer                      authz.Authorizer
	Log                             *slog.Logger
	// Served names the kinds the server serves (matchPolicy Equivalent);
	// nil treats every version as served.
	Served KindResolver
}

// matches decides whether h applies to a: rules, selectors, then CEL
// match conditions (which may fail per failurePolicy).
// It returns the version the webhook sees the object in.
func (d *Dispatcher) matches(ctx context.Context, a *registry.Attributes, req reqInfo, h *hook, va func() *vattrs) (string, bool, error) {
	version, ok := ruleVersion(h.rules, h.matchPolicy, req, d.Served)
	if !ok {
		return "", false, nil
	}
	if version != req.version && !convertible(a) {
		return "", false, nil
	}
	ok, err := d.selected(ctx, a, h, va)
	return version, ok, err
}

// selected applies h's selectors and match conditions.
func (d *Dispatcher) selected(ctx context.Context, a *registry.Attributes, h *hook, va func() *vattrs) (bool, error) {
	if h.err != nil {
		return true, nil // the call reports the error per failurePolicy
	}
	if h.objSel != nil && !h.objSel.matches(labelsOf(a.Object)) && !h.objSel.matches(labelsOf(a.OldObject)) {
		return false, nil
	}
	if h.nsSel != nil {
		l, err := d.namespaceLabels(ctx, a)
		if err != nil {
			return false, err
		}
		if l != nil && !h.nsSel.matches(l) {
			return false, nil
		}
	}
	if h.matcher != nil {
		v := va()
		r := h.matcher.Match(ctx, v.attrs, nil, authorizerFor{z: d.Authorizer, user: v.user})
		if r.Error != nil {
			return false, apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
				fmt.Errorf("admission webhook %q matchConditions evaluation failed: %v", h.name, r.Error))
		}
		return r.Matches, nil
	}
	return true, nil
}

// namespaceLabels returns the labels the namespaceSelector sees: a
// Namespace's own, the namespace's for namespaced objects, nil (no
// filtering) for other cluster-scoped objects.
func (d *Dispatcher) namespaceLabels(ctx context.Context, a *registry.Attributes) (map[string]string, error) {
	if a.Resource.Group == "" && a.Resource.Plural == "namespaces" {
		if a.Object != nil {
			return labelsOf(a.Object), nil
		}
		return labelsOf(a.OldObject), nil
	}
	if !a.Resource.Namespaced || a.Namespace == "" {
		return nil, nil
	}
	obj, err := d.Namespaces.Get(ctx, "", a.Namespace, "0")
	if err != nil {
		if apierrors.IsNotFound(err) {
			return map[string]string{}, nil
		}
		return nil, err
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return nil, fmt.Errorf("namespace %q has type %T", a.Namespace, obj)
	}
	return ns.Labels, nil
}

func labelsOf(obj runtime.Object) map[string]string {
	if obj == nil || reflect.ValueOf(obj).IsNil() {
		return nil
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	return acc.GetLabels()
}

// response is what a webhook answered.
type response struct {
	allowed          bool
	result           *metav1.Status
	patch            []byte
	warnings         []string
	auditAnnotations map[string]string
}

// errCall is a failure to obtain a usable answer: it is subject to the
// webhook's failurePolicy.
type errCall struct {
	hook   string
	err    error
	status *apierrors.StatusError
}

func (e *errCall) Error() string { return e.status.Error() }

func callFailed(h *hook, err error) *errCall {
	return &errCall{hook: h.name, err: err, status: apierrors.NewInternalError(fmt.Errorf("failed calling webhook %q: %v", h.name, err))}
}

// badResponse is a webhook answer we cannot use (garbage, broken patch):
// 502, the webhook misbehaved, not the client or the server.
func badResponse(h *hook, err error) *errCall {
	st := &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusBadGateway,
		Reason:  metav1.StatusReasonInternalError,
		Message: fmt.Sprintf("failed calling webhook %q: %v", h.name, err)}}
	return &errCall{hook: h.name, err: err, status: st}
}

// call posts one AdmissionReview to h, bounded by its timeout.
// version is the one the webhook sees the object in (matchPolicy).
func (d *Dispatcher) call(ctx context.Context, a *registry.Attributes, h *hook, version string) (*response, error) {
	if h.err != nil {
		return nil, callFailed(h, h.err)
	}
	uid := string(uuid.NewUUID())
	req, err := admissionRequest(ctx, uid, a, version)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	review := admissionv1.AdmissionReview{Request: req}
	review.APIVersion, review.Kind = "admission.k8s.io/"+h.reviewVersion, "AdmissionReview"
	body, err := json.Marshal(review)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	target, err := h.client.target(ctx, d.Services, d.Endpoints)
	if err != nil {
		return nil, callFailed(h, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, callFailed(h, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	resp, err := h.client.http.Do(hreq)
	if err != nil {
		return nil, callFailed(h, fmt.Errorf("failed to call webhook: %w", err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, callFailed(h, fmt.Errorf("failed to call webhook: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, callFailed(h, fmt.Errorf("failed to call webhook: the server responded with the status code %d", resp.StatusCode))
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, badResponse(h, fmt.Errorf("received invalid webhook response: %v", err))
	}
	if out.Response == nil {
		return nil, badResponse(h, fmt.Errorf("webhook response was absent"))
	}
	if h.reviewVersion == "v1" {
		if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" {
			return nil, badResponse(h, fmt.Errorf("expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got %s, Kind=%s", out.APIVersion, out.Kind))
		}
		if string(out.Response.UID) != uid {
			return nil, badResponse(h, fmt.Errorf("expected response.uid=%q, got %q", uid, out.Response.UID))
		}
	}
	r := &response{allowed: out.Response.Allowed, result: out.Response.Result, warnings: out.Response.Warnings, auditAnnotations: out.Response.AuditAnnotations}
	if len(out.Response.Patch) > 0 {
		if !h.mutating {
			return nil, badResponse(h, fmt.Errorf("validating webhooks may not return patches"))
		}
		pt := ""
		if out.Response.PatchType != nil {
			pt = string(*out.Response.PatchType)
		}
		if pt != string(admissionv1.PatchTypeJSONPatch) {
			return nil, badResponse(h, fmt.Errorf("unsupported patch type %q", pt))
		}
		r.patch = out.Response.Patch
	}
	return r, nil
}

// denied is the error of a webhook's refusal: the status it returned,
// with upstream's message form and 403 when it set no code.
func denied(h *hook, result *metav1.Status) error {
	st := metav1.Status{Status: metav1.StatusFailure}
	if result != nil {
		st = *result
		st.Status = metav1.StatusFailure
	}
	prefix := fmt.Sprintf("admission webhook %q denied the request", h.name)
	switch {
	case st.Message != "":
		st.Message = prefix + ": " + st.Message
	case st.Reason != "":
		st.Message = prefix + ": " + string(st.Reason)
	default:
		st.Message = prefix
	}
	if st.Code == 0 || st.Code < 400 {
		st.Code = http.StatusForbidden
	}
	return &apierrors.StatusError{ErrStatus: st}
}

// report forwards a webhook's warnings and audit annotations.
func report(ctx context.Context, h *hook, r *response) {
	for _, w := range r.warnings {
		request.AddWarning(ctx, w)
	}
	for k, v := range r.auditAnnotations {
		audit.AddAnnotation(ctx, h.name+"/"+k, v)
	}
}

// applyPatch applies a JSONPatch to a.Object in place. A patch that does
// not apply or yields something that is not the same kind of object is a
// bad response: the object is left as it was.
func applyPatch(a *registry.Attributes, h *hook, patch []byte, version string) error {
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return badResponse(h, fmt.Errorf("invalid JSON patch: %v", err))
	}
	orig, err := raw(a.Object, a, version)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	patched, err := p.Apply(orig.Raw)
	if err != nil {
		return badResponse(h, fmt.Errorf("JSON patch could not be applied: %v", err))
	}
	if version != a.Resource.Version {
		// Back from the webhook's version (custom resources convert by
		// apiVersion alone).
		if patched, err = withAPIVersion(patched, a.Resource.APIVersion()); err != nil {
			return badResponse(h, fmt.Errorf("patched object is invalid: %v", err))
		}
	}
	out := a.Resource.New()
	if err := json.Unmarshal(patched, out); err != nil {
		return badResponse(h, fmt.Errorf("patched object is invalid: %v", err))
	}
	if out.GetObjectKind().GroupVersionKind() != a.Resource.GVK() {
		return badResponse(h, fmt.Errorf("patch changed the object's kind to %v", out.GetObjectKind().GroupVersionKind()))
	}
	before, _ := meta.Accessor(a.Object)
	after, err := meta.Accessor(out)
	if err != nil {
		return badResponse(h, fmt.Errorf("patched object has no metadata: %v", err))
	}
	// System metadata is the server's.
	after.SetUID(before.GetUID())
	after.SetResourceVersion(before.GetResourceVersion())
	after.SetCreationTimestamp(before.GetCreationTimestamp())
	after.SetGeneration(before.GetGeneration())
	after.SetDeletionTimestamp(before.GetDeletionTimestamp())
	if after.GetName() != before.GetName() || after.GetNamespace() != before.GetNamespace() {
		return badResponse(h, fmt.Errorf("patch may not change the object's name or namespace"))
	}
	if a.Resource.Default != nil {
		a.Resource.Default(out)
	}
	dst, src := reflect.ValueOf(a.Object), reflect.ValueOf(out)
	if dst.Kind() != reflect.Pointer || dst.Type() != src.Type() {
		return apierrors.NewInternalError(fmt.Errorf("cannot mutate %T with %T", a.Object, out))
	}
	dst.Elem().Set(src.Elem())
	return nil
}

// raw encodes obj for a review (nil stays empty), in version when that
// is not the resource's own.
func raw(obj runtime.Object, a *registry.Attributes, version string) (runtime.RawExtension, error) {
	if obj == nil || reflect.ValueOf(obj).IsNil() {
		return runtime.RawExtension{}, nil
	}
	if a != nil && obj.GetObjectKind().GroupVersionKind().Empty() {
		obj.GetObjectKind().SetGroupVersionKind(a.Resource.GVK())
	}
	b, err := json.Marshal(obj)
	if err == nil && a != nil && version != "" && version != a.Resource.Version {
		gv := a.Resource.Group + "/" + version
		if a.Resource.Group == "" {
			gv = version
		}
		b, err = withAPIVersion(b, gv)
	}
	return runtime.RawExtension{Raw: b}, err
}

// withAPIVersion rewrites the apiVersion of an encoded object.
func withAPIVersion(b []byte, apiVersion string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["apiVersion"] = apiVersion
	return json.Marshal(m)
}

// convertible reports whether a's objects can be shown in another version:
// custom resources are (their versions differ by apiVersion only).
func convertible(a *registry.Attributes) bool {
	return a.Resource.Custom
}
