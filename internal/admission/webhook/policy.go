package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	celgo "github.com/google/cel-go/cel"
	celtypes "github.com/google/cel-go/common/types"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/audit"
	"github.com/kastle-dev/kastle/internal/registry"
)

// ParamResolver reads the parameter objects of a policy binding: by name
// (sel nil) or by label selector, in namespace ns ("" for cluster-scoped
// kinds). A kind the server does not serve is an error.
type ParamResolver interface {
	Params(ctx context.Context, apiVersion, kind, ns, name string, sel labels.Selector) ([]runtime.Object, bool, error)
}

// compiledPolicy is one ValidatingAdmissionPolicy ready to evaluate.
type compiledPolicy struct {
	p                               *admissionregistrationv1.ValidatingAdmissionPolicy
	validations, messages, auditAns plugincel.ConditionEvaluator
	matcher                         matchconditions.Matcher
	nsSel, objSel                   *selector
	failurePolicy                   admissionregistrationv1.FailurePolicyType
}

// policySet maps policy names to compiled policies.
type policySet map[string]*compiledPolicy

// compilePolicies compiles ValidatingAdmissionPolicies with upstream's
// compiler: variables, validations, messageExpressions, audit annotations
// and match conditions share one composition environment.
func compilePolicies(objs []runtime.Object) policySet {
	out := policySet{}
	for _, o := range objs {
		p, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicy)
		if !ok {
			continue
		}
		cp := compilePolicy(p)
		if m := p.Spec.MatchConstraints; m != nil {
			cp.nsSel, _ = compileSelector(m.NamespaceSelector)
			cp.objSel, _ = compileSelector(m.ObjectSelector)
		}
		out[p.Name] = cp
	}
	return out
}

// Expression accessors of a policy's parts.
type (
	validationExpr struct {
		admissionregistrationv1.Validation
	}
	messageExpr struct{ expr string }
	auditExpr   struct {
		admissionregistrationv1.AuditAnnotation
	}
	variableExpr struct {
		admissionregistrationv1.Variable
	}
)

func (v *validationExpr) GetExpression() string      { return v.Expression }
func (v *validationExpr) ReturnTypes() []*celgo.Type { return []*celgo.Type{celgo.BoolType} }
func (m *messageExpr) GetExpression() string         { return m.expr }
func (m *messageExpr) ReturnTypes() []*celgo.Type    { return []*celgo.Type{celgo.StringType} }
func (a *auditExpr) GetExpression() string           { return a.ValueExpression }
func (a *auditExpr) ReturnTypes() []*celgo.Type {
	return []*celgo.Type{celgo.StringType, celgo.NullType}
}
func (v *variableExpr) GetExpression() string { return v.Expression }
func (v *variableExpr) ReturnTypes() []*celgo.Type {
	return []*celgo.Type{celgo.AnyType, celgo.DynType}
}
func (v *variableExpr) GetName() string { return v.Name }

func compilePolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy) *compiledPolicy {
	cp := &compiledPolicy{p: p, failurePolicy: admissionregistrationv1.Fail}
	if p.Spec.FailurePolicy != nil {
		cp.failurePolicy = *p.Spec.FailurePolicy
	}
	hasParams := p.Spec.ParamKind != nil
	opts := plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}
	msgOpts := plugincel.OptionalVariableDeclarations{HasParams: hasParams}
	c, err := plugincel.NewCompositedCompiler(celEnv())
	if err != nil {
		return cp
	}
	vars := make([]plugincel.NamedExpressionAccessor, len(p.Spec.Variables))
	for i := range p.Spec.Variables {
		vars[i] = &variableExpr{p.Spec.Variables[i]}
	}
	c.CompileAndStoreVariables(vars, opts, environment.StoredExpressions)
	vals := make([]plugincel.ExpressionAccessor, len(p.Spec.Validations))
	msgs := make([]plugincel.ExpressionAccessor, len(p.Spec.Validations))
	for i, v := range p.Spec.Validations {
		vals[i] = &validationExpr{v}
		if v.MessageExpression != "" {
			msgs[i] = &messageExpr{v.MessageExpression}
		}
	}
	auds := make([]plugincel.ExpressionAccessor, len(p.Spec.AuditAnnotations))
	for i := range p.Spec.AuditAnnotations {
		auds[i] = &auditExpr{p.Spec.AuditAnnotations[i]}
	}
	if len(p.Spec.MatchConditions) > 0 {
		acc := make([]plugincel.ExpressionAccessor, len(p.Spec.MatchConditions))
		for i := range p.Spec.MatchConditions {
			mc := matchconditions.MatchCondition(p.Spec.MatchConditions[i])
			acc[i] = &mc
		}
		fp := cp.failurePolicy
		cp.matcher = matchconditions.NewMatcher(c.CompileCondition(acc, opts, environment.StoredExpressions), &fp, "policy", "validate", p.Name)
	}
	cp.validations = c.CompileCondition(vals, opts, environment.StoredExpressions)
	cp.messages = c.CompileCondition(msgs, msgOpts, environment.StoredExpressions)
	cp.auditAns = c.CompileCondition(auds, opts, environment.StoredExpressions)
	return cp
}

