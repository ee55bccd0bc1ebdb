package validation

import (
	"fmt"
	"net/url"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	celgo "github.com/google/cel-go/cel"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// admissionRegistrationRules returns the rules of the
// admissionregistration.k8s.io/v1 kinds.
func admissionRegistrationRules(obj runtime.Object) (kindRules, bool) {
	switch o := obj.(type) {
	case *admissionregistrationv1.MutatingWebhookConfiguration:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validateMutatingWebhooks(o.Webhooks) }}, true
		}
	case *admissionregistrationv1.ValidatingWebhookConfiguration:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validateValidatingWebhooks(o.Webhooks) }}, true
		}
	case *admissionregistrationv1.ValidatingAdmissionPolicy:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: apivalidation.NameIsDNSSubdomain,
				body:   func() field.ErrorList { return validatePolicySpec(&o.Spec, field.NewPath("spec")) },
				status: func(runtime.Object) field.ErrorList { return nil }}, true
		}
	case *admissionregistrationv1.ValidatingAdmissionPolicyBinding:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validateBindingSpec(&o.Spec, field.NewPath("spec")) }}, true
		}
	}
	return kindRules{}, false
}

// webhookCommon is the part validating and mutating webhooks share.
type webhookCommon struct {
	name                    string
	clientConfig            admissionregistrationv1.WebhookClientConfig
	rules                   []admissionregistrationv1.RuleWithOperations
	failurePolicy           *admissionregistrationv1.FailurePolicyType
	matchPolicy             *admissionregistrationv1.MatchPolicyType
	namespaceSelector       *metav1.LabelSelector
	objectSelector          *metav1.LabelSelector
	sideEffects             *admissionregistrationv1.SideEffectClass
	timeoutSeconds          *int32
	admissionReviewVersions []string
	matchConditions         []admissionregistrationv1.MatchCondition
}

func validateMutatingWebhooks(hooks []admissionregistrationv1.MutatingWebhook) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, w := range hooks {
		p := field.NewPath("webhooks").Index(i)
		errs = append(errs, validateWebhook(webhookCommon{w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy,
			w.NamespaceSelector, w.ObjectSelector, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.MatchConditions}, p, names)...)
		if w.ReinvocationPolicy != nil {
			switch *w.ReinvocationPolicy {
			case admissionregistrationv1.NeverReinvocationPolicy, admissionregistrationv1.IfNeededReinvocationPolicy:
			default:
				errs = append(errs, field.NotSupported(p.Child("reinvocationPolicy"), *w.ReinvocationPolicy,
					[]string{string(admissionregistrationv1.NeverReinvocationPolicy), string(admissionregistrationv1.IfNeededReinvocationPolicy)}))
			}
		}
	}
	return errs
}

func validateValidatingWebhooks(hooks []admissionregistrationv1.ValidatingWebhook) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, w := range hooks {
		p := field.NewPath("webhooks").Index(i)
		errs = append(errs, validateWebhook(webhookCommon{w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy,
			w.NamespaceSelector, w.ObjectSelector, w.SideEffects, w.TimeoutSeconds, w.AdmissionReviewVersions, w.MatchConditions}, p, names)...)
	}
	return errs
}

func validateWebhook(w webhookCommon, p *field.Path, names sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	switch {
	case w.name == "":
		errs = append(errs, field.Required(p.Child("name"), ""))
	default:
		for _, msg := range utilvalidation.IsFullyQualifiedName(field.NewPath(""), w.name) {
			errs = append(errs, field.Invalid(p.Child("name"), w.name, msg.Detail))
		}
		if names.Has(w.name) {
			errs = append(errs, field.Duplicate(p.Child("name"), w.name))
		}
		names.Insert(w.name)
	}
	errs = append(errs, validateClientConfig(w.clientConfig, p.Child("clientConfig"))...)
	for j, r := range w.rules {
		errs = append(errs, validateRuleWithOperations(&r, p.Child("rules").Index(j))...)
	}
	errs = append(errs, validateFailurePolicy(w.failurePolicy, p.Child("failurePolicy"))...)
	errs = append(errs, validateMatchPolicy(w.matchPolicy, p.Child("matchPolicy"))...)
	if w.namespaceSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(w.namespaceSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("namespaceSelector"))...)
	}
	if w.objectSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(w.objectSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("objectSelector"))...)
	}
	switch {
	case w.sideEffects == nil:
		errs = append(errs, field.Required(p.Child("sideEffects"), "must specify one of None, NoneOnDryRun"))
	case *w.sideEffects != admissionregistrationv1.SideEffectClassNone && *w.sideEffects != admissionregistrationv1.SideEffectClassNoneOnDryRun:
		errs = append(errs, field.NotSupported(p.Child("sideEffects"), *w.sideEffects, []string{"None", "NoneOnDryRun"}))
	}
	if w.timeoutSeconds != nil && (*w.timeoutSeconds < 1 || *w.timeoutSeconds > 30) {
		errs = append(errs, field.Invalid(p.Child("timeoutSeconds"), *w.timeoutSeconds, "the timeout value must be between 1 and 30 seconds"))
	}
	errs = append(errs, validateReviewVersions(w.admissionReviewVersions, p.Child("admissionReviewVersions"))...)
	errs = append(errs, validateMatchConditions(w.matchConditions, false, p.Child("matchConditions"))...)
	return errs
}

