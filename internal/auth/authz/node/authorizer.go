package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/authz/bootstrappolicy"
	"github.com/kastle-dev/kastle/internal/auth/authz/rbac"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// Node identities.
const (
	UserPrefix = "system:node:"
	Group      = "system:nodes"
	// LeaseNamespace holds the nodes' heartbeat Leases.
	LeaseNamespace = "kube-node-lease"
)

// NodeName returns the node a user is: its name without "system:node:"
// when the user is also in system:nodes. ok is false for other users; a
// node identity with an empty name gives ("", true).
func NodeName(u *user.Info) (name string, ok bool) {
	if u == nil || !strings.HasPrefix(u.Name, UserPrefix) {
		return "", false
	}
	for _, g := range u.Groups {
		if g == Group {
			return strings.TrimPrefix(u.Name, UserPrefix), true
		}
	}
	return "", false
}

// Authorizer is the Node authorizer. Create it with New; it is safe for
// concurrent use.
type Authorizer struct {
	mu    sync.RWMutex
	g     graph
	rules []rbacv1.PolicyRule // the system:node rules, for resources not narrowed here
}

var _ authz.Authorizer = (*Authorizer)(nil)

// New returns a Node authorizer with an empty graph: nodes may read no
// secrets, config maps or volumes until pods bound to them are added.
func New() *Authorizer {
	return &Authorizer{g: newGraph(), rules: bootstrappolicy.NodeRules()}
}

type selectorKey struct{}

// WithFieldSelector returns a context carrying the raw field selector of a
// list or watch request (the fieldSelector query parameter), which the
// authorizer uses to let a node list and watch its own pods
// (spec.nodeName=<node>) and single objects (metadata.name=<name>). Without
// it such lists are not allowed. An unparsable selector counts as none.
func WithFieldSelector(ctx context.Context, raw string) context.Context {
	return context.WithValue(ctx, selectorKey{}, raw)
}

func fieldSelector(ctx context.Context) fields.Selector {
	raw, _ := ctx.Value(selectorKey{}).(string)
	if raw == "" {
		return nil
	}
	sel, err := fields.ParseSelector(raw)
	if err != nil {
		return nil
	}
	return sel
}

func exact(sel fields.Selector, field string) string {
	if sel == nil {
		return ""
	}
	v, _ := sel.RequiresExactMatch(field)
	return v
}

// Authorize decides a request of a node identity; see the package
// documentation. A request without user or request info is an error.
func (a *Authorizer) Authorize(ctx context.Context, attrs authz.Attributes) (authz.Decision, string, error) {
	if attrs.User == nil || attrs.Info == nil {
		return authz.NoOpinion, "", errors.New("node authorizer: request has no user or no request info")
	}
	node, ok := NodeName(attrs.User)
	if !ok {
		return authz.NoOpinion, "", nil
	}
	if node == "" {
		return authz.NoOpinion, "node authorizer: unknown node for user " + fmt.Sprintf("%q", attrs.User.Name), nil
	}
	info := attrs.Info
	if !info.IsResourceRequest {
		return a.static(info)
	}
	// The object a request is about: its name, or for a list or watch
	// the name its field selector pins.
	name := info.Name
	var sel fields.Selector
	if info.Verb == "list" || info.Verb == "watch" {
		sel = fieldSelector(ctx)
		if name == "" {
			name = exact(sel, "metadata.name")
		}
	}
	c := check{a: a, node: node, info: info, name: name}
	switch info.APIGroup + "/" + info.Resource {
	case "/secrets":
		return c.readNamespaced(secretKind)
	case "/configmaps":
		return c.readNamespaced(configMapKind)
	case "/serviceaccounts":
		if info.Verb == "create" && info.Subresource == "token" {
			return c.related(vertex{serviceAccountKind, info.Namespace, name})
		}
		return c.readNamespaced(serviceAccountKind)
	case "/persistentvolumeclaims":
		if (info.Verb == "update" || info.Verb == "patch") && info.Subresource == "status" {
			return c.related(vertex{pvcKind, info.Namespace, name})
		}
		if info.Verb != "get" || info.Subresource != "" {
			return c.no("can only get persistentvolumeclaims and update their status")
		}
		return c.related(vertex{pvcKind, info.Namespace, name})
	case "/persistentvolumes":
		if info.Verb != "get" || info.Subresource != "" || name == "" {
			return c.no("can only get individual persistentvolumes")
		}
		return c.allowIf(a.g.pvReachable, name)
	case "/pods":
		return c.pods(sel)
	case "/nodes":
		return c.nodes()
	case "coordination.k8s.io/leases":
		return c.lease()
	case "certificates.k8s.io/certificatesigningrequests":
		return c.csr(attrs.User.Name)
	case "storage.k8s.io/volumeattachments":
		if info.Verb != "get" || info.Subresource != "" || name == "" {
			return c.no("can only get individual volumeattachments")
		}
		a.mu.RLock()
		defer a.mu.RUnlock()
		if n, ok := a.g.vaNode[name]; ok && n == node {
			return authz.Allow, "", nil
		}
		return c.noRelation()
	}
	return a.static(info)
}

