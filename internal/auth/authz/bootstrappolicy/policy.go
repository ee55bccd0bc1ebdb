package bootstrappolicy

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations of the default policy.
const (
	// AutoUpdateAnnotation, when "false" on a stored object, stops the
	// reconciliation at start from changing it.
	AutoUpdateAnnotation = "rbac.authorization.kubernetes.io/autoupdate"
	// BootstrappingLabel marks objects of the default policy.
	BootstrappingLabel      = "kubernetes.io/bootstrapping"
	BootstrappingLabelValue = "rbac-defaults"

	// The labels that feed the aggregated admin, edit and view roles.
	AggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
	AggregateToEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	AggregateToView  = "rbac.authorization.k8s.io/aggregate-to-view"
)

// Well-known users, groups and namespaces the policy refers to.
const (
	GroupMasters         = "system:masters"
	GroupAuthenticated   = "system:authenticated"
	GroupUnauthenticated = "system:unauthenticated"
	GroupNodes           = "system:nodes"
	UserAnonymous        = "system:anonymous"
	UserKubeProxy        = "system:kube-proxy"
	// UserAPIServerKubeletClient is the API server towards node agents.
	UserAPIServerKubeletClient = "kube-apiserver-kubelet-client"
	UserControllerManager      = "system:kube-controller-manager"
	NamespaceSystem            = "kube-system"
	NamespacePublic            = "kube-public"
	ClusterInfoConfigMap       = "cluster-info"
	DefaultBootstrapperGroup   = "system:bootstrappers:kubeadm:default-node-token"
)

// API groups used below.
const (
	legacy         = ""
	apps           = "apps"
	autoscaling    = "autoscaling"
	batch          = "batch"
	extensions     = "extensions"
	policy         = "policy"
	networking     = "networking.k8s.io"
	discovery      = "discovery.k8s.io"
	rbacGroup      = "rbac.authorization.k8s.io"
	authorization  = "authorization.k8s.io"
	authentication = "authentication.k8s.io"
	certificates   = "certificates.k8s.io"
	coordination   = "coordination.k8s.io"
	storage        = "storage.k8s.io"
	nodeGroup      = "node.k8s.io"
	events         = "events.k8s.io"
)

// Verb sets, as the documentation groups them.
func read() []string  { return []string{"get", "list", "watch"} }
func write() []string { return []string{"create", "update", "patch", "delete", "deletecollection"} }
func readWrite() []string {
	return append(read(), write()...)
}

// r is one resource rule: verbs on resources of one API group.
func r(verbs []string, group string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: append([]string{}, verbs...), APIGroups: []string{group}, Resources: resources}
}

// named restricts a rule to resource names.
func named(rule rbacv1.PolicyRule, names ...string) rbacv1.PolicyRule {
	rule.ResourceNames = names
	return rule
}

// urls is a non-resource rule.
func urls(verbs []string, paths ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: append([]string{}, verbs...), NonResourceURLs: paths}
}

func v(verbs ...string) []string { return verbs }

// eventWrites lets a component record events in both event APIs.
func eventWrites() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		r(v("create", "update", "patch"), legacy, "events"),
		r(v("create", "update", "patch"), events, "events"),
	}
}

func objectMeta(namespace, name string, labels map[string]string) metav1.ObjectMeta {
	l := map[string]string{BootstrappingLabel: BootstrappingLabelValue}
	for k, val := range labels {
		l[k] = val
	}
	return metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: l,
		Annotations: map[string]string{AutoUpdateAnnotation: "true"}}
}

func aggregation(label string) *rbacv1.AggregationRule {
	return &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
		{MatchLabels: map[string]string{label: "true"}},
	}}
}

// clusterRoleSpec is one row of the cluster role table.
type clusterRoleSpec struct {
	name      string
	labels    map[string]string
	aggregate string // label selecting the parts, for aggregated roles
	rules     []rbacv1.PolicyRule
}

