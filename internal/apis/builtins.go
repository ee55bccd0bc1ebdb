package apis

import (
	"reflect"
	"strconv"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kastle-dev/kastle/internal/apis/eventsconv"
	"github.com/kastle-dev/kastle/internal/apis/hpaconv"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// builtin is the compact form of a catalogue row for a type of k8s.io/api.
type builtin struct {
	gv         schema.GroupVersion
	obj, list  runtime.Object
	plural     string
	singular   string
	namespaced bool
	short      []string
	categories []string
	// subresources beyond the object itself: "status", "approval", "scale",
	// "finalize", …
	sub        []string
	generation bool
	// virtual resources are create-only reviews answered by the server,
	// never stored (SelfSubjectReview, SubjectAccessReview, …).
	virtual bool
	// verbs replaces the standard verbs (componentstatuses: get, list).
	verbs []string
	// deprecated is the warning clients get about the resource.
	deprecated string
	fields     func(obj runtime.Object) fields.Set
	// fromStorage/toStorage: this row is served from the storage of
	// another version of the same resource (autoscaling/v1 HPAs).
	fromStorage, toStorage func(runtime.Object) (runtime.Object, error)
	// storedAs names the storage of another group's resource this row is
	// served from ("events" of core for events.k8s.io).
	storedAs *schema.GroupResource
}

var (
	core          = schema.GroupVersion{Version: "v1"}
	apps          = appsv1.SchemeGroupVersion
	coordination  = coordinationv1.SchemeGroupVersion
	rbac          = rbacv1.SchemeGroupVersion
	certificates  = certificatesv1.SchemeGroupVersion
	apiext        = apiextensionsv1.SchemeGroupVersion
	events        = eventsv1.SchemeGroupVersion
	authn         = authenticationv1.SchemeGroupVersion
	authz         = authorizationv1.SchemeGroupVersion
	autoscalingV1 = autoscalingv1.SchemeGroupVersion
	autoscalingV2 = autoscalingv2.SchemeGroupVersion
	batch         = batchv1.SchemeGroupVersion
	policy        = policyv1.SchemeGroupVersion
)

// builtinTable lists every built-in resource kastle serves. Order is the
// order of discovery documents.
func builtinTable() []builtin {
	all := []string{"all"}
	return []builtin{
		{gv: core, obj: &corev1.Namespace{}, list: &corev1.NamespaceList{}, plural: "namespaces", short: []string{"ns"}, sub: []string{"status", "finalize"}, fields: namespaceFields},
		{gv: core, obj: &corev1.ConfigMap{}, list: &corev1.ConfigMapList{}, plural: "configmaps", namespaced: true, short: []string{"cm"}},
		{gv: core, obj: &corev1.Secret{}, list: &corev1.SecretList{}, plural: "secrets", namespaced: true, fields: secretFields},
		{gv: core, obj: &corev1.ServiceAccount{}, list: &corev1.ServiceAccountList{}, plural: "serviceaccounts", namespaced: true, short: []string{"sa"}, sub: []string{"token"}},
		{gv: core, obj: &corev1.Node{}, list: &corev1.NodeList{}, plural: "nodes", short: []string{"no"}, sub: []string{"status", "proxy"}, fields: nodeFields},
		{gv: core, obj: &corev1.Pod{}, list: &corev1.PodList{}, plural: "pods", namespaced: true, short: []string{"po"}, categories: all, sub: []string{"status", "binding", "eviction", "ephemeralcontainers"}, fields: podFields},
		{gv: core, obj: &corev1.PersistentVolumeClaim{}, list: &corev1.PersistentVolumeClaimList{}, plural: "persistentvolumeclaims", namespaced: true, short: []string{"pvc"}, sub: []string{"status"}},
		{gv: core, obj: &corev1.Service{}, list: &corev1.ServiceList{}, plural: "services", namespaced: true, short: []string{"svc"}, categories: all, sub: []string{"status"}},
		{gv: core, obj: &corev1.Endpoints{}, list: &corev1.EndpointsList{}, plural: "endpoints", singular: "endpoints", namespaced: true, short: []string{"ep"}},
		{gv: core, obj: &corev1.Event{}, list: &corev1.EventList{}, plural: "events", namespaced: true, short: []string{"ev"}, fields: coreEventFields},
		{gv: core, obj: &corev1.LimitRange{}, list: &corev1.LimitRangeList{}, plural: "limitranges", namespaced: true, short: []string{"limits"}},
		{gv: core, obj: &corev1.PersistentVolume{}, list: &corev1.PersistentVolumeList{}, plural: "persistentvolumes", short: []string{"pv"}, sub: []string{"status"}},
		{gv: core, obj: &corev1.PodTemplate{}, list: &corev1.PodTemplateList{}, plural: "podtemplates", namespaced: true},
		{gv: core, obj: &corev1.ReplicationController{}, list: &corev1.ReplicationControllerList{}, plural: "replicationcontrollers", namespaced: true, short: []string{"rc"}, categories: all, sub: []string{"status", "scale"}, generation: true, fields: rcFields},
		{gv: core, obj: &corev1.ResourceQuota{}, list: &corev1.ResourceQuotaList{}, plural: "resourcequotas", namespaced: true, short: []string{"quota"}, sub: []string{"status"}},
		{gv: core, obj: &corev1.ComponentStatus{}, list: &corev1.ComponentStatusList{}, plural: "componentstatuses", singular: "componentstatus", short: []string{"cs"}, virtual: true, verbs: []string{"get", "list"},
			deprecated: "v1 ComponentStatus is deprecated in v1.19+"},
		{gv: core, obj: &corev1.Binding{}, plural: "bindings", namespaced: true, virtual: true},
		{gv: apps, obj: &appsv1.Deployment{}, list: &appsv1.DeploymentList{}, plural: "deployments", namespaced: true, short: []string{"deploy"}, categories: all, sub: []string{"status", "scale"}, generation: true},
		{gv: apps, obj: &appsv1.ReplicaSet{}, list: &appsv1.ReplicaSetList{}, plural: "replicasets", namespaced: true, short: []string{"rs"}, categories: all, sub: []string{"status", "scale"}, generation: true, fields: replicaSetFields},
		{gv: apps, obj: &appsv1.StatefulSet{}, list: &appsv1.StatefulSetList{}, plural: "statefulsets", namespaced: true, short: []string{"sts"}, categories: all, sub: []string{"status", "scale"}, generation: true},
		{gv: apps, obj: &appsv1.DaemonSet{}, list: &appsv1.DaemonSetList{}, plural: "daemonsets", namespaced: true, short: []string{"ds"}, categories: all, sub: []string{"status"}, generation: true},
		{gv: apps, obj: &appsv1.ControllerRevision{}, list: &appsv1.ControllerRevisionList{}, plural: "controllerrevisions", namespaced: true},
		{gv: coordination, obj: &coordinationv1.Lease{}, list: &coordinationv1.LeaseList{}, plural: "leases", namespaced: true},
		{gv: rbac, obj: &rbacv1.ClusterRole{}, list: &rbacv1.ClusterRoleList{}, plural: "clusterroles"},
		{gv: rbac, obj: &rbacv1.ClusterRoleBinding{}, list: &rbacv1.ClusterRoleBindingList{}, plural: "clusterrolebindings"},
		{gv: rbac, obj: &rbacv1.Role{}, list: &rbacv1.RoleList{}, plural: "roles", namespaced: true},
		{gv: rbac, obj: &rbacv1.RoleBinding{}, list: &rbacv1.RoleBindingList{}, plural: "rolebindings", namespaced: true},
		{gv: certificates, obj: &certificatesv1.CertificateSigningRequest{}, list: &certificatesv1.CertificateSigningRequestList{}, plural: "certificatesigningrequests", short: []string{"csr"}, sub: []string{"status", "approval"}, fields: csrFields},
		{gv: apiext, obj: &apiextensionsv1.CustomResourceDefinition{}, list: &apiextensionsv1.CustomResourceDefinitionList{}, plural: "customresourcedefinitions", short: []string{"crd", "crds"}, categories: []string{"api-extensions"}, sub: []string{"status"}, generation: true},
		// events.k8s.io/v1 Events are core Events seen another way: one
		// storage, converted both ways.
		{gv: events, obj: &eventsv1.Event{}, list: &eventsv1.EventList{}, plural: "events", namespaced: true, short: []string{"ev"}, fields: eventsV1Fields,
			fromStorage: eventsconv.FromStorage, toStorage: eventsconv.ToStorage, storedAs: &schema.GroupResource{Resource: "events"}},
		{gv: authn, obj: &authenticationv1.SelfSubjectReview{}, plural: "selfsubjectreviews", virtual: true},
		{gv: authn, obj: &authenticationv1.TokenReview{}, plural: "tokenreviews", virtual: true},
		{gv: authz, obj: &authorizationv1.SelfSubjectAccessReview{}, plural: "selfsubjectaccessreviews", virtual: true},
		{gv: authz, obj: &authorizationv1.SelfSubjectRulesReview{}, plural: "selfsubjectrulesreviews", virtual: true},
		{gv: authz, obj: &authorizationv1.SubjectAccessReview{}, plural: "subjectaccessreviews", virtual: true},
		{gv: authz, obj: &authorizationv1.LocalSubjectAccessReview{}, plural: "localsubjectaccessreviews", namespaced: true, virtual: true},
		// autoscaling/v2 is the storage version: it must come before v1,
		// whose store shares its storage and converts. HPAs keep no
		// metadata.generation in 1.32.
		{gv: autoscalingV2, obj: &autoscalingv2.HorizontalPodAutoscaler{}, list: &autoscalingv2.HorizontalPodAutoscalerList{}, plural: "horizontalpodautoscalers", namespaced: true, short: []string{"hpa"}, categories: all, sub: []string{"status"}},
		{gv: autoscalingV1, obj: &autoscalingv1.HorizontalPodAutoscaler{}, list: &autoscalingv1.HorizontalPodAutoscalerList{}, plural: "horizontalpodautoscalers", namespaced: true, short: []string{"hpa"}, categories: all, sub: []string{"status"},
			fromStorage: hpaconv.FromStorage, toStorage: hpaconv.ToStorage},
		{gv: batch, obj: &batchv1.Job{}, list: &batchv1.JobList{}, plural: "jobs", namespaced: true, categories: all, sub: []string{"status"}, generation: true, fields: jobFields},
		{gv: batch, obj: &batchv1.CronJob{}, list: &batchv1.CronJobList{}, plural: "cronjobs", namespaced: true, short: []string{"cj"}, categories: all, sub: []string{"status"}, generation: true},
		{gv: policy, obj: &policyv1.PodDisruptionBudget{}, list: &policyv1.PodDisruptionBudgetList{}, plural: "poddisruptionbudgets", namespaced: true, short: []string{"pdb"}, sub: []string{"status"}, generation: true},

		// networking, storage, scheduling, discovery, flowcontrol, node, apiregistration (builtins_more.go)
		{gv: discovery, obj: &discoveryv1.EndpointSlice{}, list: &discoveryv1.EndpointSliceList{}, plural: "endpointslices", namespaced: true, generation: true},
		{gv: networking, obj: &networkingv1.Ingress{}, list: &networkingv1.IngressList{}, plural: "ingresses", namespaced: true, short: []string{"ing"}, sub: []string{"status"}, generation: true},
		{gv: networking, obj: &networkingv1.IngressClass{}, list: &networkingv1.IngressClassList{}, plural: "ingressclasses", generation: true},
		{gv: networking, obj: &networkingv1.NetworkPolicy{}, list: &networkingv1.NetworkPolicyList{}, plural: "networkpolicies", namespaced: true, short: []string{"netpol"}, generation: true},
		{gv: nodeGV, obj: &nodev1.RuntimeClass{}, list: &nodev1.RuntimeClassList{}, plural: "runtimeclasses"},
		{gv: scheduling, obj: &schedulingv1.PriorityClass{}, list: &schedulingv1.PriorityClassList{}, plural: "priorityclasses", short: []string{"pc"}},
		{gv: storageGV, obj: &storagev1.CSIDriver{}, list: &storagev1.CSIDriverList{}, plural: "csidrivers"},
		{gv: storageGV, obj: &storagev1.CSINode{}, list: &storagev1.CSINodeList{}, plural: "csinodes"},
		{gv: storageGV, obj: &storagev1.CSIStorageCapacity{}, list: &storagev1.CSIStorageCapacityList{}, plural: "csistoragecapacities", namespaced: true},
		{gv: storageGV, obj: &storagev1.StorageClass{}, list: &storagev1.StorageClassList{}, plural: "storageclasses", short: []string{"sc"}},
		{gv: storageGV, obj: &storagev1.VolumeAttachment{}, list: &storagev1.VolumeAttachmentList{}, plural: "volumeattachments", sub: []string{"status"}},
		{gv: flowcontrol, obj: &flowcontrolv1.FlowSchema{}, list: &flowcontrolv1.FlowSchemaList{}, plural: "flowschemas", sub: []string{"status"}, generation: true},
		{gv: flowcontrol, obj: &flowcontrolv1.PriorityLevelConfiguration{}, list: &flowcontrolv1.PriorityLevelConfigurationList{}, plural: "prioritylevelconfigurations", sub: []string{"status"}, generation: true},
		{gv: apiregistration, obj: &apiregistrationv1.APIService{}, list: &apiregistrationv1.APIServiceList{}, plural: "apiservices", categories: []string{"api-extensions"}, sub: []string{"status"}},
		// admissionregistration.k8s.io: webhooks and admission policies.
		{gv: admissionregistrationv1.SchemeGroupVersion, obj: &admissionregistrationv1.MutatingWebhookConfiguration{}, list: &admissionregistrationv1.MutatingWebhookConfigurationList{}, plural: "mutatingwebhookconfigurations", categories: []string{"api-extensions"}},
		{gv: admissionregistrationv1.SchemeGroupVersion, obj: &admissionregistrationv1.ValidatingWebhookConfiguration{}, list: &admissionregistrationv1.ValidatingWebhookConfigurationList{}, plural: "validatingwebhookconfigurations", categories: []string{"api-extensions"}},
		{gv: admissionregistrationv1.SchemeGroupVersion, obj: &admissionregistrationv1.ValidatingAdmissionPolicy{}, list: &admissionregistrationv1.ValidatingAdmissionPolicyList{}, plural: "validatingadmissionpolicies", categories: []string{"api-extensions"}, sub: []string{"status"}, generation: true},
		{gv: admissionregistrationv1.SchemeGroupVersion, obj: &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}, list: &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{}, plural: "validatingadmissionpolicybindings", categories: []string{"api-extensions"}},
	}
}

