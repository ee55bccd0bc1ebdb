package webhook

import (
	"context"
	"fmt"
	"math"
	"time"

	celtypes "github.com/google/cel-go/common/types"
	"github.com/google/cel-go/interpreter"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/common"
	"k8s.io/apiserver/pkg/cel/library"
)

// celInput is one request's CEL variables, converted once and shared by
// every policy and binding evaluated for that request: upstream converts
// the request, namespace and authorizer again for each expression list
// of each policy, which made ten policies cost ten conversions.
type celInput struct {
	object, oldObject, request     any
	namespace, rawNamespace        any
	authorizer, resourceAuthorizer any
	rawNamespaceOf                 *corev1.Namespace
	rawNamespaceDone               bool
}

// newCELInput converts v's objects, the AdmissionRequest upstream builds
// for policies (resource gvr, object hidden), the namespace object with
// the fields policies may see, and the authorizer bound to the user.
func newCELInput(v *vattrs, gvr schema.GroupVersionResource, ns *corev1.Namespace, az authorizerFor) (*celInput, error) {
	// Upstream evaluates policies on the schemaless form of typed objects.
	v.attrs.VersionedObject.UseSchemalessTypeRef = true    //nolint:staticcheck // upstream's own switch, set as upstream sets it
	v.attrs.VersionedOldObject.UseSchemalessTypeRef = true //nolint:staticcheck
	old, err := v.attrs.VersionedOldObject.CELValue()
	if err != nil {
		return nil, fmt.Errorf("failed to prepare oldObject variable for evaluation: %w", err)
	}
	obj, err := v.attrs.VersionedObject.CELValue()
	if err != nil {
		return nil, fmt.Errorf("failed to prepare object variable for evaluation: %w", err)
	}
	req := plugincel.CreateAdmissionRequest(v.attrs.Attributes, metav1.GroupVersionResource(gvr), metav1.GroupVersionKind(v.attrs.VersionedKind))
	u := v.attrs.GetUserInfo()
	return &celInput{
		object: obj, oldObject: old,
		request:            common.SchemalessTypedToVal(req),
		namespace:          common.SchemalessTypedToVal(plugincel.CreateNamespaceObject(ns)),
		rawNamespaceOf:     ns,
		authorizer:         library.NewAuthorizerVal(u, az),
		resourceAuthorizer: library.NewResourceAuthorizerVal(u, az, v.attrs),
	}, nil
}

// rawNamespace is the namespace object as stored, which upstream shows to
// audit annotations (they alone do not get the trimmed copy).
func (in *celInput) rawNS() any {
	if !in.rawNamespaceDone {
		in.rawNamespaceDone = true
		in.rawNamespace = common.SchemalessTypedToVal(in.rawNamespaceOf)
	}
	return in.rawNamespace
}

// phase says which variables one list of a policy's expressions sees, as
// upstream declares them per list.
type phase int

const (
	phaseMatch      phase = iota // matchConditions: no namespaceObject
	phaseValidation              // validations: everything
	phaseMessage                 // messageExpressions: no authorizer
	phaseAudit                   // auditAnnotations: no authorizer, untrimmed namespace
)

// activation resolves CEL names for one policy, one parameter object and
// one expression list; variables are evaluated lazily, at most once, by
// the composition context it belongs to.
type activation struct {
	in        *celInput
	ph        phase
	params    any
	variables any
}

var _ interpreter.Activation = (*activation)(nil)

// ResolveName returns the value of a top-level CEL variable.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case plugincel.ObjectVarName:
		return a.in.object, true
	case plugincel.OldObjectVarName:
		return a.in.oldObject, true
	case plugincel.ParamsVarName:
		return a.params, true
	case plugincel.RequestVarName:
		return a.in.request, true
	case plugincel.NamespaceVarName:
		switch a.ph {
		case phaseMatch:
			return nil, true
		case phaseAudit:
			return a.in.rawNS(), true
		}
		return a.in.namespace, true
	case plugincel.AuthorizerVarName:
		if a.ph == phaseMessage || a.ph == phaseAudit {
			return nil, false
		}
		return a.in.authorizer, true
	case plugincel.RequestResourceAuthorizerVarName:
		if a.ph == phaseMessage || a.ph == phaseAudit {
			return nil, false
		}
		return a.in.resourceAuthorizer, true
	case plugincel.VariableVarName:
		return a.variables, true
	}
	return nil, false
}

