package apiserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/authz/bootstrappolicy"
	"github.com/kastle-dev/kastle/internal/auth/authz/node"
	"github.com/kastle-dev/kastle/internal/auth/authz/rbac"
	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/registry"
	"github.com/kastle-dev/kastle/internal/storage"
)

// systemUser is the identity of the server's own writes (bootstrap policy,
// controllers): admission sees who writes, never an empty context.
var systemUser = &user.Info{Name: "system:apiserver", Groups: []string{rbac.GroupMasters, "system:authenticated"}}

// authorizers is what --authorization-mode selected.
type authorizers struct {
	chain authz.Authorizer
	rbac  *rbac.Authorizer // nil unless RBAC is on
	node  *node.Authorizer // nil unless Node is on
}

// newAuthorizers builds the chain of --authorization-mode, in its order.
func newAuthorizers(modes []string) (*authorizers, error) {
	a := &authorizers{}
	var chain authz.Union
	seen := map[string]bool{}
	for _, m := range modes {
		m = strings.TrimSpace(m)
		if seen[m] {
			return nil, fmt.Errorf("--authorization-mode lists %s twice", m)
		}
		seen[m] = true
		switch m {
		case "RBAC":
			a.rbac = rbac.New()
			chain = append(chain, a.rbac)
		case "Node":
			a.node = node.New()
			chain = append(chain, nodeWithSelector{a.node})
		case "AlwaysAllow":
			chain = append(chain, authz.AlwaysAllow{})
		case "AlwaysDeny":
			chain = append(chain, authz.AlwaysDeny{})
		default:
			return nil, fmt.Errorf("--authorization-mode: unknown mode %q (Node, RBAC, AlwaysAllow, AlwaysDeny)", m)
		}
	}
	if len(chain) == 0 {
		return nil, errors.New("--authorization-mode is empty")
	}
	a.chain = chain
	return a, nil
}

// nodeWithSelector hands the Node authorizer the field selector of the
// request, which scopes a node's lists and watches.
type nodeWithSelector struct{ n *node.Authorizer }

func (w nodeWithSelector) Authorize(ctx context.Context, a authz.Attributes) (authz.Decision, string, error) {
	if a.Info != nil && a.Info.FieldSelector != "" {
		ctx = node.WithFieldSelector(ctx, a.Info.FieldSelector)
	}
	return w.n.Authorize(ctx, a)
}

// reconcileBootstrapPolicy creates the default roles and bindings and adds
// what is missing from existing ones, keeping users' additions.
func (s *server) reconcileBootstrapPolicy(ctx context.Context) error {
	ctx = request.WithUser(ctx, systemUser)
	store := func(plural string) *registry.Store {
		st, _ := s.stores.Store(mustLookup(s.catalogue, "rbac.authorization.k8s.io", "v1", plural))
		return st
	}
	ensure := func(st *registry.Store, ns string, wanted kruntime.Object, reconcile func(existing kruntime.Object) (kruntime.Object, bool)) error {
		acc, _ := meta.Accessor(wanted)
		// Any cached state will do ("0"): a missing object is created with
		// AlreadyExists tolerated, and an update is recomputed from the
		// latest object. A consistent read would wait on etcd progress
		// notifications, which under load made a start take seconds.
		cur, err := st.Get(ctx, ns, acc.GetName(), "0")
		if apierrors.IsNotFound(err) {
			_, err = st.Create(ctx, ns, wanted, registry.WriteOptions{FieldManager: "kastle-bootstrap-policy"})
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			return err
		}
		if err != nil {
			return err
		}
		if _, changed := reconcile(cur); !changed {
			return nil
		}
		_, err = st.Update(ctx, ns, acc.GetName(), func(latest kruntime.Object) (kruntime.Object, error) {
			next, _ := reconcile(latest)
			return next, nil
		},
			registry.WriteOptions{FieldManager: "kastle-bootstrap-policy"})
		return err
	}
	for _, w := range bootstrappolicy.ClusterRoles() {
		w := w
		if err := ensure(store("clusterroles"), "", &w, func(e kruntime.Object) (kruntime.Object, bool) {
			return bootstrappolicy.ReconcileClusterRole(e.(*rbacv1.ClusterRole), &w)
		}); err != nil {
			return fmt.Errorf("clusterrole %s: %w", w.Name, err)
		}
	}
	for _, w := range bootstrappolicy.ClusterRoleBindings() {
		w := w
		if err := ensure(store("clusterrolebindings"), "", &w, func(e kruntime.Object) (kruntime.Object, bool) {
			out, changed := bootstrappolicy.ReconcileClusterRoleBinding(e.(*rbacv1.ClusterRoleBinding), &w)
			if changed && out.RoleRef != e.(*rbacv1.ClusterRoleBinding).RoleRef {
				return e, false // roleRef is immutable: leave an operator's change alone
			}
			return out, changed
		}); err != nil {
			return fmt.Errorf("clusterrolebinding %s: %w", w.Name, err)
		}
	}
	for _, w := range bootstrappolicy.Roles() {
		w := w
		if err := ensure(store("roles"), w.Namespace, &w, func(e kruntime.Object) (kruntime.Object, bool) {
			return bootstrappolicy.ReconcileRole(e.(*rbacv1.Role), &w)
		}); err != nil {
			return fmt.Errorf("role %s/%s: %w", w.Namespace, w.Name, err)
		}
	}
	for _, w := range bootstrappolicy.RoleBindings() {
		w := w
		if err := ensure(store("rolebindings"), w.Namespace, &w, func(e kruntime.Object) (kruntime.Object, bool) {
			out, changed := bootstrappolicy.ReconcileRoleBinding(e.(*rbacv1.RoleBinding), &w)
			if changed && out.RoleRef != e.(*rbacv1.RoleBinding).RoleRef {
				return e, false
			}
			return out, changed
		}); err != nil {
			return fmt.Errorf("rolebinding %s/%s: %w", w.Namespace, w.Name, err)
		}
	}
	return nil
}