// decision is one failed validation.
type decision struct {
	index   int
	message string
	reason  metav1.StatusReason
}

// evaluate runs the policy's validations against one parameter object,
// applying failurePolicy to errors as upstream does; it returns the
// failed validations and the audit annotations to publish.
func (cp *compiledPolicy) evaluate(ctx context.Context, v *vattrs, gvr schema.GroupVersionResource, param runtime.Object, ns *corev1.Namespace, az authorizerFor) ([]decision, map[string]string) {
	fail := func(msg string) []decision {
		if cp.failurePolicy == admissionregistrationv1.Ignore {
			return nil
		}
		return []decision{{index: -1, message: msg, reason: metav1.StatusReasonInvalid}}
	}
	if cp.validations == nil {
		return fail("policy could not be compiled"), nil
	}
	if cp.matcher != nil {
		r := cp.matcher.Match(ctx, v.attrs, param, az)
		if r.Error != nil {
			return fail(r.Error.Error()), nil
		}
		if !r.Matches {
			return nil, nil
		}
	}
	req := plugincel.CreateAdmissionRequest(v.attrs.Attributes, metav1.GroupVersionResource(gvr), metav1.GroupVersionKind(v.attrs.VersionedKind))
	bind := plugincel.OptionalVariableBindings{VersionedParams: param, Authorizer: az}
	results, budget, err := cp.validations.ForInput(ctx, v.attrs, req, bind, ns, celconfig.RuntimeCELCostBudget)
	if err != nil {
		return fail(err.Error()), nil
	}
	var out []decision
	var msgResults []plugincel.EvaluationResult
	msgsDone := false
	for i, r := range results {
		val := cp.p.Spec.Validations[i]
		reason := metav1.StatusReasonInvalid
		if val.Reason != nil {
			reason = *val.Reason
		}
		switch {
		case r.Error != nil:
			if cp.failurePolicy == admissionregistrationv1.Ignore {
				continue
			}
			out = append(out, decision{index: i, message: fmt.Sprintf("expression '%s' resulted in error: %v", val.Expression, r.Error), reason: reason})
		case r.EvalResult != celtypes.True:
			msg := val.Message
			if val.MessageExpression != "" {
				if !msgsDone {
					msgsDone = true
					msgResults, _, _ = cp.messages.ForInput(ctx, v.attrs, req, bind, ns, budget)
				}
				if i < len(msgResults) && msgResults[i].Error == nil && msgResults[i].EvalResult != nil {
					if s, ok := msgResults[i].EvalResult.Value().(string); ok && strings.TrimSpace(s) != "" && !strings.Contains(s, "\n") {
						msg = s
					}
				}
			}
			if msg == "" {
				msg = fmt.Sprintf("failed expression: %s", strings.TrimSpace(val.Expression))
			}
			out = append(out, decision{index: i, message: msg, reason: reason})
		}
	}
	var ann map[string]string
	if len(cp.p.Spec.AuditAnnotations) > 0 {
		ares, _, err := cp.auditAns.ForInput(ctx, v.attrs, req, bind, ns, budget)
		if err == nil {
			for i, r := range ares {
				if r.Error != nil || r.EvalResult == nil {
					continue
				}
				if s, ok := r.EvalResult.Value().(string); ok && s != "" {
					if ann == nil {
						ann = map[string]string{}
					}
					ann[cp.p.Spec.AuditAnnotations[i].Key] = s
				}
			}
		}
	}
	return out, ann
}