// reviewVersions are the AdmissionReview versions kastle can speak.
var reviewVersions = []string{"v1", "v1beta1"}

func validateReviewVersions(versions []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(versions) == 0 {
		return field.ErrorList{field.Required(p, fmt.Sprintf("must specify one of %s", strings.Join(reviewVersions, ", ")))}
	}
	seen := sets.New[string]()
	known := false
	for i, v := range versions {
		if seen.Has(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, "duplicate version"))
		}
		seen.Insert(v)
		for _, msg := range utilvalidation.IsDNS1035Label(v) {
			errs = append(errs, field.Invalid(p.Index(i), v, msg))
		}
		if v == "v1" || v == "v1beta1" {
			known = true
		}
	}
	if !known {
		errs = append(errs, field.Invalid(p, versions, fmt.Sprintf("must include at least one of %s", strings.Join(reviewVersions, ", "))))
	}
	return errs
}

func validateClientConfig(cc admissionregistrationv1.WebhookClientConfig, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case cc.URL == nil && cc.Service == nil:
		errs = append(errs, field.Required(p, "exactly one of url or service is required"))
	case cc.URL != nil && cc.Service != nil:
		errs = append(errs, field.Required(p, "exactly one of url or service is required"))
	case cc.URL != nil:
		errs = append(errs, validateWebhookURL(*cc.URL, p.Child("url"))...)
	default:
		s := cc.Service
		sp := p.Child("service")
		if s.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), "service name is required"))
		}
		if s.Namespace == "" {
			errs = append(errs, field.Required(sp.Child("namespace"), "service namespace is required"))
		}
		if s.Path != nil {
			switch {
			case !strings.HasPrefix(*s.Path, "/"):
				errs = append(errs, field.Invalid(sp.Child("path"), *s.Path, "must start with a '/'"))
			case strings.ContainsAny(*s.Path, "?#"):
				errs = append(errs, field.Invalid(sp.Child("path"), *s.Path, "must not contain a query or fragment"))
			}
		}
		if s.Port != nil {
			for _, msg := range utilvalidation.IsValidPortNum(int(*s.Port)) {
				errs = append(errs, field.Invalid(sp.Child("port"), *s.Port, msg))
			}
		}
	}
	return errs
}

func validateWebhookURL(raw string, p *field.Path) field.ErrorList {
	u, err := url.Parse(raw)
	if err != nil {
		return field.ErrorList{field.Invalid(p, raw, "url must be a valid URL: "+err.Error())}
	}
	var errs field.ErrorList
	if u.Scheme != "https" {
		errs = append(errs, field.Invalid(p, raw, "'https' is the only allowed URL scheme"))
	}
	if u.Host == "" {
		errs = append(errs, field.Invalid(p, raw, "host must be specified"))
	}
	if u.User != nil {
		errs = append(errs, field.Invalid(p, "<redacted>", "user information is not permitted in the URL"))
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		errs = append(errs, field.Invalid(p, raw, "fragments are not permitted in the URL"))
	}
	if u.RawQuery != "" || u.ForceQuery {
		errs = append(errs, field.Invalid(p, raw, "query parameters are not permitted in the URL"))
	}
	return errs
}

var supportedOperations = []string{"*", "CREATE", "UPDATE", "DELETE", "CONNECT"}

func validateRuleWithOperations(r *admissionregistrationv1.RuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(r.Operations) == 0 {
		errs = append(errs, field.Required(p.Child("operations"), ""))
	}
	if len(r.Operations) > 1 && hasWildcard(opsAsStrings(r.Operations)) {
		errs = append(errs, field.Invalid(p.Child("operations"), r.Operations, "if '*' is present, must not specify other operations"))
	}
	for i, op := range r.Operations {
		if !sets.New(supportedOperations...).Has(string(op)) {
			errs = append(errs, field.NotSupported(p.Child("operations").Index(i), op, supportedOperations))
		}
	}
	return append(errs, validateRule(&r.Rule, p, true)...)
}

