package openapi

import (
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var allVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// builtin describes a built-in resource with every standard verb.
func builtin(gv schema.GroupVersion, kind, plural string, namespaced bool, obj, list any, subresources ...string) Resource {
	return Resource{
		GVK: gv.WithKind(kind), Plural: plural, Namespaced: namespaced, Verbs: allVerbs,
		Subresources: subresources, GoType: reflect.TypeOf(obj), GoListType: reflect.TypeOf(list),
	}
}

// createOnly describes a review-style resource that is only POSTed.
func createOnly(gv schema.GroupVersion, kind, plural string, namespaced bool, obj any) Resource {
	return Resource{GVK: gv.WithKind(kind), Plural: plural, Namespaced: namespaced, Verbs: []string{"create"}, GoType: reflect.TypeOf(obj)}
}

// builtinResources is the built-in set the task names.
func builtinResources() []Resource {
	core := corev1.SchemeGroupVersion
	apps := appsv1.SchemeGroupVersion
	rbac := rbacv1.SchemeGroupVersion
	authn := authenticationv1.SchemeGroupVersion
	authz := authorizationv1.SchemeGroupVersion
	return []Resource{
		builtin(core, "Namespace", "namespaces", false, corev1.Namespace{}, corev1.NamespaceList{}, "status", "finalize"),
		builtin(core, "ConfigMap", "configmaps", true, corev1.ConfigMap{}, corev1.ConfigMapList{}),
		builtin(core, "Secret", "secrets", true, corev1.Secret{}, corev1.SecretList{}),
		builtin(core, "ServiceAccount", "serviceaccounts", true, corev1.ServiceAccount{}, corev1.ServiceAccountList{}, "token"),
		builtin(core, "Node", "nodes", false, corev1.Node{}, corev1.NodeList{}, "status", "proxy"),
		builtin(core, "Pod", "pods", true, &corev1.Pod{}, &corev1.PodList{}, "status", "binding", "eviction", "ephemeralcontainers", "log", "exec"),
		builtin(core, "Service", "services", true, corev1.Service{}, corev1.ServiceList{}, "status"),
		builtin(core, "Endpoints", "endpoints", true, corev1.Endpoints{}, corev1.EndpointsList{}),
		builtin(core, "Event", "events", true, corev1.Event{}, corev1.EventList{}),
		builtin(apps, "Deployment", "deployments", true, appsv1.Deployment{}, appsv1.DeploymentList{}, "status", "scale"),
		builtin(apps, "ReplicaSet", "replicasets", true, appsv1.ReplicaSet{}, appsv1.ReplicaSetList{}, "status", "scale"),
		builtin(apps, "StatefulSet", "statefulsets", true, appsv1.StatefulSet{}, appsv1.StatefulSetList{}, "status", "scale"),
		builtin(apps, "DaemonSet", "daemonsets", true, appsv1.DaemonSet{}, appsv1.DaemonSetList{}, "status"),
		builtin(coordinationv1.SchemeGroupVersion, "Lease", "leases", true, coordinationv1.Lease{}, coordinationv1.LeaseList{}),
		builtin(rbac, "Role", "roles", true, rbacv1.Role{}, rbacv1.RoleList{}),
		builtin(rbac, "RoleBinding", "rolebindings", true, rbacv1.RoleBinding{}, rbacv1.RoleBindingList{}),
		builtin(rbac, "ClusterRole", "clusterroles", false, rbacv1.ClusterRole{}, rbacv1.ClusterRoleList{}),
		builtin(rbac, "ClusterRoleBinding", "clusterrolebindings", false, rbacv1.ClusterRoleBinding{}, rbacv1.ClusterRoleBindingList{}),
		builtin(certificatesv1.SchemeGroupVersion, "CertificateSigningRequest", "certificatesigningrequests", false,
			certificatesv1.CertificateSigningRequest{}, certificatesv1.CertificateSigningRequestList{}, "status", "approval"),
		builtin(apiextensionsv1.SchemeGroupVersion, "CustomResourceDefinition", "customresourcedefinitions", false,
			apiextensionsv1.CustomResourceDefinition{}, apiextensionsv1.CustomResourceDefinitionList{}, "status"),
		builtin(eventsv1.SchemeGroupVersion, "Event", "events", true, eventsv1.Event{}, eventsv1.EventList{}),
		createOnly(authn, "TokenReview", "tokenreviews", false, authenticationv1.TokenReview{}),
		createOnly(authn, "SelfSubjectReview", "selfsubjectreviews", false, authenticationv1.SelfSubjectReview{}),
		createOnly(authz, "SubjectAccessReview", "subjectaccessreviews", false, authorizationv1.SubjectAccessReview{}),
		createOnly(authz, "SelfSubjectAccessReview", "selfsubjectaccessreviews", false, authorizationv1.SelfSubjectAccessReview{}),
		createOnly(authz, "LocalSubjectAccessReview", "localsubjectaccessreviews", true, authorizationv1.LocalSubjectAccessReview{}),
		createOnly(authz, "SelfSubjectRulesReview", "selfsubjectrulesreviews", false, authorizationv1.SelfSubjectRulesReview{}),
	}
}

func ptrFloat(f float64) *float64 { return &f }

// widgetResource returns a custom resource version like the one kubectl's
// survey used (survey.example.com/v1 Widget), with a status subresource.
func widgetResource(version string, extraProp string) Resource {
	spec := apiextensionsv1.JSONSchemaProps{
		Type:        "object",
		Description: "Spec is the desired widget.",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"color": {Type: "string", Description: "Colour of the widget.", Enum: []apiextensionsv1.JSON{{Raw: []byte(`"blue"`)}, {Raw: []byte(`"red"`)}}},
			"size":  {Type: "integer", Minimum: ptrFloat(1), Description: "Size in centimetres."},
			"tags": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{Type: "string"}},
				XListType: ptrString("set")},
			"note": {Type: "string", Nullable: true},
		},
		Required: []string{"color"},
	}
	if extraProp != "" {
		spec.Properties[extraProp] = apiextensionsv1.JSONSchemaProps{Type: "string"}
	}
	return Resource{
		GVK:      schema.GroupVersionKind{Group: "survey.example.com", Version: version, Kind: "Widget"},
		ListKind: "WidgetList", Plural: "widgets", Namespaced: true, Verbs: allVerbs, Subresources: []string{"status", "scale"},
		CRDSchema: &apiextensionsv1.JSONSchemaProps{
			Type:        "object",
			Description: "Widget is a test custom resource.",
			Properties: map[string]apiextensionsv1.JSONSchemaProps{
				"spec":   spec,
				"status": {Type: "object", XPreserveUnknownFields: ptrBool(true)},
			},
		},
	}
}

func ptrString(s string) *string { return &s }
func ptrBool(b bool) *bool       { return &b }