// bindingSet is the bindings, sorted by name.
type bindingSet []*admissionregistrationv1.ValidatingAdmissionPolicyBinding

// compileBindings keeps the bindings in name order.
func compileBindings(objs []runtime.Object) bindingSet {
	var out bindingSet
	for _, o := range objs {
		if b, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding); ok {
			out = append(out, b)
		}
	}
	return out
}

// PolicyPlugin is the ValidatingAdmissionPolicy plugin.
type PolicyPlugin struct {
	D        *Dispatcher
	Policies *Cache[policySet]
	Bindings *Cache[bindingSet]
	Params   ParamResolver
}

// Admit does nothing: policies only validate.
func (p *PolicyPlugin) Admit(context.Context, *registry.Attributes) error { return nil }

// denial is a policy decision that rejects the request.
type denial struct {
	policy, binding, message string
	reason                   metav1.StatusReason
}

// auditFailure is one entry of the validation_failure audit annotation.
type auditFailure struct {
	Message           string   `json:"message"`
	Policy            string   `json:"policy"`
	Binding           string   `json:"binding"`
	ExpressionIndex   int      `json:"expressionIndex"`
	ValidationActions []string `json:"validationActions"`
}

// Validate evaluates every bound policy that matches a.
func (p *PolicyPlugin) Validate(ctx context.Context, a *registry.Attributes) error {
	if exempt(a) {
		return nil
	}
	bindings, ok := p.Bindings.Ready(ctx)
	if !ok {
		return notReady(a)
	}
	if len(bindings) == 0 {
		return nil
	}
	policies, ok := p.Policies.Ready(ctx)
	if !ok {
		return notReady(a)
	}
	req := requestOf(a)
	va := lazyAttrs(ctx, a)
	var denials []denial
	var failures []auditFailure
	var ns *corev1.Namespace
	nsLoaded := false
	for _, b := range bindings {
		cp, ok := policies[b.Spec.PolicyName]
		if !ok || cp.p.Spec.MatchConstraints == nil {
			continue
		}
		m, err := p.matchResources(ctx, a, req, cp.p.Spec.MatchConstraints, cp.nsSel, cp.objSel)
		if err != nil {
			return err
		}
		if !m {
			continue
		}
		if b.Spec.MatchResources != nil {
			nsSel, err1 := compileSelector(b.Spec.MatchResources.NamespaceSelector)
			objSel, err2 := compileSelector(b.Spec.MatchResources.ObjectSelector)
			if err1 != nil || err2 != nil {
				continue
			}
			if m, err = p.matchResources(ctx, a, req, b.Spec.MatchResources, nsSel, objSel); err != nil {
				return err
			} else if !m {
				continue
			}
		}
		params, err := p.params(ctx, a, cp.p, b)
		if err != nil {
			if cp.p.Spec.FailurePolicy != nil && *cp.p.Spec.FailurePolicy == admissionregistrationv1.Ignore {
				continue
			}
			denials = append(denials, denial{policy: cp.p.Name, binding: b.Name, message: err.Error(), reason: metav1.StatusReasonForbidden})
			continue
		}
		if !nsLoaded && a.Namespace != "" && a.Resource.Namespaced {
			nsLoaded = true
			if obj, err := p.D.Namespaces.Get(ctx, "", a.Namespace, "0"); err == nil {
				ns, _ = obj.(*corev1.Namespace)
			}
		}
		v := va()
		gvr := schema.GroupVersionResource{Group: a.Resource.Group, Version: a.Resource.Version, Resource: a.Resource.Plural}
		for _, param := range params {
			decs, ann := cp.evaluate(ctx, v, gvr, param, ns, authorizerFor{z: p.D.Authorizer, user: v.user})
			for _, d := range decs {
				var acts []string
				for _, act := range b.Spec.ValidationActions {
					acts = append(acts, string(act))
					switch act {
					case admissionregistrationv1.Deny:
						denials = append(denials, denial{policy: cp.p.Name, binding: b.Name, message: d.message, reason: d.reason})
					case admissionregistrationv1.Warn:
						request.AddWarning(ctx, fmt.Sprintf("Validation failed for ValidatingAdmissionPolicy '%s' with binding '%s': %s", cp.p.Name, b.Name, d.message))
					}
				}
				for _, act := range b.Spec.ValidationActions {
					if act == admissionregistrationv1.Audit {
						failures = append(failures, auditFailure{Message: d.message, Policy: cp.p.Name, Binding: b.Name, ExpressionIndex: d.index, ValidationActions: acts})
					}
				}
			}
			for k, val := range ann {
				audit.AddAnnotation(ctx, cp.p.Name+"/"+k, val)
			}
		}
	}
	if len(failures) > 0 {
		if b, err := json.Marshal(failures); err == nil {
			audit.AddAnnotation(ctx, "validation.policy.admission.k8s.io/validation_failure", string(b))
		}
	}
	if len(denials) == 0 {
		return nil
	}
	d := denials[0]
	msg := fmt.Sprintf("ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s", d.policy, d.binding, d.message)
	err := apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, errors.New(msg))
	reason := d.reason
	if reason == "" {
		reason = metav1.StatusReasonInvalid
	}
	err.ErrStatus.Reason = reason
	err.ErrStatus.Code = reasonCode(reason)
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Message: msg})
	return err
}

