package defaults

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// Flow-control defaults of kube-apiserver's v1 API.
const (
	defaultMatchingPrecedence       = int32(1000)
	defaultNominalConcurrencyShares = int32(30)
	defaultQueues                   = int32(64)
	defaultHandSize                 = int32(8)
	defaultQueueLengthLimit         = int32(50)
)

// defaultCluster applies the defaults of the discovery, networking,
// scheduling, storage and flowcontrol kinds; it reports whether obj was
// one of them. Kinds without defaults (RuntimeClass, CSINode,
// CSIStorageCapacity, VolumeAttachment) are left alone; an APIService's
// service port is 443.
func defaultCluster(obj runtime.Object) bool {
	switch o := obj.(type) {
	case *discoveryv1.EndpointSlice:
		if o != nil {
			for i := range o.Ports {
				setIfNil(&o.Ports[i].Name, "")
				setIfNil(&o.Ports[i].Protocol, corev1.ProtocolTCP)
			}
		}
	case *networkingv1.NetworkPolicy:
		if o != nil {
			defaultNetworkPolicy(o)
		}
	case *networkingv1.IngressClass:
		if o != nil && o.Spec.Parameters != nil {
			setIfNil(&o.Spec.Parameters.Scope, networkingv1.IngressClassParametersReferenceScopeCluster)
		}
	case *schedulingv1.PriorityClass:
		if o != nil {
			setIfNil(&o.PreemptionPolicy, corev1.PreemptLowerPriority)
		}
	case *storagev1.StorageClass:
		if o != nil {
			setIfNil(&o.ReclaimPolicy, corev1.PersistentVolumeReclaimDelete)
			setIfNil(&o.VolumeBindingMode, storagev1.VolumeBindingImmediate)
		}
	case *storagev1.CSIDriver:
		if o != nil {
			defaultCSIDriver(o)
		}
	case *flowcontrolv1.FlowSchema:
		if o != nil && o.Spec.MatchingPrecedence == 0 {
			o.Spec.MatchingPrecedence = defaultMatchingPrecedence
		}
	case *flowcontrolv1.PriorityLevelConfiguration:
		if o != nil {
			defaultPriorityLevel(o)
		}
	case *apiregistrationv1.APIService:
		if o != nil && o.Spec.Service != nil {
			setIfNil(&o.Spec.Service.Port, 443)
		}
	default:
		return false
	}
	return true
}

// defaultNetworkPolicy: ports speak TCP unless told otherwise; a policy
// without policyTypes isolates ingress, and egress too when it has egress
// rules.
func defaultNetworkPolicy(p *networkingv1.NetworkPolicy) {
	for i := range p.Spec.Ingress {
		for j := range p.Spec.Ingress[i].Ports {
			setIfNil(&p.Spec.Ingress[i].Ports[j].Protocol, corev1.ProtocolTCP)
		}
	}
	for i := range p.Spec.Egress {
		for j := range p.Spec.Egress[i].Ports {
			setIfNil(&p.Spec.Egress[i].Ports[j].Protocol, corev1.ProtocolTCP)
		}
	}
	if len(p.Spec.PolicyTypes) == 0 {
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(p.Spec.Egress) > 0 {
			p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
}

func defaultCSIDriver(d *storagev1.CSIDriver) {
	setIfNil(&d.Spec.AttachRequired, true)
	setIfNil(&d.Spec.PodInfoOnMount, false)
	setIfNil(&d.Spec.StorageCapacity, false)
	setIfNil(&d.Spec.FSGroupPolicy, storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy)
	if len(d.Spec.VolumeLifecycleModes) == 0 {
		d.Spec.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent}
	}
	setIfNil(&d.Spec.RequiresRepublish, false)
	setIfNil(&d.Spec.SELinuxMount, false)
}

// defaultPriorityLevel: a limited level gets 30 nominal shares, nothing
// lendable, and a queue of 64 queues, hand size 8, 50 requests each; an
// exempt level gets zero shares and nothing lendable.
func defaultPriorityLevel(p *flowcontrolv1.PriorityLevelConfiguration) {
	if l := p.Spec.Limited; l != nil {
		setIfNil(&l.NominalConcurrencyShares, defaultNominalConcurrencyShares)
		setIfNil(&l.LendablePercent, 0)
		// A missing queuing block stays missing: validation requires it.
		if q := l.LimitResponse.Queuing; q != nil {
			setIfEmpty(&q.Queues, defaultQueues)
			setIfEmpty(&q.HandSize, defaultHandSize)
			setIfEmpty(&q.QueueLengthLimit, defaultQueueLengthLimit)
		}
	}
	if e := p.Spec.Exempt; e != nil {
		setIfNil(&e.NominalConcurrencyShares, 0)
		setIfNil(&e.LendablePercent, 0)
	}
}
