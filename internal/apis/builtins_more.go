package apis

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// Group versions of the networking, storage, scheduling, discovery,
// flowcontrol, node and apiregistration rows of the built-in table.
var (
	discovery       = discoveryv1.SchemeGroupVersion
	networking      = networkingv1.SchemeGroupVersion
	nodeGV          = nodev1.SchemeGroupVersion
	scheduling      = schedulingv1.SchemeGroupVersion
	storageGV       = storagev1.SchemeGroupVersion
	flowcontrol     = flowcontrolv1.SchemeGroupVersion
	apiregistration = apiregistrationv1.SchemeGroupVersion
)

// moreSchemeAdders registers the Go types of those groups.
var moreSchemeAdders = []func(*runtime.Scheme) error{
	discoveryv1.AddToScheme,
	networkingv1.AddToScheme,
	nodev1.AddToScheme,
	schedulingv1.AddToScheme,
	storagev1.AddToScheme,
	flowcontrolv1.AddToScheme,
	apiregistrationv1.AddToScheme,
}
