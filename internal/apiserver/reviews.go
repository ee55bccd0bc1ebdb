package apiserver

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/authz/rbac"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// reviewer answers the review APIs from the server's own authentication
// and authorization.
type reviewer struct {
	authorizer authz.Authorizer
	rbac       *rbac.Authorizer // nil: rules cannot be listed
}

// Review implements endpoints.Reviewer.
func (rv *reviewer) Review(ctx context.Context, r *apis.Resource, ns string, obj runtime.Object) (runtime.Object, error) {
	requester, ok := request.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("no authenticated user in the request"))
	}
	switch o := obj.(type) {
	case *authenticationv1.SelfSubjectReview:
		o.Status.UserInfo = userInfo(requester)
		return o, nil
	case *authenticationv1.TokenReview:
		// Token authenticators arrive with the security issue; until then
		// no token is valid.
		o.Status = authenticationv1.TokenReviewStatus{Authenticated: false, Error: "no token authenticator is configured"}
		return o, nil
	case *authorizationv1.SelfSubjectAccessReview:
		o.Status = rv.decide(ctx, requester, o.Spec.ResourceAttributes, o.Spec.NonResourceAttributes)
		return o, nil
	case *authorizationv1.SubjectAccessReview:
		if o.Spec.User == "" && len(o.Spec.Groups) == 0 {
			return nil, apierrors.NewBadRequest("spec.user or spec.groups must be set")
		}
		o.Status = rv.decide(ctx, subject(o.Spec), o.Spec.ResourceAttributes, o.Spec.NonResourceAttributes)
		return o, nil
	case *authorizationv1.LocalSubjectAccessReview:
		if o.Namespace == "" {
			o.Namespace = ns
		}
		if o.Namespace != ns || o.Spec.ResourceAttributes == nil || o.Spec.ResourceAttributes.Namespace != ns {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.resourceAttributes.namespace must equal the namespace of the request (%s)", ns))
		}
		o.Status = rv.decide(ctx, subject(o.Spec), o.Spec.ResourceAttributes, nil)
		return o, nil
	case *authorizationv1.SelfSubjectRulesReview:
		if rv.rbac == nil {
			o.Status = authorizationv1.SubjectRulesReviewStatus{Incomplete: true, EvaluationError: "the configured authorizer cannot list rules"}
			return o, nil
		}
		if o.Spec.Namespace == "" {
			return nil, apierrors.NewBadRequest("spec.namespace is required")
		}
		res, nonRes, incomplete := rv.rbac.RulesFor(requester, o.Spec.Namespace)
		o.Status = authorizationv1.SubjectRulesReviewStatus{ResourceRules: res, NonResourceRules: nonRes, Incomplete: incomplete}
		return o, nil
	}
	return nil, apierrors.NewBadRequest(fmt.Sprintf("%T is not a review", obj))
}

func userInfo(u *user.Info) authenticationv1.UserInfo {
	out := authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		out.Extra = map[string]authenticationv1.ExtraValue{}
		for k, v := range u.Extra {
			out.Extra[k] = v
		}
	}
	return out
}

func subject(spec authorizationv1.SubjectAccessReviewSpec) *user.Info {
	u := &user.Info{Name: spec.User, UID: spec.UID, Groups: spec.Groups}
	if len(spec.Extra) > 0 {
		u.Extra = map[string][]string{}
		for k, v := range spec.Extra {
			u.Extra[k] = v
		}
	}
	return u
}

// decide asks the authorizer about the attributes of a review.
func (rv *reviewer) decide(ctx context.Context, u *user.Info, ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) authorizationv1.SubjectAccessReviewStatus {
	info := &request.Info{}
	switch {
	case ra != nil:
		info.IsResourceRequest = true
		info.Verb, info.APIGroup, info.APIVersion = ra.Verb, ra.Group, ra.Version
		info.Namespace, info.Resource, info.Subresource, info.Name = ra.Namespace, ra.Resource, ra.Subresource, ra.Name
	case nra != nil:
		info.Verb, info.Path = nra.Verb, nra.Path
	default:
		return authorizationv1.SubjectAccessReviewStatus{EvaluationError: "one of resourceAttributes and nonResourceAttributes is required"}
	}
	d, reason, err := rv.authorizer.Authorize(ctx, authz.Attributes{User: u, Info: info})
	st := authorizationv1.SubjectAccessReviewStatus{Allowed: d == authz.Allow, Denied: d == authz.Deny, Reason: reason}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	return st
}