func clusterRoleTable() []clusterRoleSpec {
	return []clusterRoleSpec{
		{name: "cluster-admin", rules: []rbacv1.PolicyRule{
			r(v("*"), "*", "*"),
			urls(v("*"), "*"),
		}},
		{name: "admin", aggregate: AggregateToAdmin},
		{name: "edit", aggregate: AggregateToEdit, labels: map[string]string{AggregateToAdmin: "true"}},
		{name: "view", aggregate: AggregateToView, labels: map[string]string{AggregateToEdit: "true"}},
		{name: "system:aggregate-to-admin", labels: map[string]string{AggregateToAdmin: "true"}, rules: []rbacv1.PolicyRule{
			r(v("create"), authorization, "localsubjectaccessreviews"),
			r(readWrite(), rbacGroup, "roles", "rolebindings"),
		}},
		{name: "system:aggregate-to-edit", labels: map[string]string{AggregateToEdit: "true"}, rules: []rbacv1.PolicyRule{
			// Reading these can escalate (exec, secrets), so view lacks them.
			r(read(), legacy, "pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"),
			r(v("impersonate"), legacy, "serviceaccounts"),
			r(write(), legacy, "pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"),
			r(v("create"), legacy, "pods/eviction"),
			r(write(), legacy, "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
				"services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets", "events"),
			r(v("create"), legacy, "serviceaccounts/token"),
			r(write(), apps, "statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
				"deployments/rollback", "replicasets", "replicasets/scale"),
			r(write(), autoscaling, "horizontalpodautoscalers"),
			r(write(), batch, "jobs", "cronjobs"),
			r(write(), extensions, "daemonsets", "deployments", "deployments/scale", "deployments/rollback", "ingresses",
				"replicasets", "replicasets/scale", "replicationcontrollers/scale", "networkpolicies"),
			r(write(), policy, "poddisruptionbudgets"),
			r(write(), networking, "networkpolicies", "ingresses"),
		}},
		{name: "system:aggregate-to-view", labels: map[string]string{AggregateToView: "true"}, rules: []rbacv1.PolicyRule{
			r(read(), legacy, "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
				"services", "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps"),
			r(read(), legacy, "limitranges", "resourcequotas", "bindings", "events", "pods/status", "resourcequotas/status",
				"namespaces/status", "replicationcontrollers/status", "pods/log"),
			// Read access to namespaces within a namespace means reading that namespace.
			r(read(), legacy, "namespaces"),
			r(read(), discovery, "endpointslices"),
			r(read(), apps, "controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
				"daemonsets", "daemonsets/status", "deployments", "deployments/status", "deployments/scale",
				"replicasets", "replicasets/status", "replicasets/scale"),
			r(read(), autoscaling, "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
			r(read(), batch, "jobs", "cronjobs", "cronjobs/status", "jobs/status"),
			r(read(), extensions, "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
				"ingresses", "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status",
				"replicationcontrollers/scale", "networkpolicies"),
			r(read(), policy, "poddisruptionbudgets", "poddisruptionbudgets/status"),
			r(read(), networking, "networkpolicies", "ingresses", "ingresses/status"),
		}},
		{name: "system:basic-user", rules: []rbacv1.PolicyRule{
			r(v("create"), authorization, "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
			r(v("create"), authentication, "selfsubjectreviews"),
		}},
		{name: "system:discovery", rules: []rbacv1.PolicyRule{
			urls(v("get"), "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
				"/readyz", "/version", "/version/"),
		}},
		{name: "system:service-account-issuer-discovery", rules: []rbacv1.PolicyRule{
			urls(v("get"), "/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks", "/openid/v1/jwks/"),
		}},
		{name: "system:public-info-viewer", rules: []rbacv1.PolicyRule{
			urls(v("get"), "/healthz", "/livez", "/readyz", "/version", "/version/"),
		}},
		{name: "system:node-bootstrapper", rules: []rbacv1.PolicyRule{
			r(v("create", "get", "list", "watch"), certificates, "certificatesigningrequests"),
		}},
		{name: "system:certificates.k8s.io:certificatesigningrequests:nodeclient", rules: []rbacv1.PolicyRule{
			r(v("create"), certificates, "certificatesigningrequests/nodeclient"),
		}},
		{name: "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", rules: []rbacv1.PolicyRule{
			r(v("create"), certificates, "certificatesigningrequests/selfnodeclient"),
		}},
		{name: "system:node-proxier", rules: append([]rbacv1.PolicyRule{
			r(v("list", "watch"), legacy, "services", "endpoints"),
			r(read(), legacy, "nodes"),
			r(v("list", "watch"), discovery, "endpointslices"),
		}, eventWrites()...)},
		{name: "system:kube-controller-manager", rules: append(eventWrites(),
			// Leader election.
			r(v("create"), coordination, "leases"),
			named(r(v("get", "update"), coordination, "leases"), "kube-controller-manager"),
			// The token and service account controllers.
			r(v("create"), legacy, "secrets", "serviceaccounts"),
			r(v("delete"), legacy, "secrets"),
			r(v("get"), legacy, "configmaps", "namespaces", "secrets", "serviceaccounts"),
			r(v("update"), legacy, "secrets", "serviceaccounts"),
			// Delegated authentication and authorization checks.
			r(v("create"), authentication, "tokenreviews"),
			r(v("create"), authorization, "subjectaccessreviews"),
			// Shared informers watch everything.
			r(v("list", "watch"), "*", "*"),
			r(v("create"), legacy, "serviceaccounts/token"),
		)},
		{name: "system:node", rules: NodeRules()},
		// Full use of the kubelet API (the API server's nodes/proxy
		// identity holds it).
		{name: "system:kubelet-api-admin", rules: []rbacv1.PolicyRule{
			r(v("get", "list", "watch", "proxy"), legacy, "nodes"),
			r(v("*"), legacy, "nodes/proxy", "nodes/log", "nodes/stats", "nodes/metrics", "nodes/spec", "nodes/configz", "nodes/healthz", "nodes/pods"),
		}},
		// The node lifecycle controller (it marks and taints silent nodes;
		// it evicts no pods, so it gets no pod rights).
		{name: "system:controller:node-controller", rules: append([]rbacv1.PolicyRule{
			r(v("get", "list", "patch", "update"), legacy, "nodes"),
			r(v("patch", "update"), legacy, "nodes/status"),
		}, eventWrites()...)},
		// The service account controller and the root CA publisher.
		{name: "system:controller:service-account-controller", rules: append([]rbacv1.PolicyRule{
			r(v("create"), legacy, "serviceaccounts"),
		}, eventWrites()...)},
		{name: "system:controller:root-ca-cert-publisher", rules: append([]rbacv1.PolicyRule{
			r(v("create", "update"), legacy, "configmaps"),
		}, eventWrites()...)},
		// The PVC and PV protection controllers.
		{name: "system:controller:pvc-protection-controller", rules: append([]rbacv1.PolicyRule{
			r(v("get", "list", "watch", "update", "patch"), legacy, "persistentvolumeclaims"),
			r(v("list", "watch", "get"), legacy, "pods"),
		}, eventWrites()...)},
		{name: "system:controller:pv-protection-controller", rules: append([]rbacv1.PolicyRule{
			r(v("get", "list", "watch", "update", "patch"), legacy, "persistentvolumes"),
		}, eventWrites()...)},
		// The resource quota controller counts every kind of object.
		{name: "system:controller:resourcequota-controller", rules: append([]rbacv1.PolicyRule{
			r(v("list", "watch"), "*", "*"),
			r(v("update"), legacy, "resourcequotas/status"),
		}, eventWrites()...)},
		// The namespace controller deletes every kind of content, then
		// reports on and finalizes the namespace.
		{name: "system:controller:namespace-controller", rules: append([]rbacv1.PolicyRule{
			r(v("get", "list", "watch", "delete", "deletecollection"), "*", "*"),
			r(v("update"), legacy, "namespaces/finalize", "namespaces/status"),
		}, eventWrites()...)},
		// The garbage collector reads, patches and deletes every kind.
		{name: "system:controller:generic-garbage-collector", rules: append([]rbacv1.PolicyRule{
			r(v("get", "list", "watch", "patch", "update", "delete"), "*", "*"),
		}, eventWrites()...)},
		// The CSR approving, signing and cleaning controllers.
		{name: "system:controller:certificate-controller", rules: append([]rbacv1.PolicyRule{
			r(v("get", "list", "watch", "delete"), certificates, "certificatesigningrequests"),
			r(v("update"), certificates, "certificatesigningrequests/approval", "certificatesigningrequests/status"),
			named(r(v("approve"), certificates, "signers"), "kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving"),
			named(r(v("sign"), certificates, "signers"), "kubernetes.io/kube-apiserver-client", "kubernetes.io/kube-apiserver-client-kubelet",
				"kubernetes.io/kubelet-serving", "kubernetes.io/legacy-unknown"),
			r(v("create"), authorization, "subjectaccessreviews"),
			// Kubelet serving approval checks the Node's addresses.
			r(v("get"), legacy, "nodes"),
			// The issuance record of every signed certificate.
			r(v("create", "get"), "kastle.io", "issuedcertificates"),
		}, eventWrites()...)},
	}
}

// NodeRules are the rules of the system:node ClusterRole: what a kubelet
// needs. The role is not bound to system:nodes (its binding has no
// subjects); the Node authorizer grants these rules to node identities,
// narrowing reads of secrets, config maps, volumes and service accounts to
// the objects of the node's pods, and the NodeRestriction admission plugin
// narrows writes to the node's own Node, Lease and pods. Each call returns
// a new slice.
func NodeRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// Delegated authentication and authorization of the kubelet API.
		r(v("create"), authentication, "tokenreviews"),
		r(v("create"), authorization, "subjectaccessreviews", "localsubjectaccessreviews"),
		// Service environment variables.
		r(read(), legacy, "services"),
		// Register and report status (NodeRestriction: only its own Node).
		r(v("create", "get", "list", "watch"), legacy, "nodes"),
		r(v("update", "patch"), legacy, "nodes/status"),
		r(v("update", "patch"), legacy, "nodes"),
		r(read(), legacy, "pods"),
		// Mirror pods, pod status and evictions.
		r(v("create", "delete"), legacy, "pods"),
		r(v("update", "patch"), legacy, "pods/status"),
		r(v("create"), legacy, "pods/eviction"),
		// Volumes and environment (Node authorizer: only for its pods).
		r(v("get", "list", "watch"), legacy, "secrets", "configmaps"),
		r(v("get"), legacy, "persistentvolumeclaims", "persistentvolumes"),
		r(v("get", "update", "patch"), legacy, "persistentvolumeclaims/status"),
		r(v("get"), legacy, "endpoints"),
		// Client certificate rotation.
		r(v("create", "get", "list", "watch"), certificates, "certificatesigningrequests"),
		// Heartbeats (Node authorizer: only its own Lease).
		r(v("get", "create", "update", "patch", "delete"), coordination, "leases"),
		// CSI.
		r(v("get"), storage, "volumeattachments"),
		r(read(), storage, "csidrivers"),
		r(v("get", "create", "update", "patch", "delete"), storage, "csinodes"),
		r(read(), nodeGroup, "runtimeclasses"),
		// Tokens for its pods' service accounts.
		r(v("create"), legacy, "serviceaccounts/token"),
		r(v("create", "update", "patch"), legacy, "events"),
	}
}

