package webhook

import (
	"context"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8sadmission "k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	kuser "github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/registry"
)

// userOf converts kastle's user to the upstream form CEL and reviews use.
func userOf(u *kuser.Info) *user.DefaultInfo {
	if u == nil {
		return &user.DefaultInfo{}
	}
	return &user.DefaultInfo{Name: u.Name, UID: u.UID, Groups: u.Groups, Extra: u.Extra}
}

// opOf is the admission operation of a.
func opOf(a *registry.Attributes) k8sadmission.Operation {
	switch a.Operation {
	case registry.Update:
		return k8sadmission.Update
	case registry.Delete:
		return k8sadmission.Delete
	}
	return k8sadmission.Create
}

// optionsOf is the options object upstream sends with each operation.
func optionsOf(a *registry.Attributes) runtime.Object {
	var dry []string
	if a.DryRun {
		dry = []string{metav1.DryRunAll}
	}
	gv := metav1.SchemeGroupVersion
	switch a.Operation {
	case registry.Update:
		o := &metav1.UpdateOptions{DryRun: dry}
		o.GetObjectKind().SetGroupVersionKind(gv.WithKind("UpdateOptions"))
		return o
	case registry.Delete:
		o := &metav1.DeleteOptions{DryRun: dry}
		o.GetObjectKind().SetGroupVersionKind(gv.WithKind("DeleteOptions"))
		return o
	}
	o := &metav1.CreateOptions{DryRun: dry}
	o.GetObjectKind().SetGroupVersionKind(gv.WithKind("CreateOptions"))
	return o
}

// versioned builds the upstream attributes CEL evaluates: kastle's
// objects are already versioned (k8s.io/api types or unstructured).
func versioned(ctx context.Context, a *registry.Attributes) *k8sadmission.VersionedAttributes {
	u, _ := request.UserFrom(ctx)
	gvk := a.Resource.GVK()
	gvr := schema.GroupVersionResource{Group: a.Resource.Group, Version: a.Resource.Version, Resource: a.Resource.Plural}
	obj, old := a.Object, a.OldObject
	attrs := k8sadmission.NewAttributesRecord(obj, old, gvk, a.Namespace, a.Name, gvr, a.Subresource, opOf(a), optionsOf(a), a.DryRun, userOf(u))
	return &k8sadmission.VersionedAttributes{Attributes: attrs, VersionedKind: gvk, VersionedObject: k8sadmission.NewLazyObject(obj), VersionedOldObject: k8sadmission.NewLazyObject(old)}
}

// admissionRequest is the AdmissionReview request for a.
// The object is shown in version (kind and resource too); requestKind and
// requestResource stay the request's own.
func admissionRequest(ctx context.Context, uid string, a *registry.Attributes, version string) (*admissionv1.AdmissionRequest, error) {
	u, _ := request.UserFrom(ctx)
	ui := userOf(u)
	reqGVK := metav1.GroupVersionKind{Group: a.Resource.Group, Version: a.Resource.Version, Kind: a.Resource.Kind}
	reqGVR := metav1.GroupVersionResource{Group: a.Resource.Group, Version: a.Resource.Version, Resource: a.Resource.Plural}
	gvk, gvr := reqGVK, reqGVR
	gvk.Version, gvr.Version = version, version
	dry := a.DryRun
	req := &admissionv1.AdmissionRequest{
		UID:  typesUID(uid),
		Kind: gvk, Resource: gvr, SubResource: a.Subresource,
		RequestKind: &reqGVK, RequestResource: &reqGVR, RequestSubResource: a.Subresource,
		Name: a.Name, Namespace: a.Namespace, Operation: admissionv1.Operation(opOf(a)),
		DryRun: &dry,
	}
	req.UserInfo.Username, req.UserInfo.UID, req.UserInfo.Groups = ui.Name, ui.UID, ui.Groups
	if len(ui.Extra) > 0 {
		req.UserInfo.Extra = map[string]authnExtra{}
		for k, v := range ui.Extra {
			req.UserInfo.Extra[k] = v
		}
	}
	var err error
	if req.Object, err = raw(a.Object, a, version); err != nil {
		return nil, err
	}
	if req.OldObject, err = raw(a.OldObject, a, version); err != nil {
		return nil, err
	}
	req.Options, err = raw(optionsOf(a), nil, "")
	return req, err
}

// authorizerFor adapts kastle's authorizer to upstream's interface for the
// CEL authorizer library; decisions are the server's own.
type authorizerFor struct {
	z    authz.Authorizer
	user *kuser.Info
}

var _ authorizer.UnconditionalAuthorizer = authorizerFor{}

// Authorize asks kastle's authorizer about the attributes CEL built.
func (az authorizerFor) Authorize(ctx context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if az.z == nil {
		return authorizer.DecisionNoOpinion, "no authorizer", nil
	}
	u := az.user
	if au := a.GetUser(); au != nil {
		u = &kuser.Info{Name: au.GetName(), UID: au.GetUID(), Groups: au.GetGroups(), Extra: au.GetExtra()}
	}
	info := &request.Info{
		IsResourceRequest: a.IsResourceRequest(), Path: a.GetPath(), Verb: a.GetVerb(),
		APIGroup: a.GetAPIGroup(), APIVersion: a.GetAPIVersion(), Namespace: a.GetNamespace(),
		Resource: a.GetResource(), Subresource: a.GetSubresource(), Name: a.GetName(),
	}
	d, reason, err := az.z.Authorize(ctx, authz.Attributes{User: u, Info: info})
	switch d {
	case authz.Allow:
		return authorizer.DecisionAllow, reason, err
	case authz.Deny:
		return authorizer.DecisionDeny, reason, err
	}
	return authorizer.DecisionNoOpinion, reason, err
}

// vattrs is the CEL input of one request, built once when first needed.
type vattrs struct {
	attrs *k8sadmission.VersionedAttributes
	user  *kuser.Info
}

// lazyAttrs returns a function building a's CEL input at most once.
func lazyAttrs(ctx context.Context, a *registry.Attributes) func() *vattrs {
	var v *vattrs
	return func() *vattrs {
		if v == nil {
			u, _ := request.UserFrom(ctx)
			v = &vattrs{attrs: versioned(ctx, a), user: u}
		}
		return v
	}
}
