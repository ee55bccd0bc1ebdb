package validation_test

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// moreFuzzKinds lists the kinds of builtins_more.go for FuzzBuiltins.
func moreFuzzKinds() []struct {
	gk  schema.GroupKind
	new func() runtime.Object
} {
	return []struct {
		gk  schema.GroupKind
		new func() runtime.Object
	}{
		{schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}, func() runtime.Object { return &discoveryv1.EndpointSlice{} }},
		{schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}, func() runtime.Object { return &networkingv1.Ingress{} }},
		{schema.GroupKind{Group: "networking.k8s.io", Kind: "IngressClass"}, func() runtime.Object { return &networkingv1.IngressClass{} }},
		{schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}, func() runtime.Object { return &networkingv1.NetworkPolicy{} }},
		{schema.GroupKind{Group: "node.k8s.io", Kind: "RuntimeClass"}, func() runtime.Object { return &nodev1.RuntimeClass{} }},
		{schema.GroupKind{Group: "scheduling.k8s.io", Kind: "PriorityClass"}, func() runtime.Object { return &schedulingv1.PriorityClass{} }},
		{schema.GroupKind{Group: "storage.k8s.io", Kind: "StorageClass"}, func() runtime.Object { return &storagev1.StorageClass{} }},
		{schema.GroupKind{Group: "storage.k8s.io", Kind: "CSIDriver"}, func() runtime.Object { return &storagev1.CSIDriver{} }},
		{schema.GroupKind{Group: "storage.k8s.io", Kind: "CSINode"}, func() runtime.Object { return &storagev1.CSINode{} }},
		{schema.GroupKind{Group: "storage.k8s.io", Kind: "CSIStorageCapacity"}, func() runtime.Object { return &storagev1.CSIStorageCapacity{} }},
		{schema.GroupKind{Group: "storage.k8s.io", Kind: "VolumeAttachment"}, func() runtime.Object { return &storagev1.VolumeAttachment{} }},
		{schema.GroupKind{Group: "flowcontrol.apiserver.k8s.io", Kind: "FlowSchema"}, func() runtime.Object { return &flowcontrolv1.FlowSchema{} }},
		{schema.GroupKind{Group: "flowcontrol.apiserver.k8s.io", Kind: "PriorityLevelConfiguration"}, func() runtime.Object { return &flowcontrolv1.PriorityLevelConfiguration{} }},
		{schema.GroupKind{Group: "apiregistration.k8s.io", Kind: "APIService"}, func() runtime.Object { return &apiregistrationv1.APIService{} }},
	}
}
