package validation

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// clusterRules returns the rules of the discovery, networking, node,
// scheduling, storage, flowcontrol and apiregistration kinds.
func clusterRules(obj runtime.Object) (kindRules, bool) {
	dns := apivalidation.NameIsDNSSubdomain
	switch o := obj.(type) {
	case *discoveryv1.EndpointSlice:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body: func() field.ErrorList { return validateEndpointSlice(o) },
				update: func(old runtime.Object) field.ErrorList {
					return validateEndpointSliceUpdate(o, old.(*discoveryv1.EndpointSlice))
				}}, true
		}
	case *networkingv1.Ingress:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body:   func() field.ErrorList { return validateIngress(o) },
				status: func(runtime.Object) field.ErrorList { return validateIngressStatus(&o.Status) }}, true
		}
	case *networkingv1.IngressClass:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: dns,
				body: func() field.ErrorList { return validateIngressClass(o) },
				update: func(old runtime.Object) field.ErrorList {
					return validateIngressClassUpdate(o, old.(*networkingv1.IngressClass))
				}}, true
		}
	case *networkingv1.NetworkPolicy:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body: func() field.ErrorList { return validateNetworkPolicy(o) }}, true
		}
	case *nodev1.RuntimeClass:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: dns,
				body: func() field.ErrorList { return validateRuntimeClass(o) },
				update: func(old runtime.Object) field.ErrorList {
					return validateRuntimeClassUpdate(o, old.(*nodev1.RuntimeClass))
				}}, true
		}
	case *schedulingv1.PriorityClass:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: dns,
				body: func() field.ErrorList { return validatePriorityClass(o) },
				update: func(old runtime.Object) field.ErrorList {
					return validatePriorityClassUpdate(o, old.(*schedulingv1.PriorityClass))
				}}, true
		}
	case *storagev1.StorageClass:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: dns,
				body: func() field.ErrorList { return validateStorageClass(o) },
				update: func(old runtime.Object) field.ErrorList {
					return validateStorageClassUpdate(o, old.(*storagev1.StorageClass))
				}}, true
		}
	case *storagev1.CSIDriver:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: csiDriverObjectName,
				body: func() field.ErrorList { return validateCSIDriver(o) },
				update: func(old runtime.Object) field.ErrorList {
					return validateCSIDriverUpdate(o, old.(*storagev1.CSIDriver))
				}}, true
		}
	case *storagev1.CSINode:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: dns,
				body:   func() field.ErrorList { return validateCSINode(o) },
				update: func(old runtime.Object) field.ErrorList { return validateCSINodeUpdate(o, old.(*storagev1.CSINode)) }}, true
		}
	case *storagev1.CSIStorageCapacity:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: dns,
				body: func() field.ErrorList { return validateCSIStorageCapacity(o) },
				update: func(old runtime.Object) field.ErrorList {
					return validateCSIStorageCapacityUpdate(o, old.(*storagev1.CSIStorageCapacity))
				}}, true
		}
	case *storagev1.VolumeAttachment:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: dns,
				body: func() field.ErrorList { return validateVolumeAttachment(o) },
				update: func(old runtime.Object) field.ErrorList {
					return validateVolumeAttachmentUpdate(o, old.(*storagev1.VolumeAttachment))
				},
				status: func(runtime.Object) field.ErrorList { return validateVolumeAttachmentStatus(&o.Status) }}, true
		}
	case *flowcontrolv1.FlowSchema:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: path.ValidatePathSegmentName,
				body: func() field.ErrorList { return validateFlowSchema(o) },
				status: func(runtime.Object) field.ErrorList {
					return validateFlowConditions(o.Status.Conditions,
						func(c flowcontrolv1.FlowSchemaCondition) string { return string(c.Type) },
						func(c flowcontrolv1.FlowSchemaCondition) string { return string(c.Status) })
				}}, true
		}
	case *flowcontrolv1.PriorityLevelConfiguration:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: path.ValidatePathSegmentName,
				body: func() field.ErrorList { return validatePriorityLevel(o) },
				status: func(runtime.Object) field.ErrorList {
					return validateFlowConditions(o.Status.Conditions,
						func(c flowcontrolv1.PriorityLevelConfigurationCondition) string { return string(c.Type) },
						func(c flowcontrolv1.PriorityLevelConfigurationCondition) string { return string(c.Status) })
				}}, true
		}
	case *apiregistrationv1.APIService:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: apiServiceName(o),
				body:   func() field.ErrorList { return validateAPIService(o) },
				status: func(runtime.Object) field.ErrorList { return validateAPIServiceStatus(o) }}, true
		}
	}
	return kindRules{}, false
}
