package validation

import (
	"fmt"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
)

// Flow-control limits of kube-apiserver.
const (
	maxMatchingPrecedence = 10000
	maxQueues             = 512
	maxHandSize           = 100
)

var (
	distinguisherTypes = []flowcontrolv1.FlowDistinguisherMethodType{flowcontrolv1.FlowDistinguisherMethodByNamespaceType, flowcontrolv1.FlowDistinguisherMethodByUserType}
	subjectKinds       = []flowcontrolv1.SubjectKind{flowcontrolv1.SubjectKindGroup, flowcontrolv1.SubjectKindServiceAccount, flowcontrolv1.SubjectKindUser}
	levelTypes         = []flowcontrolv1.PriorityLevelEnablement{flowcontrolv1.PriorityLevelEnablementExempt, flowcontrolv1.PriorityLevelEnablementLimited}
	limitTypes         = []flowcontrolv1.LimitResponseType{flowcontrolv1.LimitResponseTypeQueue, flowcontrolv1.LimitResponseTypeReject}
)

// mandatoryFlowSchema returns the fixed spec of a mandatory schema
// ("exempt", "catch-all"), or nil.
func mandatoryFlowSchema(name string) *flowcontrolv1.FlowSchema {
	for _, fs := range bootstrap.MandatoryFlowSchemas {
		if fs.Name == name {
			return fs
		}
	}
	return nil
}

func validateFlowSchema(fs *flowcontrolv1.FlowSchema) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if m := mandatoryFlowSchema(fs.Name); m != nil && !apiequality.Semantic.DeepEqual(fs.Spec, m.Spec) {
		errs = append(errs, field.Invalid(spec, fs.Spec, fmt.Sprintf("spec of '%s' must equal the fixed value", fs.Name)))
	}
	mp := spec.Child("matchingPrecedence")
	switch {
	case fs.Spec.MatchingPrecedence <= 0:
		errs = append(errs, field.Invalid(mp, fs.Spec.MatchingPrecedence, "must be a positive value"))
	case fs.Spec.MatchingPrecedence > maxMatchingPrecedence:
		errs = append(errs, field.Invalid(mp, fs.Spec.MatchingPrecedence, fmt.Sprintf("must not be greater than %v", maxMatchingPrecedence)))
	}
	if d := fs.Spec.DistinguisherMethod; d != nil && d.Type != flowcontrolv1.FlowDistinguisherMethodByUserType && d.Type != flowcontrolv1.FlowDistinguisherMethodByNamespaceType {
		errs = append(errs, field.NotSupported(spec.Child("distinguisherMethod", "type"), d.Type, distinguisherTypes))
	}
	plp := spec.Child("priorityLevelConfiguration", "name")
	if n := fs.Spec.PriorityLevelConfiguration.Name; n == "" {
		errs = append(errs, field.Required(plp, "must reference a priority level"))
	} else {
		errs = append(errs, invalidMsgs(plp, n, path.IsValidPathSegmentName(n))...)
	}
	for i, r := range fs.Spec.Rules {
		errs = append(errs, validatePolicyRules(r, spec.Child("rules").Index(i))...)
	}
	return errs
}

// validatePolicyRules: at least one subject, and at least one resource or
// non-resource rule, each listing its verbs and what it matches.
func validatePolicyRules(r flowcontrolv1.PolicyRulesWithSubjects, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(r.Subjects) == 0 {
		errs = append(errs, field.Required(p.Child("subjects"), "subjects must contain at least one value"))
	}
	for i, s := range r.Subjects {
		errs = append(errs, validateFlowSubject(s, p.Child("subjects").Index(i))...)
	}
	if len(r.ResourceRules) == 0 && len(r.NonResourceRules) == 0 {
		errs = append(errs, field.Required(p, "at least one of resourceRules and nonResourceRules has to be non-empty"))
	}
	for i, rr := range r.ResourceRules {
		rp := p.Child("resourceRules").Index(i)
		for name, vals := range map[string][]string{"verbs": rr.Verbs, "apiGroups": rr.APIGroups, "resources": rr.Resources} {
			if len(vals) == 0 {
				errs = append(errs, field.Required(rp.Child(name), name+" must contain at least one value"))
			} else if len(vals) > 1 && hasString(vals, "*") {
				errs = append(errs, field.Invalid(rp.Child(name), vals, "if '*' is present, must not specify other "+name))
			}
		}
		if len(rr.Namespaces) == 0 && !rr.ClusterScope {
			errs = append(errs, field.Required(rp.Child("namespaces"), "resource rules that are not cluster scoped must supply at least one namespace"))
		}
	}
	for i, nr := range r.NonResourceRules {
		np := p.Child("nonResourceRules").Index(i)
		if len(nr.Verbs) == 0 {
			errs = append(errs, field.Required(np.Child("verbs"), "verbs must contain at least one value"))
		}
		if len(nr.NonResourceURLs) == 0 {
			errs = append(errs, field.Required(np.Child("nonResourceURLs"), "nonResourceURLs must contain at least one value"))
		}
	}
	return errs
}