// ClusterRoles returns the default ClusterRoles. The aggregated admin,
// edit and view roles have no rules of their own: the aggregation
// controller fills them in from the roles their selectors match.
func ClusterRoles() []rbacv1.ClusterRole {
	table := clusterRoleTable()
	out := make([]rbacv1.ClusterRole, 0, len(table))
	for _, s := range table {
		cr := rbacv1.ClusterRole{ObjectMeta: objectMeta("", s.name, s.labels), Rules: s.rules}
		if s.aggregate != "" {
			cr.AggregationRule = aggregation(s.aggregate)
		}
		out = append(out, cr)
	}
	return out
}

// subject constructors.
func group(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacGroup, Name: name}
}

func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacGroup, Name: name}
}

func serviceAccount(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

func clusterRoleBinding(name, role string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{ObjectMeta: objectMeta("", name, nil),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: role},
		Subjects: subjects}
}

// ClusterRoleBindings returns the default ClusterRoleBindings. The
// system:node binding has no subjects: node permissions come from the
// Node authorizer.
func ClusterRoleBindings() []rbacv1.ClusterRoleBinding {
	return []rbacv1.ClusterRoleBinding{
		clusterRoleBinding("cluster-admin", "cluster-admin", group(GroupMasters)),
		clusterRoleBinding("system:basic-user", "system:basic-user", group(GroupAuthenticated)),
		clusterRoleBinding("system:discovery", "system:discovery", group(GroupAuthenticated)),
		clusterRoleBinding("system:public-info-viewer", "system:public-info-viewer",
			group(GroupAuthenticated), group(GroupUnauthenticated)),
		clusterRoleBinding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery", group("system:serviceaccounts")),
		clusterRoleBinding("system:node-proxier", "system:node-proxier", userSubject(UserKubeProxy)),
		clusterRoleBinding("system:kube-controller-manager", "system:kube-controller-manager", userSubject(UserControllerManager)),
		// The controller manager runs the certificate controllers under its
		// own identity as well as the upstream service account.
		clusterRoleBinding("system:controller:certificate-controller", "system:controller:certificate-controller",
			serviceAccount(NamespaceSystem, "certificate-controller"), userSubject(UserControllerManager)),
		clusterRoleBinding("system:kube-apiserver-kubelet-client", "system:kubelet-api-admin", userSubject(UserAPIServerKubeletClient)),
		clusterRoleBinding("system:controller:node-controller", "system:controller:node-controller",
			serviceAccount(NamespaceSystem, "node-controller"), userSubject(UserControllerManager)),
		clusterRoleBinding("system:controller:service-account-controller", "system:controller:service-account-controller",
			serviceAccount(NamespaceSystem, "service-account-controller"), userSubject(UserControllerManager)),
		clusterRoleBinding("system:controller:root-ca-cert-publisher", "system:controller:root-ca-cert-publisher",
			serviceAccount(NamespaceSystem, "root-ca-cert-publisher"), userSubject(UserControllerManager)),
		clusterRoleBinding("system:controller:pvc-protection-controller", "system:controller:pvc-protection-controller",
			serviceAccount(NamespaceSystem, "pvc-protection-controller"), userSubject(UserControllerManager)),
		clusterRoleBinding("system:controller:pv-protection-controller", "system:controller:pv-protection-controller",
			serviceAccount(NamespaceSystem, "pv-protection-controller"), userSubject(UserControllerManager)),
		clusterRoleBinding("system:controller:resourcequota-controller", "system:controller:resourcequota-controller",
			serviceAccount(NamespaceSystem, "resourcequota-controller"), userSubject(UserControllerManager)),
		// The controllers that may delete anything act as their service
		// accounts only, not with the controller manager's identity.
		clusterRoleBinding("system:controller:namespace-controller", "system:controller:namespace-controller",
			serviceAccount(NamespaceSystem, "namespace-controller")),
		clusterRoleBinding("system:controller:generic-garbage-collector", "system:controller:generic-garbage-collector",
			serviceAccount(NamespaceSystem, "generic-garbage-collector")),
		clusterRoleBinding("system:node", "system:node"),
	}
}