func opsAsStrings(ops []admissionregistrationv1.OperationType) []string {
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = string(o)
	}
	return out
}

func hasWildcard(s []string) bool {
	for _, v := range s {
		if v == "*" {
			return true
		}
	}
	return false
}

// validateRule checks apiGroups, apiVersions, resources and scope as
// upstream does: '*' alone, resources as "res", "res/sub", "*/sub", "res/*".
func validateRule(r *admissionregistrationv1.Rule, p *field.Path, requireLists bool) field.ErrorList {
	var errs field.ErrorList
	check := func(name string, vals []string, allowEmptyString bool) {
		fp := p.Child(name)
		if len(vals) == 0 && requireLists {
			errs = append(errs, field.Required(fp, ""))
		}
		if len(vals) > 1 && hasWildcard(vals) {
			errs = append(errs, field.Invalid(fp, vals, "if '*' is present, must not specify other "+name))
		}
		for i, v := range vals {
			if v == "" && !allowEmptyString {
				errs = append(errs, field.Required(fp.Index(i), ""))
			}
		}
	}
	check("apiGroups", r.APIGroups, true)
	check("apiVersions", r.APIVersions, false)
	check("resources", r.Resources, false)
	// "*/*" conflicts with everything; "res/*" with "res/sub".
	res := sets.New[string]()
	subs := map[string]bool{}
	for i, v := range r.Resources {
		fp := p.Child("resources").Index(i)
		if res.Has(v) {
			errs = append(errs, field.Duplicate(fp, v))
		}
		res.Insert(v)
		parts := strings.SplitN(v, "/", 2)
		if len(parts) == 2 && parts[1] == "" {
			errs = append(errs, field.Invalid(fp, v, "subresource must not be empty"))
		}
		if len(parts) == 2 {
			subs[parts[1]] = true
		}
	}
	if len(r.Resources) > 1 && res.Has("*/*") {
		errs = append(errs, field.Invalid(p.Child("resources"), r.Resources, "if '*/*' is present, must not specify other resources"))
	}
	if r.Scope != nil {
		switch *r.Scope {
		case admissionregistrationv1.ClusterScope, admissionregistrationv1.NamespacedScope, admissionregistrationv1.AllScopes:
		default:
			errs = append(errs, field.NotSupported(p.Child("scope"), *r.Scope, []string{"Cluster", "Namespaced", "*"}))
		}
	}
	return errs
}

func validateFailurePolicy(fp *admissionregistrationv1.FailurePolicyType, p *field.Path) field.ErrorList {
	if fp != nil && *fp != admissionregistrationv1.Fail && *fp != admissionregistrationv1.Ignore {
		return field.ErrorList{field.NotSupported(p, *fp, []string{"Fail", "Ignore"})}
	}
	return nil
}

func validateMatchPolicy(mp *admissionregistrationv1.MatchPolicyType, p *field.Path) field.ErrorList {
	if mp != nil && *mp != admissionregistrationv1.Exact && *mp != admissionregistrationv1.Equivalent {
		return field.ErrorList{field.NotSupported(p, *mp, []string{"Exact", "Equivalent"})}
	}
	return nil
}

// maxMatchConditions is upstream's limit per webhook or policy.
const maxMatchConditions = 64

func validateMatchConditions(conds []admissionregistrationv1.MatchCondition, hasParams bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(conds) > maxMatchConditions {
		errs = append(errs, field.TooMany(p, len(conds), maxMatchConditions))
	}
	names := sets.New[string]()
	for i, c := range conds {
		cp := p.Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(cp.Child("name"), ""))
		default:
			for _, msg := range utilvalidation.IsQualifiedName(c.Name) {
				errs = append(errs, field.Invalid(cp.Child("name"), c.Name, msg))
			}
			if names.Has(c.Name) {
				errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
			}
			names.Insert(c.Name)
		}
		if c.Expression == "" {
			errs = append(errs, field.Required(cp.Child("expression"), ""))
			continue
		}
		errs = append(errs, compileCheck(nil, celExpr{c.Expression, celgo.BoolType},
			plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}, cp.Child("expression"))...)
	}
	return errs
}

// celExpr is one expression with its expected result type.
type celExpr struct {
	expr string
	ret  *celgo.Type
}

func (c celExpr) GetExpression() string      { return c.expr }
func (c celExpr) ReturnTypes() []*celgo.Type { return []*celgo.Type{c.ret} }

// namedExpr is a policy variable.
type namedExpr struct {
	celExpr
	name string
}