func hasString(vals []string, s string) bool {
	for _, v := range vals {
		if v == s {
			return true
		}
	}
	return false
}

func validateFlowSubject(s flowcontrolv1.Subject, p *field.Path) field.ErrorList {
	switch s.Kind {
	case flowcontrolv1.SubjectKindUser:
		if s.User == nil {
			return field.ErrorList{field.Required(p.Child("user"), "user is required when subject kind is 'User'")}
		} else if s.User.Name == "" {
			return field.ErrorList{field.Required(p.Child("user", "name"), "")}
		}
	case flowcontrolv1.SubjectKindGroup:
		if s.Group == nil {
			return field.ErrorList{field.Required(p.Child("group"), "group is required when subject kind is 'Group'")}
		} else if s.Group.Name == "" {
			return field.ErrorList{field.Required(p.Child("group", "name"), "")}
		}
	case flowcontrolv1.SubjectKindServiceAccount:
		if s.ServiceAccount == nil {
			return field.ErrorList{field.Required(p.Child("serviceAccount"), "serviceAccount is required when subject kind is 'ServiceAccount'")}
		}
		var errs field.ErrorList
		if s.ServiceAccount.Name == "" {
			errs = append(errs, field.Required(p.Child("serviceAccount", "name"), ""))
		}
		if s.ServiceAccount.Namespace == "" {
			errs = append(errs, field.Required(p.Child("serviceAccount", "namespace"), ""))
		}
		return errs
	case "":
		return field.ErrorList{field.Required(p.Child("kind"), "")}
	default:
		return field.ErrorList{field.NotSupported(p.Child("kind"), s.Kind, subjectKinds)}
	}
	return nil
}