// Roles returns the default namespaced Roles: the bootstrap-signer and
// token-cleaner roles, the reader of the front-proxy/authentication
// ConfigMap in kube-system, and in kube-public the role letting the
// bootstrap signer update cluster-info and the role letting anonymous
// users read it.
func Roles() []rbacv1.Role {
	role := func(ns, name string, rules ...rbacv1.PolicyRule) rbacv1.Role {
		return rbacv1.Role{ObjectMeta: objectMeta(ns, name, nil), Rules: rules}
	}
	return []rbacv1.Role{
		role(NamespaceSystem, "system:controller:bootstrap-signer", r(read(), legacy, "secrets")),
		role(NamespaceSystem, "system:controller:token-cleaner", append([]rbacv1.PolicyRule{
			r(v("delete", "get", "list", "watch"), legacy, "secrets")}, eventWrites()...)...),
		role(NamespaceSystem, "extension-apiserver-authentication-reader",
			named(r(read(), legacy, "configmaps"), "extension-apiserver-authentication")),
		role(NamespacePublic, "system:controller:bootstrap-signer", append([]rbacv1.PolicyRule{
			r(read(), legacy, "configmaps"),
			named(r(v("update"), legacy, "configmaps"), ClusterInfoConfigMap)}, eventWrites()...)...),
		role(NamespacePublic, "kubeadm:bootstrap-signer-clusterinfo",
			named(r(v("get"), legacy, "configmaps"), ClusterInfoConfigMap)),
	}
}