func (n namedExpr) GetName() string { return n.name }

var (
	baseEnvOnce sync.Once
	baseEnv     *environment.EnvSet
)

// celEnv is upstream's base environment at the default compatibility
// version: the same libraries and cost limits as kube-apiserver.
func celEnv() *environment.EnvSet {
	baseEnvOnce.Do(func() { baseEnv = environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()) })
	return baseEnv
}

// compileCheck compiles one expression (with the given compiler, whose
// variables are in scope, or a fresh one) and reports a compile or type
// error at p.
func compileCheck(c *plugincel.CompositedCompiler, e celExpr, opts plugincel.OptionalVariableDeclarations, p *field.Path) field.ErrorList {
	if c == nil {
		var err error
		if c, err = plugincel.NewCompositedCompiler(celEnv()); err != nil {
			return field.ErrorList{field.InternalError(p, err)}
		}
	}
	res := c.CompileCELExpression(e, opts, environment.NewExpressions)
	if res.Error != nil {
		return field.ErrorList{field.Invalid(p, e.expr, "compilation failed: "+res.Error.Detail)}
	}
	return nil
}

var (
	validationActions = []string{"Deny", "Warn", "Audit"}
	reasons           = []string{"Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge"}
)

func validatePolicySpec(s *admissionregistrationv1.ValidatingAdmissionPolicySpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateFailurePolicy(s.FailurePolicy, p.Child("failurePolicy"))...)
	hasParams := s.ParamKind != nil
	if s.ParamKind != nil {
		pk := p.Child("paramKind")
		if s.ParamKind.APIVersion == "" {
			errs = append(errs, field.Required(pk.Child("apiVersion"), ""))
		}
		if s.ParamKind.Kind == "" {
			errs = append(errs, field.Required(pk.Child("kind"), ""))
		}
	}
	if s.MatchConstraints == nil {
		errs = append(errs, field.Required(p.Child("matchConstraints"), ""))
	} else {
		errs = append(errs, validateMatchResources(s.MatchConstraints, p.Child("matchConstraints"), true)...)
	}
	if len(s.Validations) == 0 && len(s.AuditAnnotations) == 0 {
		errs = append(errs, field.Required(p.Child("validations"), "validations or auditAnnotations must contain at least one item"))
	}
	errs = append(errs, validateMatchConditions(s.MatchConditions, hasParams, p.Child("matchConditions"))...)
	c, err := plugincel.NewCompositedCompiler(celEnv())
	if err != nil {
		return append(errs, field.InternalError(p, err))
	}
	opts := plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true}
	varNames := sets.New[string]()
	for i, v := range s.Variables {
		vp := p.Child("variables").Index(i)
		if v.Name == "" {
			errs = append(errs, field.Required(vp.Child("name"), ""))
		} else if !isCELIdentifier(v.Name) {
			errs = append(errs, field.Invalid(vp.Child("name"), v.Name, "name is not a valid CEL identifier"))
		} else if varNames.Has(v.Name) {
			errs = append(errs, field.Duplicate(vp.Child("name"), v.Name))
		}
		varNames.Insert(v.Name)
		if v.Expression == "" {
			errs = append(errs, field.Required(vp.Child("expression"), ""))
			continue
		}
		res := c.CompileAndStoreVariable(namedExpr{celExpr{v.Expression, celgo.AnyType}, v.Name}, opts, environment.NewExpressions)
		if res.Error != nil {
			errs = append(errs, field.Invalid(vp.Child("expression"), v.Expression, "compilation failed: "+res.Error.Detail))
		}
	}
	for i, v := range s.Validations {
		vp := p.Child("validations").Index(i)
		if strings.TrimSpace(v.Expression) == "" {
			errs = append(errs, field.Required(vp.Child("expression"), "expression is not specified"))
		} else {
			errs = append(errs, compileCheck(c, celExpr{v.Expression, celgo.BoolType}, opts, vp.Child("expression"))...)
		}
		if v.MessageExpression != "" {
			mopts := opts
			mopts.HasAuthorizer = false
			errs = append(errs, compileCheck(c, celExpr{v.MessageExpression, celgo.StringType}, mopts, vp.Child("messageExpression"))...)
		}
		if strings.Contains(v.Message, "\n") {
			errs = append(errs, field.Invalid(vp.Child("message"), v.Message, "message must not contain line breaks"))
		}
		if v.Reason != nil && !sets.New(reasons...).Has(string(*v.Reason)) {
			errs = append(errs, field.NotSupported(vp.Child("reason"), *v.Reason, reasons))
		}
	}
	keys := sets.New[string]()
	for i, a := range s.AuditAnnotations {
		ap := p.Child("auditAnnotations").Index(i)
		if a.Key == "" {
			errs = append(errs, field.Required(ap.Child("key"), ""))
		} else {
			for _, msg := range utilvalidation.IsQualifiedName(a.Key) {
				errs = append(errs, field.Invalid(ap.Child("key"), a.Key, msg))
			}
			if keys.Has(a.Key) {
				errs = append(errs, field.Duplicate(ap.Child("key"), a.Key))
			}
			keys.Insert(a.Key)
		}
		if a.ValueExpression == "" {
			errs = append(errs, field.Required(ap.Child("valueExpression"), ""))
			continue
		}
		// A value expression returns a string or null (no annotation).
		res := c.CompileCELExpression(celExpr{a.ValueExpression, celgo.StringType}, opts, environment.NewExpressions)
		if res.Error != nil {
			errs = append(errs, field.Invalid(ap.Child("valueExpression"), a.ValueExpression, "compilation failed: "+res.Error.Detail))
		}
	}
	return errs
}