// newFunc returns a constructor for t's zero value with apiVersion and kind set.
func newFunc(t reflect.Type, gvk schema.GroupVersionKind) func() runtime.Object {
	return func() runtime.Object {
		obj := reflect.New(t).Interface().(runtime.Object)
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		return obj
	}
}

// scaleGVK is the kind of the scale subresource.
var scaleGVK = autoscalingv1.SchemeGroupVersion.WithKind("Scale")

func (b builtin) resource(behaviour func(schema.GroupKind) Behaviour) (*Resource, error) {
	t := reflect.TypeOf(b.obj).Elem()
	kind := t.Name()
	if b.virtual {
		return b.virtualResource(t, kind, behaviour)
	}
	lt := reflect.TypeOf(b.list).Elem()
	listKind := lt.Name()
	singular := b.singular
	if singular == "" {
		singular = lowerASCII(kind)
	}
	r := &Resource{
		Group: b.gv.Group, Version: b.gv.Version,
		Kind: kind, ListKind: listKind,
		Plural: b.plural, Singular: singular,
		Namespaced: b.namespaced, ShortNames: b.short, Categories: b.categories,
		Verbs:       StandardVerbs(),
		FromStorage: b.fromStorage, ToStorage: b.toStorage,
		GenerationOnSpecChange: b.generation,
		// Upstream's status strategies of built-in kinds reset the spec
		// only: a status write may change labels and annotations too.
		StatusWritesMetadata: true,
		GoType:               t, GoListType: lt,
		StorageCodec: "protobuf",
		EtcdPrefix:   etcdPrefix(b.gv.Group, b.plural),
		Behaviour:    behaviour(schema.GroupKind{Group: b.gv.Group, Kind: kind}),
	}
	if b.storedAs != nil {
		r.EtcdPrefix = etcdPrefix(b.storedAs.Group, b.storedAs.Resource)
	}
	r.New = newFunc(t, r.GVK())
	r.NewList = newFunc(lt, b.gv.WithKind(listKind))
	if b.fields != nil {
		r.Fields = b.fields
	}
	for _, s := range b.sub {
		switch s {
		case "status":
			r.StatusField = "status"
			r.Subresources = append(r.Subresources, Subresource{Name: "status", Verbs: []string{"get", "patch", "update"}})
		case "proxy":
			r.Subresources = append(r.Subresources, Subresource{Name: "proxy", Kind: schema.GroupVersionKind{Version: "v1", Kind: "NodeProxyOptions"},
				Verbs: []string{"create", "delete", "get", "patch", "update"}})
		case "approval":
			r.Subresources = append(r.Subresources, Subresource{Name: "approval", Verbs: []string{"get", "patch", "update"}})
		case "finalize":
			// Namespaces: PUT only, and only spec.finalizers changes.
			r.Subresources = append(r.Subresources, Subresource{Name: "finalize", Verbs: []string{"update"}})
		case "token":
			r.Subresources = append(r.Subresources, Subresource{Name: "token", Kind: authenticationv1.SchemeGroupVersion.WithKind("TokenRequest"), Verbs: []string{"create"}})
		case "scale":
			r.Subresources = append(r.Subresources, Subresource{Name: "scale", Kind: scaleGVK, Verbs: []string{"get", "patch", "update"}})
			r.Scale, r.SetReplicas = builtinScale, builtinSetReplicas
		case "binding":
			r.Subresources = append(r.Subresources, Subresource{Name: "binding", Kind: core.WithKind("Binding"), Verbs: []string{"create"}})
		case "eviction":
			r.Subresources = append(r.Subresources, Subresource{Name: "eviction", Kind: policyv1.SchemeGroupVersion.WithKind("Eviction"), Verbs: []string{"create"}})
		case "ephemeralcontainers":
			r.Subresources = append(r.Subresources, Subresource{Name: "ephemeralcontainers", Verbs: []string{"get", "patch", "update"}})
		}
	}
	return r, r.validate()
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Selectable fields per resource, as kube-apiserver offers them.

func namespaceFields(obj runtime.Object) fields.Set {
	ns := obj.(*corev1.Namespace)
	return fields.Set{"status.phase": string(ns.Status.Phase)}
}

func secretFields(obj runtime.Object) fields.Set {
	return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
}

func nodeFields(obj runtime.Object) fields.Set {
	return fields.Set{"spec.unschedulable": strconv.FormatBool(obj.(*corev1.Node).Spec.Unschedulable)}
}

func podFields(obj runtime.Object) fields.Set {
	p := obj.(*corev1.Pod)
	return fields.Set{
		"spec.nodeName":            p.Spec.NodeName,
		"spec.restartPolicy":       string(p.Spec.RestartPolicy),
		"spec.schedulerName":       p.Spec.SchedulerName,
		"spec.serviceAccountName":  p.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
		"status.phase":             string(p.Status.Phase),
		"status.podIP":             p.Status.PodIP,
		"status.nominatedNodeName": p.Status.NominatedNodeName,
	}
}

func coreEventFields(obj runtime.Object) fields.Set {
	e := obj.(*corev1.Event)
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}

func eventsV1Fields(obj runtime.Object) fields.Set {
	if c, ok := obj.(*corev1.Event); ok {
		// Stored events are core Events: read their fields in place (the
		// watch cache computes these on every event write).
		return eventsFieldSet(c.InvolvedObject, c.Reason, c.ReportingController, c.Type)
	}
	e := obj.(*eventsv1.Event)
	return eventsFieldSet(e.Regarding, e.Reason, e.ReportingController, e.Type)
}

func eventsFieldSet(regarding corev1.ObjectReference, reason, controller, typ string) fields.Set {
	return fields.Set{
		"regarding.kind":      regarding.Kind,
		"regarding.namespace": regarding.Namespace,
		"regarding.name":      regarding.Name,
		"regarding.uid":       string(regarding.UID),
		"reason":              reason,
		"reportingController": controller,
		"type":                typ,
	}
}

func replicaSetFields(obj runtime.Object) fields.Set {
	return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*appsv1.ReplicaSet).Status.Replicas))}
}

