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
	apiservercel "k8s.io/apiserver/pkg/cel"
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
	p *admissionregistrationv1.ValidatingAdmissionPolicy
	// comp holds the policy's variables; nil when the CEL environment
	// could not be built (the policy then fails per failurePolicy).
	comp *plugincel.CompositedCompiler
	// noVariables is the shared, empty variables map of a policy without
	// variables; nil when the policy has some.
	noVariables                                 any
	validations, messages, auditAns, matchConds []plugincel.CompilationResult
	hasMessages                                 bool
	nsSel, objSel                               *selector
	failurePolicy                               admissionregistrationv1.FailurePolicyType
}

// policySet maps policy names to compiled policies.
type policySet map[string]*compiledPolicy

// compilePolicies compiles ValidatingAdmissionPolicies with upstream's
// compiler: variables, validations, messageExpressions, audit annotations
// and match conditions share one composition environment.
func compilePolicies(objs []runtime.Object) policySet { return recompilePolicies(nil, objs) }

// policyCompiler is the policy cache's compile function: it keeps the
// previous set so that a policy is compiled once per generation, not again
// whenever any policy changes (or its status is written).
func policyCompiler() func([]runtime.Object) policySet {
	var prev policySet
	return func(objs []runtime.Object) policySet {
		prev = recompilePolicies(prev, objs)
		return prev
	}
}

// recompilePolicies compiles objs, reusing prev's entries whose UID and
// generation (bumped on every spec change) are unchanged.
func recompilePolicies(prev policySet, objs []runtime.Object) policySet {
	out := policySet{}
	for _, o := range objs {
		p, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicy)
		if !ok {
			continue
		}
		if old, ok := prev[p.Name]; ok && p.Generation != 0 && old.p.UID == p.UID && old.p.Generation == p.Generation {
			out[p.Name] = old
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
	cp.comp = c
	vars := make([]plugincel.NamedExpressionAccessor, len(p.Spec.Variables))
	for i := range p.Spec.Variables {
		vars[i] = &variableExpr{p.Spec.Variables[i]}
	}
	c.CompileAndStoreVariables(vars, opts, environment.StoredExpressions)
	if len(vars) == 0 {
		cp.noVariables = c.CreateContext(context.Background()).Variables(nil)
	}
	compile := func(e plugincel.ExpressionAccessor, o plugincel.OptionalVariableDeclarations) plugincel.CompilationResult {
		return c.CompileCELExpression(e, o, environment.StoredExpressions)
	}
	cp.validations = make([]plugincel.CompilationResult, len(p.Spec.Validations))
	cp.messages = make([]plugincel.CompilationResult, len(p.Spec.Validations))
	for i, v := range p.Spec.Validations {
		cp.validations[i] = compile(&validationExpr{v}, opts)
		if v.MessageExpression != "" {
			cp.messages[i] = compile(&messageExpr{v.MessageExpression}, msgOpts)
			cp.hasMessages = true
		}
	}
	cp.auditAns = make([]plugincel.CompilationResult, len(p.Spec.AuditAnnotations))
	for i := range p.Spec.AuditAnnotations {
		cp.auditAns[i] = compile(&auditExpr{p.Spec.AuditAnnotations[i]}, opts)
	}
	cp.matchConds = make([]plugincel.CompilationResult, len(p.Spec.MatchConditions))
	for i := range p.Spec.MatchConditions {
		mc := matchconditions.MatchCondition(p.Spec.MatchConditions[i])
		cp.matchConds[i] = compile(&mc, opts)
	}
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
// failed validations and the audit annotations to publish. in is the
// request's CEL input, shared with every other policy.
func (cp *compiledPolicy) evaluate(ctx context.Context, in *celInput, param runtime.Object) ([]decision, map[string]string) {
	fail := func(err error) []decision {
		if cp.unlessIgnored(err) == nil {
			return nil
		}
		return []decision{{index: -1, message: err.Error(), reason: metav1.StatusReasonInvalid}}
	}
	if cp.comp == nil {
		return fail(errors.New("policy could not be compiled")), nil
	}
	pv := paramsVal(param)
	if len(cp.matchConds) > 0 {
		if ok, err := cp.matchConditions(ctx, in, pv); err != nil {
			return fail(err), nil
		} else if !ok {
			return nil, nil
		}
	}
	results, budget, err := cp.evalList(ctx, in, phaseValidation, pv, cp.validations, celconfig.RuntimeCELCostBudget)
	if err != nil {
		return fail(err), nil
	}
	// Upstream evaluates every messageExpression with what budget is left,
	// whether its validation failed or not.
	var msgResults []plugincel.EvaluationResult
	var msgErr error
	if cp.hasMessages {
		msgResults, _, msgErr = cp.evalList(ctx, in, phaseMessage, pv, cp.messages, budget)
	}
	var out []decision
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
			out = append(out, decision{index: i, message: r.Error.Error(), reason: reason})
		case errors.Is(msgErr, apiservercel.ErrInternal) || errors.Is(msgErr, apiservercel.ErrOutOfBudget):
			if cp.failurePolicy == admissionregistrationv1.Ignore {
				continue
			}
			out = append(out, decision{index: i, message: fmt.Sprintf("failed messageExpression: %s", msgErr), reason: reason})
		case r.EvalResult != celtypes.True:
			out = append(out, decision{index: i, message: failureMessage(val, msgResults, i), reason: reason})
		}
	}
	var ann map[string]string
	if len(cp.auditAns) > 0 {
		ares, _, err := cp.evalList(ctx, in, phaseAudit, pv, cp.auditAns, celconfig.RuntimeCELCostBudget)
		if err == nil {
			for i, r := range ares {
				if r.Error != nil || r.EvalResult == nil {
					continue
				}
				if s, ok := r.EvalResult.Value().(string); ok && strings.TrimSpace(s) != "" {
					if ann == nil {
						ann = map[string]string{}
					}
					ann[cp.p.Spec.AuditAnnotations[i].Key] = strings.TrimSpace(s)
				}
			}
		}
	}
	return out, ann
}