func isCELIdentifier(s string) bool {
	for i, r := range s {
		ok := r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || (i > 0 && '0' <= r && r <= '9')
		if !ok {
			return false
		}
	}
	return s != ""
}

func validateMatchResources(m *admissionregistrationv1.MatchResources, p *field.Path, requireRules bool) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, validateMatchPolicy(m.MatchPolicy, p.Child("matchPolicy"))...)
	if m.NamespaceSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(m.NamespaceSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("namespaceSelector"))...)
	}
	if m.ObjectSelector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(m.ObjectSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("objectSelector"))...)
	}
	if requireRules && len(m.ResourceRules) == 0 {
		errs = append(errs, field.Required(p.Child("resourceRules"), ""))
	}
	for i := range m.ResourceRules {
		errs = append(errs, validateNamedRule(&m.ResourceRules[i], p.Child("resourceRules").Index(i))...)
	}
	for i := range m.ExcludeResourceRules {
		errs = append(errs, validateNamedRule(&m.ExcludeResourceRules[i], p.Child("excludeResourceRules").Index(i))...)
	}
	return errs
}

func validateNamedRule(r *admissionregistrationv1.NamedRuleWithOperations, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, n := range r.ResourceNames {
		for _, msg := range apivalidation.NameIsDNSSubdomain(n, false) {
			errs = append(errs, field.Invalid(p.Child("resourceNames").Index(i), n, msg))
		}
	}
	return append(errs, validateRuleWithOperations(&r.RuleWithOperations, p)...)
}

func validateBindingSpec(s *admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.PolicyName == "" {
		errs = append(errs, field.Required(p.Child("policyName"), ""))
	} else {
		for _, msg := range apivalidation.NameIsDNSSubdomain(s.PolicyName, false) {
			errs = append(errs, field.Invalid(p.Child("policyName"), s.PolicyName, msg))
		}
	}
	if s.MatchResources != nil {
		errs = append(errs, validateMatchResources(s.MatchResources, p.Child("matchResources"), false)...)
	}
	if s.ParamRef != nil {
		rp := p.Child("paramRef")
		if s.ParamRef.Name != "" && s.ParamRef.Selector != nil {
			errs = append(errs, field.Forbidden(rp.Child("name"), "name and selector are mutually exclusive"))
		}
		if s.ParamRef.Name == "" && s.ParamRef.Selector == nil {
			errs = append(errs, field.Required(rp, "one of name or selector must be specified"))
		}
		if s.ParamRef.ParameterNotFoundAction == nil {
			errs = append(errs, field.Required(rp.Child("parameterNotFoundAction"), ""))
		} else if a := *s.ParamRef.ParameterNotFoundAction; a != admissionregistrationv1.AllowAction && a != admissionregistrationv1.DenyAction {
			errs = append(errs, field.NotSupported(rp.Child("parameterNotFoundAction"), a, []string{"Allow", "Deny"}))
		}
	}
	ap := p.Child("validationActions")
	if len(s.ValidationActions) == 0 {
		errs = append(errs, field.Required(ap, ""))
	}
	seen := sets.New[string]()
	for i, a := range s.ValidationActions {
		if seen.Has(string(a)) {
			errs = append(errs, field.Duplicate(ap.Index(i), a))
		}
		seen.Insert(string(a))
		if !sets.New(validationActions...).Has(string(a)) {
			errs = append(errs, field.NotSupported(ap.Index(i), a, validationActions))
		}
	}
	if seen.Has("Deny") && seen.Has("Warn") {
		errs = append(errs, field.Invalid(ap, s.ValidationActions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	return errs
}
