package printers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

func TestClusterPrinters(t *testing.T) {
	tcp := corev1.ProtocolTCP
	immediate, wait := storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer
	retain := corev1.PersistentVolumeReclaimRetain
	prefix := networkingv1.PathTypePrefix
	limited := func(shares int32, q *flowcontrolv1.QueuingConfiguration) *flowcontrolv1.LimitedPriorityLevelConfiguration {
		rt := flowcontrolv1.LimitResponseTypeReject
		if q != nil {
			rt = flowcontrolv1.LimitResponseTypeQueue
		}
		return &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: &shares, LimitResponse: flowcontrolv1.LimitResponse{Type: rt, Queuing: q}}
	}
	tests := []struct {
		name, group, kind string
		obj               runtime.Object
		headers           string
		cells             []interface{}
	}{
		{"endpointslice", "discovery.k8s.io", "EndpointSlice", &discoveryv1.EndpointSlice{ObjectMeta: om("web-1"), AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}, {Addresses: []string{"10.0.0.2"}}},
			Ports:     []discoveryv1.EndpointPort{{Port: ptr(int32(80)), Protocol: &tcp}, {Name: ptr("metrics")}}},
			"NAME|ADDRESSTYPE|PORTS|ENDPOINTS|AGE", []interface{}{"web-1", "IPv4", "80,metrics", "10.0.0.1,10.0.0.2", "5m"}},
		{"endpointslice many", "discovery.k8s.io", "EndpointSlice", &discoveryv1.EndpointSlice{ObjectMeta: om("web-2"), AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}}},
			Ports:     []discoveryv1.EndpointPort{{Port: ptr(int32(1))}, {Port: ptr(int32(2))}, {Port: ptr(int32(3))}, {Port: ptr(int32(4))}}},
			"", []interface{}{"web-2", "IPv4", "1,2,3 + 1 more...", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...", "5m"}},
		{"endpointslice empty", "discovery.k8s.io", "EndpointSlice", &discoveryv1.EndpointSlice{ObjectMeta: om("web-3"), AddressType: discoveryv1.AddressTypeFQDN},
			"", []interface{}{"web-3", "FQDN", "<unset>", "<unset>", "5m"}},
		{"ingress", "networking.k8s.io", "Ingress", &networkingv1.Ingress{ObjectMeta: om("web"), Spec: networkingv1.IngressSpec{IngressClassName: ptr("nginx"),
			Rules: []networkingv1.IngressRule{{Host: "a.example.com"}, {Host: "b.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix}}}}}},
			TLS: []networkingv1.IngressTLS{{SecretName: "cert"}}},
			Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.1"}}}}},
			"NAME|CLASS|HOSTS|ADDRESS|PORTS|AGE", []interface{}{"web", "nginx", "a.example.com,b.example.com", "192.0.2.1", "80, 443", "5m"}},
		{"ingress default backend", "networking.k8s.io", "Ingress", &networkingv1.Ingress{ObjectMeta: om("plain"),
			Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{
				{IP: "192.0.2.100"}, {Hostname: "lb.example.com"}}}}},
			"", []interface{}{"plain", "<none>", "*", "192.0.2.100,lb.e...", "80", "5m"}},
		{"ingressclass", "networking.k8s.io", "IngressClass", &networkingv1.IngressClass{ObjectMeta: om("nginx"), Spec: networkingv1.IngressClassSpec{
			Controller: "k8s.io/ingress-nginx", Parameters: &networkingv1.IngressClassParametersReference{APIGroup: ptr("k8s.example.com"), Kind: "IngressParameters", Name: "lb"}}},
			"NAME|CONTROLLER|PARAMETERS|AGE", []interface{}{"nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/lb", "5m"}},
		{"ingressclass plain", "networking.k8s.io", "IngressClass", &networkingv1.IngressClass{ObjectMeta: om("plain"), Spec: networkingv1.IngressClassSpec{Controller: "example.com/c"}},
			"", []interface{}{"plain", "example.com/c", "<none>", "5m"}},
		{"networkpolicy", "networking.k8s.io", "NetworkPolicy", &networkingv1.NetworkPolicy{ObjectMeta: om("db"), Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"role": "db"}}}},
			"NAME|POD-SELECTOR|AGE", []interface{}{"db", "role=db", "5m"}},
		{"networkpolicy all pods", "networking.k8s.io", "NetworkPolicy", &networkingv1.NetworkPolicy{ObjectMeta: om("deny")},
			"", []interface{}{"deny", "<none>", "5m"}},
		{"runtimeclass", "node.k8s.io", "RuntimeClass", &nodev1.RuntimeClass{ObjectMeta: om("gvisor"), Handler: "runsc"},
			"NAME|HANDLER|AGE", []interface{}{"gvisor", "runsc", "5m"}},
		{"priorityclass", "scheduling.k8s.io", "PriorityClass", &schedulingv1.PriorityClass{ObjectMeta: om("system-node-critical"), Value: 2000001000,
			PreemptionPolicy: ptr(corev1.PreemptLowerPriority)},
			"NAME|VALUE|GLOBAL-DEFAULT|AGE|PREEMPTIONPOLICY", []interface{}{"system-node-critical", int64(2000001000), false, "5m", "PreemptLowerPriority"}},
		{"storageclass default", "storage.k8s.io", "StorageClass", &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard", CreationTimestamp: created,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "rancher.io/local-path",
			ReclaimPolicy: &retain, VolumeBindingMode: &wait, AllowVolumeExpansion: ptr(true)},
			"NAME|PROVISIONER|RECLAIMPOLICY|VOLUMEBINDINGMODE|ALLOWVOLUMEEXPANSION|AGE",
			[]interface{}{"standard (default)", "rancher.io/local-path", "Retain", "WaitForFirstConsumer", true, "5m"}},
		{"storageclass plain", "storage.k8s.io", "StorageClass", &storagev1.StorageClass{ObjectMeta: om("fast"), Provisioner: "example.com/fast", VolumeBindingMode: &immediate},
			"", []interface{}{"fast", "example.com/fast", "Delete", "Immediate", false, "5m"}},
		{"csidriver", "storage.k8s.io", "CSIDriver", &storagev1.CSIDriver{ObjectMeta: om("csi.example.com"), Spec: storagev1.CSIDriverSpec{
			AttachRequired: ptr(false), PodInfoOnMount: ptr(true), TokenRequests: []storagev1.TokenRequest{{Audience: "vault"}, {Audience: "gcp"}},
			VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent, storagev1.VolumeLifecycleEphemeral}}},
			"NAME|ATTACHREQUIRED|PODINFOONMOUNT|STORAGECAPACITY|TOKENREQUESTS|REQUIRESREPUBLISH|MODES|AGE",
			[]interface{}{"csi.example.com", false, true, false, "vault,gcp", false, "Persistent,Ephemeral", "5m"}},
		{"csinode", "storage.k8s.io", "CSINode", &storagev1.CSINode{ObjectMeta: om("node-1"), Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{Name: "a"}, {Name: "b"}}}},
			"NAME|DRIVERS|AGE", []interface{}{"node-1", int64(2), "5m"}},
		{"csistoragecapacity", "storage.k8s.io", "CSIStorageCapacity", &storagev1.CSIStorageCapacity{ObjectMeta: om("cap"), StorageClassName: "fast",
			Capacity: ptr(resource.MustParse("10Gi"))},
			"NAME|STORAGECLASSNAME|CAPACITY|AGE", []interface{}{"cap", "fast", "10Gi", "5m"}},
		{"csistoragecapacity unknown", "storage.k8s.io", "CSIStorageCapacity", &storagev1.CSIStorageCapacity{ObjectMeta: om("cap2"), StorageClassName: "fast"},
			"", []interface{}{"cap2", "fast", "<unset>", "5m"}},
		{"volumeattachment", "storage.k8s.io", "VolumeAttachment", &storagev1.VolumeAttachment{ObjectMeta: om("va"), Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "csi.example.com", NodeName: "node-1", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr("pv-1")}},
			Status: storagev1.VolumeAttachmentStatus{Attached: true}},
			"NAME|ATTACHER|PV|NODE|ATTACHED|AGE", []interface{}{"va", "csi.example.com", "pv-1", "node-1", true, "5m"}},
		{"flowschema", "flowcontrol.apiserver.k8s.io", "FlowSchema", &flowcontrolv1.FlowSchema{ObjectMeta: om("system-nodes"), Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "system"}, MatchingPrecedence: 500,
			DistinguisherMethod: &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType}},
			Status: flowcontrolv1.FlowSchemaStatus{Conditions: []flowcontrolv1.FlowSchemaCondition{{Type: flowcontrolv1.FlowSchemaConditionDangling, Status: flowcontrolv1.ConditionFalse}}}},
			"NAME|PRIORITYLEVEL|MATCHINGPRECEDENCE|DISTINGUISHERMETHOD|AGE|MISSINGPL",
			[]interface{}{"system-nodes", "system", int64(500), "ByUser", "5m", "False"}},
		{"flowschema no status yet", "flowcontrol.apiserver.k8s.io", "FlowSchema", &flowcontrolv1.FlowSchema{ObjectMeta: om("exempt"), Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "exempt"}, MatchingPrecedence: 1}},
			"", []interface{}{"exempt", "exempt", int64(1), "<none>", "5m", "?"}},
		{"prioritylevel queuing", "flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: om("workload-low"),
			Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
				Limited: limited(100, &flowcontrolv1.QueuingConfiguration{Queues: 128, HandSize: 6, QueueLengthLimit: 50})}},
			"NAME|TYPE|NOMINALCONCURRENCYSHARES|QUEUES|HANDSIZE|QUEUELENGTHLIMIT|AGE",
			[]interface{}{"workload-low", "Limited", int64(100), int64(128), int64(6), int64(50), "5m"}},
		{"prioritylevel reject", "flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: om("catch-all"),
			Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited, Limited: limited(5, nil)}},
			"", []interface{}{"catch-all", "Limited", int64(5), "<none>", "<none>", "<none>", "5m"}},
		{"prioritylevel exempt", "flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: om("exempt"),
			Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementExempt, Exempt: &flowcontrolv1.ExemptPriorityLevelConfiguration{}}},
			"", []interface{}{"exempt", "Exempt", "<none>", "<none>", "<none>", "<none>", "5m"}},
		{"apiservice local", "apiregistration.k8s.io", "APIService", &apiregistrationv1.APIService{ObjectMeta: om("v1.apps"),
			Status: apiregistrationv1.APIServiceStatus{Conditions: []apiregistrationv1.APIServiceCondition{{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionTrue, Reason: "Local"}}}},
			"NAME|SERVICE|AVAILABLE|AGE", []interface{}{"v1.apps", "Local", "True", "5m"}},
		{"apiservice remote down", "apiregistration.k8s.io", "APIService", &apiregistrationv1.APIService{ObjectMeta: om("v1beta1.metrics.k8s.io"),
			Spec:   apiregistrationv1.APIServiceSpec{Service: &apiregistrationv1.ServiceReference{Namespace: "kube-system", Name: "metrics-server"}},
			Status: apiregistrationv1.APIServiceStatus{Conditions: []apiregistrationv1.APIServiceCondition{{Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionFalse, Reason: "ServiceNotFound"}}}},
			"", []interface{}{"v1beta1.metrics.k8s.io", "kube-system/metrics-server", "False (ServiceNotFound)", "5m"}},
		{"apiservice no status", "apiregistration.k8s.io", "APIService", &apiregistrationv1.APIService{ObjectMeta: om("v1.new")},
			"", []interface{}{"v1.new", "Local", "Unknown", "5m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkPrinted(t, tt.group, tt.kind, tt.obj, tt.headers, tt.cells)
		})
	}
}