func rcFields(obj runtime.Object) fields.Set {
	return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*corev1.ReplicationController).Status.Replicas))}
}

func jobFields(obj runtime.Object) fields.Set {
	return fields.Set{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
}

func csrFields(obj runtime.Object) fields.Set {
	return fields.Set{"spec.signerName": obj.(*certificatesv1.CertificateSigningRequest).Spec.SignerName}
}

// virtualResource is the row of a create-only review: no storage, no
// list, no printer.
func (b builtin) virtualResource(t reflect.Type, kind string, behaviour func(schema.GroupKind) Behaviour) (*Resource, error) {
	r := &Resource{
		Group: b.gv.Group, Version: b.gv.Version, Kind: kind,
		Plural: b.plural, Singular: lowerASCII(kind), Namespaced: b.namespaced,
		ShortNames: b.short,
		Verbs:      []string{"create"}, Virtual: true, GoType: t,
		Deprecated: b.deprecated,
	}
	if b.singular != "" {
		r.Singular = b.singular
	}
	r.New = newFunc(t, r.GVK())
	r.NewList = r.New
	if b.verbs != nil {
		// A read-only resource the server answers (componentstatuses).
		r.Verbs = b.verbs
		lt := reflect.TypeOf(b.list).Elem()
		r.ListKind, r.GoListType = lt.Name(), lt
		r.NewList = newFunc(lt, b.gv.WithKind(lt.Name()))
		r.Behaviour = behaviour(schema.GroupKind{Group: b.gv.Group, Kind: kind})
	}
	return r, r.validate()
}