// Parent is nil: the activation is the whole scope.
func (a *activation) Parent() interpreter.Activation { return nil }

// evalList evaluates one compiled expression list of cp for one parameter
// object within budget, with upstream's cost accounting: the cost of the
// variables an expression pulls in is charged to it, and running out of
// budget stops the list with an error.
func (cp *compiledPolicy) evalList(ctx context.Context, in *celInput, ph phase, params any, list []plugincel.CompilationResult, budget int64) ([]plugincel.EvaluationResult, int64, error) {
	out := make([]plugincel.EvaluationResult, len(list))
	if len(list) == 0 {
		return out, budget, nil
	}
	act := &activation{in: in, ph: ph, params: params, variables: cp.noVariables}
	// Without variables there is nothing to compose: skip the per-list
	// lazy map and cost context (the empty map is shared).
	var cctx plugincel.CompositionContext
	evalCtx := ctx
	if cp.noVariables == nil {
		cctx = cp.comp.CreateContext(ctx)
		act.variables = cctx.Variables(act)
		evalCtx = cctx
	}
	for i, r := range list {
		if r.ExpressionAccessor == nil {
			continue
		}
		out[i].ExpressionAccessor = r.ExpressionAccessor
		if r.Error != nil {
			out[i].Error = &apiservercel.Error{Type: apiservercel.ErrorTypeInvalid, Detail: fmt.Sprintf("compilation error: %v", r.Error), Cause: r.Error}
			continue
		}
		if r.Program == nil {
			out[i].Error = &apiservercel.Error{Type: apiservercel.ErrorTypeInternal, Detail: "unexpected internal error compiling expression"}
			continue
		}
		start := time.Now()
		val, det, err := r.Program.ContextEval(evalCtx, act)
		if cctx != nil {
			if c := cctx.GetAndResetCost(); c > budget {
				return nil, -1, outOfBudget()
			} else {
				budget -= c
			}
		}
		out[i].Elapsed = time.Since(start)
		var cost *uint64
		if det != nil {
			cost = det.ActualCost()
		}
		if cost == nil {
			return nil, -1, &apiservercel.Error{Type: apiservercel.ErrorTypeInvalid, Cause: apiservercel.ErrOutOfBudget,
				Detail: fmt.Sprintf("runtime cost could not be calculated for expression: %v, no further expression will be run", r.ExpressionAccessor.GetExpression())}
		}
		if *cost > math.MaxInt64 || int64(*cost) > budget {
			return nil, -1, outOfBudget()
		}
		budget -= int64(*cost)
		if err != nil {
			out[i].Error = &apiservercel.Error{Type: apiservercel.ErrorTypeInvalid, Detail: fmt.Sprintf("expression '%v' resulted in error: %v", r.ExpressionAccessor.GetExpression(), err)}
		} else {
			out[i].EvalResult = val
		}
	}
	return out, budget, nil
}

func outOfBudget() error {
	return &apiservercel.Error{Type: apiservercel.ErrorTypeInvalid, Cause: apiservercel.ErrOutOfBudget,
		Detail: "validation failed due to running out of cost budget, no further validation rules will be run"}
}

// matchConditions decides whether the policy's matchConditions admit the
// request: any false condition skips the policy, and errors (with no false
// condition) follow failurePolicy, as upstream's matcher does.
func (cp *compiledPolicy) matchConditions(ctx context.Context, in *celInput, params any) (bool, error) {
	res, _, err := cp.evalList(ctx, in, phaseMatch, params, cp.matchConds, celconfig.RuntimeCELCostBudgetMatchConditions)
	if err != nil {
		return false, cp.unlessIgnored(err)
	}
	var errs []error
	for _, r := range res {
		if r.Error != nil {
			errs = append(errs, r.Error)
		}
		if r.EvalResult == celtypes.False {
			return false, nil
		}
	}
	if len(errs) > 0 {
		return false, cp.unlessIgnored(utilerrors.NewAggregate(errs))
	}
	return true, nil
}

// unlessIgnored is err under failurePolicy Fail, nil under Ignore.
func (cp *compiledPolicy) unlessIgnored(err error) error {
	if cp.failurePolicy == admissionregistrationv1.Ignore {
		return nil
	}
	return err
}

// paramsVal is the CEL value of a parameter object (null without one).
func paramsVal(p runtime.Object) any {
	if p == nil {
		return nil
	}
	return common.SchemalessTypedToVal(p)
}