// static applies the system:node rules to resources the authorizer does
// not narrow.
func (a *Authorizer) static(info *request.Info) (authz.Decision, string, error) {
	if rbac.RulesAllow(info, a.rules) {
		return authz.Allow, "", nil
	}
	return authz.NoOpinion, "", nil
}

// check is one request of one node.
type check struct {
	a    *Authorizer
	node string
	info *request.Info
	name string
}

func (c check) no(why string) (authz.Decision, string, error) {
	return authz.NoOpinion, fmt.Sprintf("node %q %s", c.node, why), nil
}

func (c check) noRelation() (authz.Decision, string, error) {
	return c.no("has no relationship with this object")
}

// readNamespaced allows get (and list/watch of one named object) of an
// object a pod of the node refers to.
func (c check) readNamespaced(k kind) (authz.Decision, string, error) {
	switch c.info.Verb {
	case "get", "list", "watch":
	default:
		return c.no("can only read resources of this type")
	}
	if c.info.Subresource != "" {
		return c.no("cannot read subresources of this type")
	}
	if c.info.Namespace == "" || c.name == "" {
		return c.no("can only read individual namespaced objects of this type")
	}
	return c.related(vertex{k, c.info.Namespace, c.name})
}

func (c check) related(v vertex) (authz.Decision, string, error) {
	if v.namespace == "" || v.name == "" {
		return c.no("can only access individual namespaced objects of this type")
	}
	c.a.mu.RLock()
	defer c.a.mu.RUnlock()
	var ok bool
	switch v.kind {
	case secretKind:
		ok = c.a.g.secretReachable(c.node, nsName{v.namespace, v.name})
	default:
		ok = c.a.g.refers(c.node, v)
	}
	if ok {
		return authz.Allow, "", nil
	}
	return c.noRelation()
}

func (c check) allowIf(pred func(node, name string) bool, name string) (authz.Decision, string, error) {
	c.a.mu.RLock()
	defer c.a.mu.RUnlock()
	if pred(c.node, name) {
		return authz.Allow, "", nil
	}
	return c.noRelation()
}

// pods: reads only of pods bound to the node (a list or watch must select
// spec.nodeName=<node> or one bound pod by name); other verbs (mirror pod
// create/delete, status, eviction) by the static rules, narrowed by
// NodeRestriction.
func (c check) pods(sel fields.Selector) (authz.Decision, string, error) {
	info := c.info
	if info.Subresource != "" || (info.Verb != "get" && info.Verb != "list" && info.Verb != "watch") {
		return c.a.static(info)
	}
	if info.Verb != "get" && exact(sel, "spec.nodeName") == c.node {
		return authz.Allow, "", nil
	}
	if info.Namespace == "" || c.name == "" {
		return c.no("can only list and watch pods with the field selector spec.nodeName=" + c.node)
	}
	c.a.mu.RLock()
	defer c.a.mu.RUnlock()
	if p, ok := c.a.g.pods[nsName{info.Namespace, c.name}]; ok && p.node == c.node {
		return authz.Allow, "", nil
	}
	return c.no("can only read pods bound to it")
}

// nodes: read, update and patch only its own Node (and status); create is
// left to NodeRestriction, which checks the created name.
func (c check) nodes() (authz.Decision, string, error) {
	info := c.info
	switch {
	case info.Verb == "create" && info.Subresource == "":
		return authz.Allow, "", nil
	case info.Subresource != "" && info.Subresource != "status":
		return c.no("cannot access this subresource of nodes")
	}
	switch info.Verb {
	case "get", "list", "watch", "update", "patch":
	default:
		return c.no("cannot " + info.Verb + " nodes")
	}
	if info.Subresource == "status" && info.Verb != "update" && info.Verb != "patch" && info.Verb != "get" {
		return c.no("cannot " + info.Verb + " nodes/status")
	}
	if c.name != c.node {
		return c.no("can only access its own Node object")
	}
	return authz.Allow, "", nil
}

// lease: its own Lease in kube-node-lease.
func (c check) lease() (authz.Decision, string, error) {
	info := c.info
	switch info.Verb {
	case "get", "create", "update", "patch", "delete":
	default:
		return c.no("can only get, create, update, patch or delete its lease")
	}
	if info.Subresource != "" || info.Namespace != LeaseNamespace {
		return c.no("can only access leases in " + LeaseNamespace)
	}
	if info.Verb != "create" && c.name != c.node {
		return c.no("can only access its own lease")
	}
	return authz.Allow, "", nil
}

// csr: create any; read only those whose spec.username is the node.
func (c check) csr(username string) (authz.Decision, string, error) {
	info := c.info
	if info.Subresource != "" {
		return c.a.static(info)
	}
	switch info.Verb {
	case "create":
		return authz.Allow, "", nil
	case "get", "list", "watch":
	default:
		return c.no("can only create and read its certificatesigningrequests")
	}
	if c.name == "" {
		return c.no("can only read individual certificatesigningrequests")
	}
	c.a.mu.RLock()
	defer c.a.mu.RUnlock()
	if owner, ok := c.a.g.csrOwner[c.name]; ok && owner == username {
		return authz.Allow, "", nil
	}
	return c.no("can only read its own certificatesigningrequests")
}