func reasonCode(r metav1.StatusReason) int32 {
	switch r {
	case metav1.StatusReasonForbidden:
		return http.StatusForbidden
	case metav1.StatusReasonUnauthorized:
		return http.StatusUnauthorized
	case metav1.StatusReasonRequestEntityTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusUnprocessableEntity
}

// matchResources applies a policy's or binding's MatchResources to a.
func (p *PolicyPlugin) matchResources(ctx context.Context, a *registry.Attributes, req reqInfo, m *admissionregistrationv1.MatchResources, nsSel, objSel *selector) (bool, error) {
	if nsSel != nil {
		l, err := p.D.namespaceLabels(ctx, a)
		if err != nil {
			return false, err
		}
		if l != nil && !nsSel.matches(l) {
			return false, nil
		}
	}
	if objSel != nil && !objSel.matches(labelsOf(a.Object)) && !objSel.matches(labelsOf(a.OldObject)) {
		return false, nil
	}
	if namedRulesMatch(m.ExcludeResourceRules, m.MatchPolicy, req, a.Name, p.D.Served) {
		return false, nil
	}
	if len(m.ResourceRules) == 0 {
		return true, nil
	}
	return namedRulesMatch(m.ResourceRules, m.MatchPolicy, req, a.Name, p.D.Served), nil
}

func namedRulesMatch(rules []admissionregistrationv1.NamedRuleWithOperations, mp *admissionregistrationv1.MatchPolicyType, req reqInfo, name string, served KindResolver) bool {
	for i := range rules {
		r := &rules[i]
		if len(r.ResourceNames) > 0 && !listMatches(r.ResourceNames, name) {
			continue
		}
		if _, ok := ruleVersion([]admissionregistrationv1.RuleWithOperations{r.RuleWithOperations}, mp, req, served); ok {
			return true
		}
	}
	return false
}

// params resolves the binding's parameters: [nil] without paramKind; an
// error when they are required and missing.
func (p *PolicyPlugin) params(ctx context.Context, a *registry.Attributes, pol *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) ([]runtime.Object, error) {
	pk := pol.Spec.ParamKind
	if pk == nil {
		return []runtime.Object{nil}, nil
	}
	ref := b.Spec.ParamRef
	if ref == nil {
		return nil, fmt.Errorf("failed to configure binding: paramRef is required when the policy has paramKind")
	}
	if p.Params == nil {
		return nil, fmt.Errorf("failed to configure binding: parameters are not available")
	}
	ns := ref.Namespace
	if ns == "" {
		ns = a.Namespace
	}
	var sel labels.Selector
	if ref.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(ref.Selector)
		if err != nil {
			return nil, fmt.Errorf("failed to configure binding: %v", err)
		}
		sel = s
	}
	objs, namespaced, err := p.Params.Params(ctx, pk.APIVersion, pk.Kind, ns, ref.Name, sel)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("failed to configure binding: %v", err)
	}
	_ = namespaced
	if len(objs) == 0 {
		if ref.ParameterNotFoundAction != nil && *ref.ParameterNotFoundAction == admissionregistrationv1.AllowAction {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction")
	}
	return objs, nil
}
