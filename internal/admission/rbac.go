package admission

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/authz/rbac"
	"github.com/kastle-dev/kastle/internal/registry"
)

// RBACEscalation stops users from granting, through roles and bindings,
// more than they hold: a role's rules must be covered by the writer's own
// unless it may "escalate" the role; a binding's role must be covered
// unless the writer may "bind" it. It is part of RBAC, on whenever RBAC is.
type RBACEscalation struct {
	RBAC       *rbac.Authorizer
	Authorizer authz.Authorizer // the whole chain, for escalate and bind
}

var _ Plugin = (*RBACEscalation)(nil)

// Admit does nothing: the plugin only validates.
func (p *RBACEscalation) Admit(context.Context, *registry.Attributes) error { return nil }

// Validate checks creates and updates of roles and bindings.
func (p *RBACEscalation) Validate(ctx context.Context, a *registry.Attributes) error {
	if a.Resource.Group != "rbac.authorization.k8s.io" || a.Operation == registry.Delete || a.Object == nil {
		return nil
	}
	u, ok := request.UserFrom(ctx)
	if !ok {
		return apierrors.NewInternalError(errors.New("RBAC escalation check without a requesting user"))
	}
	if a.OldObject != nil && onlyGCFieldsChanged(a.Object, a.OldObject) {
		// The garbage collector and finalizer removal must not need the
		// rights the role grants.
		return nil
	}
	var err error
	switch a.Resource.Plural {
	case "roles", "clusterroles":
		err = p.RBAC.CheckRoleWrite(ctx, p.Authorizer, u, a.Object)
	case "rolebindings", "clusterrolebindings":
		err = p.RBAC.CheckBindingWrite(ctx, p.Authorizer, u, a.Object)
	default:
		return nil
	}
	if err == nil {
		return nil
	}
	var esc *rbac.EscalationError
	if errors.As(err, &esc) || errors.Is(err, rbac.ErrAggregationRuleForbidden) || apierrors.IsForbidden(err) {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, err)
	}
	return apierrors.NewInternalError(fmt.Errorf("checking RBAC escalation: %w", err))
}

// onlyGCFieldsChanged reports whether obj differs from old in nothing but
// owner references, finalizers and the metadata the server keeps.
func onlyGCFieldsChanged(obj, old runtime.Object) bool {
	a, b := obj.DeepCopyObject(), old.DeepCopyObject()
	for _, o := range []runtime.Object{a, b} {
		m, err := meta.Accessor(o)
		if err != nil {
			return false
		}
		m.SetOwnerReferences(nil)
		m.SetFinalizers(nil)
		m.SetResourceVersion("")
		m.SetManagedFields(nil)
	}
	return equality.Semantic.DeepEqual(a, b)
}