// failureMessage is the message of failed validation i: its
// messageExpression's result when that is a usable one-line string, else
// its message, else the expression itself.
func failureMessage(val admissionregistrationv1.Validation, msgResults []plugincel.EvaluationResult, i int) string {
	if i < len(msgResults) && msgResults[i].Error == nil && msgResults[i].EvalResult != nil {
		if s, ok := msgResults[i].EvalResult.Value().(string); ok {
			s = strings.TrimSpace(s)
			if s != "" && len(s) <= celconfig.MaxEvaluatedMessageExpressionSizeBytes && !strings.Contains(s, "\n") {
				return s
			}
		}
	}
	if m := strings.TrimSpace(val.Message); m != "" {
		return m
	}
	return fmt.Sprintf("failed expression: %s", strings.TrimSpace(val.Expression))
}

// compiledBinding is a binding with its selectors parsed once.
type compiledBinding struct {
	b             *admissionregistrationv1.ValidatingAdmissionPolicyBinding
	nsSel, objSel *selector
	// badSelector marks a binding whose selectors do not parse: it never
	// matches (validation refuses such bindings; this guards old data).
	badSelector bool
}

// bindingSet is the bindings, sorted by name.
type bindingSet []*compiledBinding

// compileBindings keeps the bindings in name order.
func compileBindings(objs []runtime.Object) bindingSet {
	var out bindingSet
	for _, o := range objs {
		b, ok := o.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
		if !ok {
			continue
		}
		cb := &compiledBinding{b: b}
		if m := b.Spec.MatchResources; m != nil {
			var err1, err2 error
			cb.nsSel, err1 = compileSelector(m.NamespaceSelector)
			cb.objSel, err2 = compileSelector(m.ObjectSelector)
			cb.badSelector = err1 != nil || err2 != nil
		}
		out = append(out, cb)
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
	var in *celInput
	var inErr error
	var denials []denial
	var failures []auditFailure
	for _, cb := range bindings {
		b := cb.b
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
			if cb.badSelector {
				continue
			}
			if m, err = p.matchResources(ctx, a, req, b.Spec.MatchResources, cb.nsSel, cb.objSel); err != nil {
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
		if in == nil && inErr == nil && len(params) > 0 {
			in, inErr = p.celInput(ctx, a)
		}
		for _, param := range params {
			var decs []decision
			var ann map[string]string
			if inErr != nil {
				if err := cp.unlessIgnored(inErr); err != nil {
					decs = []decision{{index: -1, message: err.Error(), reason: metav1.StatusReasonInvalid}}
				}
			} else {
				decs, ann = cp.evaluate(ctx, in, param)
			}
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

// celInput builds the request's CEL input once for all policies: the
// object and old object, the request, the namespace object (read from
// the watch cache) and the authorizer.
func (p *PolicyPlugin) celInput(ctx context.Context, a *registry.Attributes) (*celInput, error) {
	var ns *corev1.Namespace
	if a.Namespace != "" && a.Resource.Namespaced {
		if obj, err := p.D.Namespaces.Get(ctx, "", a.Namespace, "0"); err == nil {
			ns, _ = obj.(*corev1.Namespace)
		}
	}
	v := lazyAttrs(ctx, a)()
	gvr := schema.GroupVersionResource{Group: a.Resource.Group, Version: a.Resource.Version, Resource: a.Resource.Plural}
	return newCELInput(v, gvr, ns, authorizerFor{z: p.D.Authorizer, user: v.user})
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

// noParams is the parameter list of a policy without paramKind: one nil
// object. Shared; callers only read it.
var noParams = []runtime.Object{nil}

// params resolves the binding's parameters: [nil] without paramKind; an
// error when they are required and missing.
func (p *PolicyPlugin) params(ctx context.Context, a *registry.Attributes, pol *admissionregistrationv1.ValidatingAdmissionPolicy, b *admissionregistrationv1.ValidatingAdmissionPolicyBinding) ([]runtime.Object, error) {
	pk := pol.Spec.ParamKind
	if pk == nil {
		return noParams, nil
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