// RoleBindings returns the default RoleBindings matching Roles. The
// cluster-info reader is bound to the user system:anonymous, so
// unauthenticated joiners can fetch the signed cluster-info ConfigMap.
func RoleBindings() []rbacv1.RoleBinding {
	binding := func(ns, name string, subjects ...rbacv1.Subject) rbacv1.RoleBinding {
		return rbacv1.RoleBinding{ObjectMeta: objectMeta(ns, name, nil),
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "Role", Name: name},
			Subjects: subjects}
	}
	return []rbacv1.RoleBinding{
		// The controller manager runs these controllers under its own
		// identity as well as the upstream service accounts.
		binding(NamespaceSystem, "system:controller:bootstrap-signer", serviceAccount(NamespaceSystem, "bootstrap-signer"), userSubject(UserControllerManager)),
		binding(NamespaceSystem, "system:controller:token-cleaner", serviceAccount(NamespaceSystem, "token-cleaner"), userSubject(UserControllerManager)),
		binding(NamespacePublic, "system:controller:bootstrap-signer", serviceAccount(NamespaceSystem, "bootstrap-signer"), userSubject(UserControllerManager)),
		binding(NamespacePublic, "kubeadm:bootstrap-signer-clusterinfo", userSubject(UserAnonymous)),
	}
}

// NodeBootstrapBindings returns the ClusterRoleBindings kubeadm adds for
// kubelet TLS bootstrap: members of bootstrapperGroup (e.g.
// DefaultBootstrapperGroup) may create CSRs and have node-client CSRs
// auto-approved, and nodes may have their renewal CSRs auto-approved.
// They are not part of Kubernetes' own default policy and carry no
// autoupdate annotation.
func NodeBootstrapBindings(bootstrapperGroup string) []rbacv1.ClusterRoleBinding {
	b := func(name, role string, s rbacv1.Subject) rbacv1.ClusterRoleBinding {
		return rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: role},
			Subjects: []rbacv1.Subject{s}}
	}
	return []rbacv1.ClusterRoleBinding{
		b("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", group(bootstrapperGroup)),
		b("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", group(bootstrapperGroup)),
		b("kubeadm:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", group(GroupNodes)),
	}
}
