package filters

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/apiserver/status"
	"github.com/kastle-dev/kastle/internal/audit"
	"github.com/kastle-dev/kastle/internal/auth/authn"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// The impersonation headers of the Kubernetes API.
const (
	headerImpersonateUser        = "Impersonate-User"
	headerImpersonateGroup       = "Impersonate-Group"
	headerImpersonateUID         = "Impersonate-Uid"
	headerImpersonateExtraPrefix = "Impersonate-Extra-"
)

// WithImpersonation lets a user act as another when the authorizer allows
// the verb "impersonate" on each part of the new identity (users or
// serviceaccounts, groups, uids, userextras/<key>). The request then runs
// as the impersonated user; the headers are removed.
func WithImpersonation(next http.Handler, z authz.Authorizer) http.Handler {
	if z == nil {
		panic("filters: WithImpersonation needs an authorizer")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, checks, err := impersonationRequest(r.Header)
		if err != nil {
			status.Write(w, err)
			return
		}
		if target == nil {
			next.ServeHTTP(w, r)
			return
		}
		requester, ok := request.UserFrom(r.Context())
		if !ok {
			status.Write(w, fmt.Errorf("impersonation without an authenticated user"))
			return
		}
		for _, c := range checks {
			d, reason, err := z.Authorize(r.Context(), authz.Attributes{User: requester, Info: c})
			if err != nil || d != authz.Allow {
				msg := fmt.Sprintf("User %q cannot impersonate resource %q in API group %q", requester.Name, resourceOf(c), c.APIGroup)
				if c.Namespace != "" {
					msg += fmt.Sprintf(" in the namespace %q", c.Namespace)
				} else {
					msg += " at the cluster scope"
				}
				if reason != "" {
					msg += ": " + reason
				}
				status.Write(w, apierrors.NewForbidden(schema.GroupResource{Group: c.APIGroup, Resource: c.Resource}, c.Name, fmt.Errorf("%s", msg)))
				return
			}
		}
		for k := range r.Header {
			if strings.HasPrefix(k, "Impersonate-") {
				r.Header.Del(k)
			}
		}
		audit.SetImpersonatedUser(r.Context(), target)
		next.ServeHTTP(w, r.WithContext(request.WithUser(r.Context(), target)))
	})
}

func resourceOf(c *request.Info) string {
	if c.Subresource != "" {
		return c.Resource + "/" + c.Subresource
	}
	return c.Resource
}

// impersonationRequest reads the headers into the requested identity and
// the authorization checks it needs; (nil, nil, nil) when none is asked.
func impersonationRequest(h http.Header) (*user.Info, []*request.Info, error) {
	name := h.Get(headerImpersonateUser)
	groups := h.Values(headerImpersonateGroup)
	uid := h.Get(headerImpersonateUID)
	extra := map[string][]string{}
	for k, v := range h {
		if !strings.HasPrefix(k, headerImpersonateExtraPrefix) {
			continue
		}
		key, err := url.PathUnescape(strings.ToLower(strings.TrimPrefix(k, headerImpersonateExtraPrefix)))
		if err != nil {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("invalid %s header %q: %v", headerImpersonateExtraPrefix, k, err))
		}
		extra[key] = append(extra[key], v...)
	}
	if name == "" {
		if len(groups) > 0 || uid != "" || len(extra) > 0 {
			return nil, nil, apierrors.NewBadRequest("impersonating groups, a uid or extra fields requires impersonating a user (Impersonate-User)")
		}
		return nil, nil, nil
	}
	check := func(group, resource, sub, ns, n string) *request.Info {
		return &request.Info{IsResourceRequest: true, Verb: "impersonate", APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: n}
	}
	var checks []*request.Info
	target := &user.Info{Name: name, UID: uid, Groups: append([]string(nil), groups...)}
	if ns, sa, ok := serviceAccountName(name); ok {
		checks = append(checks, check("", "serviceaccounts", "", ns, sa))
		if len(groups) == 0 {
			target.Groups = []string{"system:serviceaccounts", "system:serviceaccounts:" + ns}
		}
	} else {
		checks = append(checks, check("", "users", "", "", name))
	}
	for _, g := range groups {
		checks = append(checks, check("", "groups", "", "", g))
	}
	if uid != "" {
		checks = append(checks, check("authentication.k8s.io", "uids", "", "", uid))
	}
	for k, vs := range extra {
		for _, v := range vs {
			checks = append(checks, check("authentication.k8s.io", "userextras", k, "", v))
		}
	}
	if len(extra) > 0 {
		target.Extra = extra
	}
	if name != authn.AnonymousUser {
		target.Groups = appendMissing(target.Groups, authn.GroupAuthenticated)
	} else {
		target.Groups = appendMissing(target.Groups, authn.GroupUnauthenticated)
	}
	return target, checks, nil
}

// serviceAccountName splits system:serviceaccount:<ns>:<name>.
func serviceAccountName(name string) (ns, sa string, ok bool) {
	const prefix = "system:serviceaccount:"
	if !strings.HasPrefix(name, prefix) {
		return "", "", false
	}
	parts := strings.Split(strings.TrimPrefix(name, prefix), ":")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}
