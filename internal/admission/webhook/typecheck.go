package webhook

import (
	"fmt"
	"sort"
	"strings"

	celgo "github.com/google/cel-go/cel"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/common"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/apiserver/pkg/cel/library"
	celopenapi "k8s.io/apiserver/pkg/cel/openapi"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// SchemaResolver returns the OpenAPI schema of a kind, $refs resolved.
type SchemaResolver interface {
	ResolveSchema(gvk schema.GroupVersionKind) (*spec.Schema, error)
}

// KindResolver names the kind served at group/version/resource.
type KindResolver func(group, version, resource string) (kind string, ok bool)

// maxTypeCheckedKinds bounds the kinds one policy is checked against.
const maxTypeCheckedKinds = 10

// TypeCheck type-checks a policy's expressions against the schemas of the
// kinds its matchConstraints name (wildcards are not expanded), as
// upstream's status.typeChecking does: each problem is a warning on the
// expression's field, prefixed by the kind it was found for.
func TypeCheck(p *admissionregistrationv1.ValidatingAdmissionPolicy, kinds KindResolver, schemas SchemaResolver) []admissionregistrationv1.ExpressionWarning {
	gvks := typeCheckedKinds(p, kinds)
	if len(gvks) == 0 {
		return nil
	}
	type expr struct{ field, text string }
	var exprs []expr
	for i, v := range p.Spec.Validations {
		exprs = append(exprs, expr{fmt.Sprintf("spec.validations[%d].expression", i), v.Expression})
		if v.MessageExpression != "" {
			exprs = append(exprs, expr{fmt.Sprintf("spec.validations[%d].messageExpression", i), v.MessageExpression})
		}
	}
	for i, a := range p.Spec.AuditAnnotations {
		exprs = append(exprs, expr{fmt.Sprintf("spec.auditAnnotations[%d].valueExpression", i), a.ValueExpression})
	}
	for i, m := range p.Spec.MatchConditions {
		exprs = append(exprs, expr{fmt.Sprintf("spec.matchConditions[%d].expression", i), m.Expression})
	}
	problems := map[string][]string{}
	for _, gvk := range gvks {
		s, err := schemas.ResolveSchema(gvk)
		if err != nil || s == nil {
			continue
		}
		dt := common.SchemaDeclType(&celopenapi.Schema{Schema: s}, true)
		if dt == nil {
			continue
		}
		dt = dt.MaybeAssignTypeName("__type_" + strings.ReplaceAll(gvk.String(), "/", "_"))
		env, err := typeCheckEnv(dt, p.Spec.ParamKind != nil, len(p.Spec.Variables) > 0)
		if err != nil {
			continue
		}
		for _, e := range exprs {
			if _, iss := env.Compile(e.text); iss != nil && iss.Err() != nil {
				problems[e.field] = append(problems[e.field], fmt.Sprintf("%s: %s", gvk.String(), iss.Err()))
			}
		}
	}
	fields := make([]string, 0, len(problems))
	for f := range problems {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	var out []admissionregistrationv1.ExpressionWarning
	for _, f := range fields {
		out = append(out, admissionregistrationv1.ExpressionWarning{FieldRef: f, Warning: strings.Join(problems[f], "\n")})
	}
	return out
}

// typeCheckedKinds lists the kinds of the policy's concrete resource rules.
func typeCheckedKinds(p *admissionregistrationv1.ValidatingAdmissionPolicy, kinds KindResolver) []schema.GroupVersionKind {
	m := p.Spec.MatchConstraints
	if m == nil {
		return nil
	}
	seen := map[schema.GroupVersionKind]bool{}
	var out []schema.GroupVersionKind
	for _, r := range m.ResourceRules {
		for _, g := range r.APIGroups {
			for _, v := range r.APIVersions {
				for _, res := range r.Resources {
					if g == "*" || v == "*" || strings.Contains(res, "*") || strings.Contains(res, "/") {
						continue
					}
					k, ok := kinds(g, v, res)
					gvk := schema.GroupVersionKind{Group: g, Version: v, Kind: k}
					if !ok || seen[gvk] || len(out) >= maxTypeCheckedKinds {
						continue
					}
					seen[gvk] = true
					out = append(out, gvk)
				}
			}
		}
	}
	return out
}

// typeCheckEnv is upstream's policy environment with object and oldObject
// typed by the kind's schema (params and variables stay dynamic).
func typeCheckEnv(object *apiservercel.DeclType, hasParams, hasVariables bool) (*celgo.Env, error) {
	req, ns := plugincel.BuildRequestType(), plugincel.BuildNamespaceType()
	opts := []celgo.EnvOption{
		celgo.Variable(plugincel.ObjectVarName, object.CelType()),
		celgo.Variable(plugincel.OldObjectVarName, object.CelType()),
		celgo.Variable(plugincel.RequestVarName, req.CelType()),
		celgo.Variable(plugincel.NamespaceVarName, ns.CelType()),
		celgo.Variable("authorizer", library.AuthorizerType),
	}
	if hasParams {
		opts = append(opts, celgo.Variable(plugincel.ParamsVarName, celgo.DynType))
	}
	if hasVariables {
		opts = append(opts, celgo.Variable("variables", celgo.MapType(celgo.StringType, celgo.DynType)))
	}
	set, err := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()).Extend(environment.VersionedOptions{
		IntroducedVersion: version.MajorMinor(1, 0),
		EnvOptions:        opts,
		DeclTypes:         []*apiservercel.DeclType{object, req, ns},
	})
	if err != nil {
		return nil, err
	}
	return set.Env(environment.NewExpressions)
}
