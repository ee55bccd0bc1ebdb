package apiserver

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authn"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/authz/rbac"
	"github.com/kastle-dev/kastle/internal/auth/serviceaccount"
	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/registry"
)

// reviewer answers the review APIs from the server's own authentication
// and authorization.
type reviewer struct {
	s          *server
	authorizer authz.Authorizer
	rbac       *rbac.Authorizer // nil: rules cannot be listed
	auth       *authentication  // set once authentication is assembled
}

// Review implements endpoints.Reviewer: the review resources, and
// serviceaccounts/<name>/token (TokenRequest).
func (rv *reviewer) Review(ctx context.Context, r *apis.Resource, ns, name string, obj runtime.Object) (runtime.Object, error) {
	requester, ok := request.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("no authenticated user in the request"))
	}
	switch o := obj.(type) {
	case *authenticationv1.SelfSubjectReview:
		o.Status.UserInfo = userInfo(requester)
		return o, nil
	case *authenticationv1.TokenReview:
		return rv.tokenReview(ctx, o)
	case *authenticationv1.TokenRequest:
		return rv.tokenRequest(ctx, r, ns, name, o)
	case *corev1.Binding:
		return rv.bind(ctx, r, ns, name, o)
	case *policyv1.Eviction:
		return rv.evict(ctx, ns, name, o)
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

// tokenReview authenticates spec.token with the server's token
// authenticators, for the audiences asked (default: the API audiences).
func (rv *reviewer) tokenReview(ctx context.Context, o *authenticationv1.TokenReview) (runtime.Object, error) {
	if o.Spec.Token == "" {
		return nil, apierrors.NewBadRequest("spec.token is required")
	}
	if len(o.Spec.Audiences) > 0 {
		ctx = authn.WithAudiences(ctx, o.Spec.Audiences)
	}
	u, ok, err := rv.auth.tokens.AuthenticateToken(ctx, o.Spec.Token)
	o.Spec.Token = "" // never echo a credential
	switch {
	case err != nil || !ok:
		o.Status = authenticationv1.TokenReviewStatus{Authenticated: false, Error: "invalid bearer token"}
	default:
		o.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: userInfo(withAuthenticated(u)), Audiences: o.Spec.Audiences}
	}
	return o, nil
}

func withAuthenticated(u *user.Info) *user.Info {
	for _, g := range u.Groups {
		if g == "system:authenticated" {
			return u
		}
	}
	c := *u
	c.Groups = append(append([]string(nil), u.Groups...), "system:authenticated")
	return &c
}

// tokenRequest issues a token for serviceaccounts/<name>/token. The
// request passes admission first, as a create of the token subresource
// (NodeRestriction holds nodes to tokens bound to their own pods).
func (rv *reviewer) tokenRequest(ctx context.Context, r *apis.Resource, ns, name string, o *authenticationv1.TokenRequest) (runtime.Object, error) {
	attrs := &registry.Attributes{Operation: registry.Create, Resource: r, Subresource: "token", Namespace: ns, Name: name, Object: o}
	if err := rv.s.admission.Admit(ctx, attrs); err != nil {
		return nil, err
	}
	if err := rv.s.admission.Validate(ctx, attrs); err != nil {
		return nil, err
	}
	getter := storeGetter{rv.s}
	sa, err := getter.GetServiceAccount(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	spec := serviceaccount.TokenSpec{
		Namespace: ns, ServiceAccountName: name, ServiceAccountUID: string(sa.UID),
		Audiences: o.Spec.Audiences,
	}
	if o.Spec.ExpirationSeconds != nil {
		spec.ExpirationSeconds = *o.Spec.ExpirationSeconds
	}
	if ref := o.Spec.BoundObjectRef; ref != nil {
		if gv, err := schema.ParseGroupVersion(ref.APIVersion); err != nil || gv.Group != "" {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s %s: only v1 Pod, Secret and Node", ref.APIVersion, ref.Kind))
		}
		var uid string
		switch ref.Kind {
		case "Pod":
			pod, err := getter.GetPod(ctx, ns, ref.Name)
			if err != nil {
				return nil, err
			}
			if pod.Spec.ServiceAccountName != name {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name %q", name, pod.Spec.ServiceAccountName))
			}
			uid = string(pod.UID)
			if pod.Spec.NodeName != "" {
				if node, err := getter.GetNode(ctx, pod.Spec.NodeName); err == nil {
					spec.PodNode = &serviceaccount.Ref{Name: node.Name, UID: string(node.UID)}
				}
			}
		case "Secret":
			sec, err := getter.GetSecret(ctx, ns, ref.Name)
			if err != nil {
				return nil, err
			}
			uid = string(sec.UID)
		case "Node":
			node, err := getter.GetNode(ctx, ref.Name)
			if err != nil {
				return nil, err
			}
			uid = string(node.UID)
		default:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.boundObjectRef.kind %q: must be Pod, Secret or Node", ref.Kind))
		}
		if ref.UID != "" && string(ref.UID) != uid {
			return nil, apierrors.NewConflict(authenticationv1.Resource("tokenrequests"), name,
				fmt.Errorf("the UID in the bound object reference (%s) does not match the %s's UID (%s)", ref.UID, ref.Kind, uid))
		}
		spec.BoundObject = &serviceaccount.BoundObjectRef{Kind: ref.Kind, Name: ref.Name, UID: uid}
	}
	tok, err := rv.auth.issuer.Issue(spec)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	exp := int64(tok.ExpiresAt.Sub(tok.IssuedAt).Seconds())
	o.Spec.ExpirationSeconds = &exp
	if len(o.Spec.Audiences) == 0 {
		o.Spec.Audiences = rv.auth.issuer.Audiences()
	}
	o.Name, o.Namespace = name, ns
	o.Status = authenticationv1.TokenRequestStatus{Token: tok.Raw, ExpirationTimestamp: metav1.NewTime(tok.ExpiresAt)}
	return o, nil
}