// feed keeps an index current from one resource: a full list first (so
// the index is complete before the server serves), then its watch,
// re-listing when the watch ends.
func (s *server) feed(ctx context.Context, res *apis.Resource, upsert func(kruntime.Object), remove func(kruntime.Object), after func()) error {
	st, ok := s.stores.Store(res)
	if !ok {
		return fmt.Errorf("no store for %s", res)
	}
	list := func() (string, error) {
		l, err := st.List(ctx, "", &metav1.ListOptions{})
		if err != nil {
			return "", err
		}
		items, err := meta.ExtractList(l)
		if err != nil {
			return "", err
		}
		for _, it := range items {
			upsert(it)
		}
		if after != nil {
			after()
		}
		la, _ := meta.ListAccessor(l)
		return la.GetResourceVersion(), nil
	}
	rv, err := list()
	if err != nil {
		return err
	}
	go func() {
		for ctx.Err() == nil {
			w, err := st.Watch(ctx, "", &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
			if err != nil {
				// Wait, but not past the end: Stop must not leave this behind.
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				if rv, err = list(); err != nil {
					s.log.Warn("re-listing", "resource", res.String(), "err", err)
				}
				continue
			}
			for ev := range w.ResultChan() {
				if m, ok := ev.Object.(metav1.Object); ok && ev.Object != nil {
					rv = m.GetResourceVersion()
				}
				switch ev.Type {
				case storage.Added, storage.Modified:
					upsert(ev.Object)
				case storage.Deleted:
					remove(ev.Object)
				case storage.ErrorEvent:
					rv = ""
				}
				if after != nil && ev.Type != storage.Bookmark {
					after()
				}
			}
			w.Stop()
			if rv == "" && ctx.Err() == nil {
				if rv, err = list(); err != nil {
					s.log.Warn("re-listing", "resource", res.String(), "err", err)
				}
			}
		}
	}()
	return nil
}

// startAuthorization reconciles the default policy and starts feeding the
// RBAC index, the aggregation of ClusterRoles and the Node graph. It
// returns when the indexes hold the current state.
func (s *server) startAuthorization(ctx context.Context) error {
	a := s.authz
	if a.rbac != nil {
		if err := s.reconcileBootstrapPolicy(ctx); err != nil {
			return fmt.Errorf("default RBAC policy: %w", err)
		}
		up := func(o kruntime.Object) {
			if err := a.rbac.Upsert(o); err != nil {
				s.log.Warn("indexing RBAC object", "err", err)
			}
		}
		del := func(o kruntime.Object) { _ = a.rbac.Delete(o) }
		for _, plural := range []string{"roles", "rolebindings", "clusterrolebindings"} {
			if err := s.feed(ctx, mustLookup(s.catalogue, "rbac.authorization.k8s.io", "v1", plural), up, del, nil); err != nil {
				return err
			}
		}
		if err := s.feed(ctx, mustLookup(s.catalogue, "rbac.authorization.k8s.io", "v1", "clusterroles"), up, del, func() { s.aggregate(ctx) }); err != nil {
			return err
		}
	}
	if a.node != nil {
		pods := mustLookup(s.catalogue, "", "v1", "pods")
		if err := s.feed(ctx, pods, func(o kruntime.Object) { a.node.UpdatePod(o.(*corev1.Pod)) }, func(o kruntime.Object) { a.node.DeletePod(o.(*corev1.Pod)) }, nil); err != nil {
			return err
		}
		csrs := mustLookup(s.catalogue, "certificates.k8s.io", "v1", "certificatesigningrequests")
		if err := s.feed(ctx, csrs, func(o kruntime.Object) { a.node.AddCSR(o.(*certificatesv1.CertificateSigningRequest)) }, func(o kruntime.Object) { a.node.DeleteCSR(o.(*certificatesv1.CertificateSigningRequest)) }, nil); err != nil {
			return err
		}
	}
	return nil
}

// aggregate writes the rules of every aggregated ClusterRole.
func (s *server) aggregate(ctx context.Context) {
	ctx = request.WithUser(ctx, systemUser)
	st, _ := s.stores.Store(mustLookup(s.catalogue, "rbac.authorization.k8s.io", "v1", "clusterroles"))
	l, err := st.List(ctx, "", &metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return
	}
	list := l.(*rbacv1.ClusterRoleList)
	all := make([]*rbacv1.ClusterRole, len(list.Items))
	for i := range list.Items {
		all[i] = &list.Items[i]
	}
	for name, rules := range rbac.AggregateClusterRoles(all) {
		var cur *rbacv1.ClusterRole
		for _, r := range all {
			if r.Name == name {
				cur = r
			}
		}
		if cur == nil || apiequality.Semantic.DeepEqual(cur.Rules, rules) {
			continue
		}
		_, err := st.Update(ctx, "", name, func(o kruntime.Object) (kruntime.Object, error) {
			o.(*rbacv1.ClusterRole).Rules = rules
			return o, nil
		}, registry.WriteOptions{FieldManager: "kastle-clusterrole-aggregation"})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			s.log.Warn("aggregating ClusterRole", "name", name, "err", err)
		}
	}
}