// validatePriorityLevel: exempt is the one Exempt level; a limited level
// has sane shares and either queues or rejects.
func validatePriorityLevel(pl *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if pl.Name == flowcontrolv1.PriorityLevelConfigurationNameCatchAll {
		for _, m := range bootstrap.MandatoryPriorityLevelConfigurations {
			if m.Name == pl.Name && !apiequality.Semantic.DeepEqual(pl.Spec, m.Spec) {
				errs = append(errs, field.Invalid(spec, pl.Spec, fmt.Sprintf("spec of '%s' must equal the fixed value", pl.Name)))
			}
		}
	}
	isExempt := pl.Name == flowcontrolv1.PriorityLevelConfigurationNameExempt
	if (pl.Spec.Type == flowcontrolv1.PriorityLevelEnablementExempt) != isExempt && pl.Spec.Type != "" {
		errs = append(errs, field.Invalid(spec.Child("type"), pl.Spec.Type, "type must be 'Exempt' if and only if name is 'exempt'"))
	}
	switch pl.Spec.Type {
	case flowcontrolv1.PriorityLevelEnablementExempt:
		if pl.Spec.Limited != nil {
			errs = append(errs, field.Forbidden(spec.Child("limited"), "must be nil if the type is not Limited"))
		}
		if e := pl.Spec.Exempt; e != nil {
			errs = append(errs, validateShares(e.NominalConcurrencyShares, e.LendablePercent, spec.Child("exempt"))...)
		}
	case flowcontrolv1.PriorityLevelEnablementLimited:
		if pl.Spec.Exempt != nil {
			errs = append(errs, field.Forbidden(spec.Child("exempt"), "must be nil if the type is Limited"))
		}
		if pl.Spec.Limited == nil {
			errs = append(errs, field.Required(spec.Child("limited"), "must not be empty when type is Limited"))
		} else {
			errs = append(errs, validateLimited(pl.Spec.Limited, spec.Child("limited"))...)
		}
	case "":
		errs = append(errs, field.Required(spec.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(spec.Child("type"), pl.Spec.Type, levelTypes))
	}
	return errs
}

func validateShares(shares, lendable *int32, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if shares != nil && *shares < 0 {
		errs = append(errs, field.Invalid(p.Child("nominalConcurrencyShares"), *shares, "must be a non-negative integer"))
	}
	if lendable != nil && (*lendable < 0 || *lendable > 100) {
		errs = append(errs, field.Invalid(p.Child("lendablePercent"), *lendable, "must be between 0 and 100, inclusive"))
	}
	return errs
}

func validateLimited(l *flowcontrolv1.LimitedPriorityLevelConfiguration, p *field.Path) field.ErrorList {
	errs := validateShares(l.NominalConcurrencyShares, l.LendablePercent, p)
	if b := l.BorrowingLimitPercent; b != nil && *b < 0 {
		errs = append(errs, field.Invalid(p.Child("borrowingLimitPercent"), *b, "if specified, must be a non-negative integer"))
	}
	lp := p.Child("limitResponse")
	switch l.LimitResponse.Type {
	case flowcontrolv1.LimitResponseTypeReject:
		if l.LimitResponse.Queuing != nil {
			errs = append(errs, field.Forbidden(lp.Child("queuing"), "must be nil if limited.limitResponse.type is not Limited"))
		}
	case flowcontrolv1.LimitResponseTypeQueue:
		q := l.LimitResponse.Queuing
		qp := lp.Child("queuing")
		if q == nil {
			errs = append(errs, field.Required(qp, "must not be empty if limited.limitResponse.type is Limited"))
			break
		}
		if q.QueueLengthLimit <= 0 {
			errs = append(errs, field.Invalid(qp.Child("queueLengthLimit"), q.QueueLengthLimit, "must be positive"))
		}
		switch {
		case q.Queues <= 0:
			errs = append(errs, field.Invalid(qp.Child("queues"), q.Queues, "must be positive"))
		case q.Queues > maxQueues:
			errs = append(errs, field.Invalid(qp.Child("queues"), q.Queues, fmt.Sprintf("must not be greater than %d", maxQueues)))
		}
		switch {
		case q.HandSize <= 0:
			errs = append(errs, field.Invalid(qp.Child("handSize"), q.HandSize, "must be positive"))
		case q.HandSize > q.Queues:
			errs = append(errs, field.Invalid(qp.Child("handSize"), q.HandSize, fmt.Sprintf("should not be greater than queues (%d)", q.Queues)))
		case q.HandSize > maxHandSize:
			errs = append(errs, field.Invalid(qp.Child("handSize"), q.HandSize, fmt.Sprintf("must not be greater than %d", maxHandSize)))
		}
	case "":
		errs = append(errs, field.Required(lp.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(lp.Child("type"), l.LimitResponse.Type, limitTypes))
	}
	return errs
}

// validateFlowConditions checks status conditions written by a
// controller: a type each, at most once.
func validateFlowConditions[T any](conds []T, typeOf, statusOf func(T) string) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("status", "conditions")
	seen := map[string]bool{}
	for i, c := range conds {
		t := typeOf(c)
		if t == "" {
			errs = append(errs, field.Required(p.Index(i).Child("type"), "must not be empty"))
		}
		if seen[t] {
			errs = append(errs, field.Duplicate(p.Index(i).Child("type"), t))
		}
		seen[t] = true
		switch s := statusOf(c); s {
		case "True", "False", "Unknown", "":
		default:
			errs = append(errs, field.NotSupported(p.Index(i).Child("status"), s, []string{"True", "False", "Unknown"}))
		}
	}
	return errs
}
