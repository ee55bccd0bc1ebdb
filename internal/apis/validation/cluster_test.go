package validation

import (
	"strings"
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
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/kastle-dev/kastle/internal/apis/defaults"
)

// Valid objects of each kind, built fresh for every case.

func slice(mod func(*discoveryv1.EndpointSlice)) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{ObjectMeta: om("s"), AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, NodeName: ptr("node-1"), Hostname: ptr("pod-1")}},
		Ports:     []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(80))}}}
	if mod != nil {
		mod(s)
	}
	return s
}

func ingress(mod func(*networkingv1.Ingress)) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	in := &networkingv1.Ingress{ObjectMeta: om("ing"), Spec: networkingv1.IngressSpec{
		IngressClassName: ptr("nginx"),
		Rules: []networkingv1.IngressRule{{Host: "foo.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/api", PathType: &prefix, Backend: networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: "api", Port: networkingv1.ServiceBackendPort{Number: 8080}}}}}}}}},
		TLS: []networkingv1.IngressTLS{{Hosts: []string{"*.example.com"}, SecretName: "cert"}}}}
	if mod != nil {
		mod(in)
	}
	return in
}

func path0(in *networkingv1.Ingress) *networkingv1.HTTPIngressPath {
	return &in.Spec.Rules[0].HTTP.Paths[0]
}

func ingressClass(mod func(*networkingv1.IngressClass)) *networkingv1.IngressClass {
	c := &networkingv1.IngressClass{ObjectMeta: clusterMeta("nginx"), Spec: networkingv1.IngressClassSpec{Controller: "example.com/ingress"}}
	if mod != nil {
		mod(c)
	}
	return c
}

func netpol(mod func(*networkingv1.NetworkPolicy)) *networkingv1.NetworkPolicy {
	port := intstr.FromInt32(80)
	np := &networkingv1.NetworkPolicy{ObjectMeta: om("np"), Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			Ports: []networkingv1.NetworkPolicyPort{{Port: &port, EndPort: ptr(int32(90))}},
			From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}, NamespaceSelector: &metav1.LabelSelector{}}, {IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}}}},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	if mod != nil {
		mod(np)
	}
	return np
}

func priorityClass(name string, value int32) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{ObjectMeta: clusterMeta(name), Value: value}
}

func storageClass(mod func(*storagev1.StorageClass)) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: clusterMeta("fast"), Provisioner: "example.com/fast", Parameters: map[string]string{"type": "ssd"}}
	if mod != nil {
		mod(sc)
	}
	return sc
}

func flowSchema(mod func(*flowcontrolv1.FlowSchema)) *flowcontrolv1.FlowSchema {
	fs := &flowcontrolv1.FlowSchema{ObjectMeta: clusterMeta("fs"), Spec: flowcontrolv1.FlowSchemaSpec{
		PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "workload-low"},
		DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
		Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
			Subjects:      []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindServiceAccount, ServiceAccount: &flowcontrolv1.ServiceAccountSubject{Namespace: "ns", Name: "*"}}},
			ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}, Namespaces: []string{"*"}}}}}}}
	if mod != nil {
		mod(fs)
	}
	return fs
}

func level(name string, mod func(*flowcontrolv1.PriorityLevelConfiguration)) *flowcontrolv1.PriorityLevelConfiguration {
	pl := &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: clusterMeta(name), Spec: flowcontrolv1.PriorityLevelConfigurationSpec{
		Type: flowcontrolv1.PriorityLevelEnablementLimited,
		Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{LimitResponse: flowcontrolv1.LimitResponse{
			Type: flowcontrolv1.LimitResponseTypeQueue, Queuing: &flowcontrolv1.QueuingConfiguration{}}}}}
	if mod != nil {
		mod(pl)
	}
	return pl
}

func apiService(name string, mod func(*apiregistrationv1.APIService)) *apiregistrationv1.APIService {
	a := &apiregistrationv1.APIService{ObjectMeta: clusterMeta(name), Spec: apiregistrationv1.APIServiceSpec{
		Group: "metrics.k8s.io", Version: "v1beta1", GroupPriorityMinimum: 100, VersionPriority: 100,
		Service: &apiregistrationv1.ServiceReference{Namespace: "kube-system", Name: "metrics-server"}}}
	if mod != nil {
		mod(a)
	}
	return a
}

func TestValidateMoreCreate(t *testing.T) {
	exact, bogus := networkingv1.PathTypeExact, networkingv1.PathType("Regex")
	tests := []struct {
		name string
		obj  runtime.Object
		// want lists substrings of the error list; none means valid.
		want []string
	}{
		{"endpointslice ok", slice(nil), nil},
		{"endpointslice FQDN", slice(func(s *discoveryv1.EndpointSlice) {
			s.AddressType = discoveryv1.AddressTypeFQDN
			s.Endpoints[0].Addresses = []string{"db.example.com"}
		}), nil},
		{"endpointslice addressType required", slice(func(s *discoveryv1.EndpointSlice) { s.AddressType = "" }), []string{"addressType: Required value"}},
		{"endpointslice addressType unknown", slice(func(s *discoveryv1.EndpointSlice) { s.AddressType = "IPX" }), []string{"addressType: Unsupported value"}},
		{"endpointslice IPv6 address in IPv4 slice", slice(func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = []string{"fd00::1"} }),
			[]string{"endpoints[0].addresses[0]: Invalid value", "must be a valid IPv4 address"}},
		{"endpointslice no addresses", slice(func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = nil }), []string{"endpoints[0].addresses: Required value"}},
		{"endpointslice bad hostname", slice(func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Hostname = ptr("Pod_1") }), []string{"endpoints[0].hostname: Invalid value"}},
		{"endpointslice duplicate port names", slice(func(s *discoveryv1.EndpointSlice) { s.Ports = append(s.Ports, s.Ports[0]) }), []string{"ports[1].name: Duplicate value"}},
		{"endpointslice port protocol", slice(func(s *discoveryv1.EndpointSlice) { s.Ports[0].Protocol = ptr(corev1.Protocol("ICMP")) }), []string{"ports[0].protocol: Unsupported value"}},

		{"ingress ok", ingress(nil), nil},
		{"ingress default backend only", ingress(func(in *networkingv1.Ingress) {
			in.Spec.Rules = nil
			in.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http"}}}
		}), nil},
		{"ingress resource backend", ingress(func(in *networkingv1.Ingress) {
			path0(in).Backend = networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{APIGroup: ptr("k8s.example.com"), Kind: "StorageBucket", Name: "static"}}
		}), nil},
		{"ingress nothing", ingress(func(in *networkingv1.Ingress) { in.Spec.Rules = nil }), []string{"spec: Invalid value", "either `defaultBackend` or `rules` must be specified"}},
		{"ingress pathType required", ingress(func(in *networkingv1.Ingress) { path0(in).PathType = nil }),
			[]string{"spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"}},
		{"ingress pathType unknown", ingress(func(in *networkingv1.Ingress) { path0(in).PathType = &bogus }), []string{"paths[0].pathType: Unsupported value"}},
		{"ingress relative path", ingress(func(in *networkingv1.Ingress) { path0(in).Path = "api" }), []string{"paths[0].path: Invalid value", "must be an absolute path"}},
		{"ingress exact path with //", ingress(func(in *networkingv1.Ingress) { path0(in).PathType = &exact; path0(in).Path = "/a//b" }), []string{"must not contain '//'"}},
		{"ingress empty paths", ingress(func(in *networkingv1.Ingress) { in.Spec.Rules[0].HTTP.Paths = nil }), []string{"spec.rules[0].http.paths: Required value"}},
		{"ingress both backends", ingress(func(in *networkingv1.Ingress) {
			path0(in).Backend.Resource = &corev1.TypedLocalObjectReference{Kind: "K", Name: "n"}
		}), []string{"cannot set both resource and service backends"}},
		{"ingress no backend", ingress(func(in *networkingv1.Ingress) { path0(in).Backend = networkingv1.IngressBackend{} }), []string{"resource or service backend is required"}},
		{"ingress port name and number", ingress(func(in *networkingv1.Ingress) { path0(in).Backend.Service.Port.Name = "http" }), []string{"cannot set both port name & port number"}},
		{"ingress port required", ingress(func(in *networkingv1.Ingress) { path0(in).Backend.Service.Port = networkingv1.ServiceBackendPort{} }),
			[]string{"backend.service.port: Required value: port name or number is required"}},
		{"ingress service name required", ingress(func(in *networkingv1.Ingress) { path0(in).Backend.Service.Name = "" }), []string{"backend.service.name: Required value"}},
		{"ingress IP host", ingress(func(in *networkingv1.Ingress) { in.Spec.Rules[0].Host = "10.0.0.1" }), []string{"rules[0].host: Invalid value", "must be a DNS name, not an IP address"}},
		{"ingress bad class name", ingress(func(in *networkingv1.Ingress) { in.Spec.IngressClassName = ptr("Bad_Class") }), []string{"spec.ingressClassName: Invalid value"}},

		{"ingressclass ok", ingressClass(nil), nil},
		{"ingressclass controller required", ingressClass(func(c *networkingv1.IngressClass) { c.Spec.Controller = "" }), []string{"spec.controller: Required value"}},
		{"ingressclass controller needs domain", ingressClass(func(c *networkingv1.IngressClass) { c.Spec.Controller = "nginx" }), []string{"spec.controller: Invalid value"}},
		{"ingressclass namespace scope needs namespace", ingressClass(func(c *networkingv1.IngressClass) {
			c.Spec.Parameters = &networkingv1.IngressClassParametersReference{Kind: "P", Name: "p", Scope: ptr("Namespace")}
		}), []string{"spec.parameters.namespace: Required value"}},
		{"ingressclass cluster scope forbids namespace", ingressClass(func(c *networkingv1.IngressClass) {
			c.Spec.Parameters = &networkingv1.IngressClassParametersReference{Kind: "P", Name: "p", Scope: ptr("Cluster"), Namespace: ptr("x")}
		}), []string{"spec.parameters.namespace: Forbidden"}},

		{"networkpolicy ok", netpol(nil), nil},
		{"networkpolicy empty peer", netpol(func(np *networkingv1.NetworkPolicy) { np.Spec.Ingress[0].From = []networkingv1.NetworkPolicyPeer{{}} }),
			[]string{"spec.ingress[0].from[0]: Required value: must specify a peer"}},
		{"networkpolicy ipBlock with selector", netpol(func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[0].From[1].PodSelector = &metav1.LabelSelector{}
		}), []string{"from[1]: Forbidden: may not specify both ipBlock and another peer"}},
		{"networkpolicy except outside cidr", netpol(func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[0].From[1].IPBlock.Except = []string{"192.168.0.0/24"}
		}),
			[]string{"ipBlock.except[0]: Invalid value"}},
		{"networkpolicy bad cidr", netpol(func(np *networkingv1.NetworkPolicy) { np.Spec.Ingress[0].From[1].IPBlock.CIDR = "10.0.0.0" }), []string{"ipBlock.cidr: Invalid value"}},
		{"networkpolicy endPort below port", netpol(func(np *networkingv1.NetworkPolicy) { np.Spec.Ingress[0].Ports[0].EndPort = ptr(int32(70)) }),
			[]string{"ports[0].endPort: Invalid value", "must be greater than or equal to `port`"}},
		{"networkpolicy policy type", netpol(func(np *networkingv1.NetworkPolicy) { np.Spec.PolicyTypes = []networkingv1.PolicyType{"Sideways"} }), []string{"spec.policyTypes[0]: Unsupported value"}},
		{"networkpolicy bad selector", netpol(func(np *networkingv1.NetworkPolicy) { np.Spec.PodSelector.MatchLabels = map[string]string{"a b": "c"} }), []string{"spec.podSelector.matchLabels: Invalid value"}},

		{"runtimeclass ok", &nodev1.RuntimeClass{ObjectMeta: clusterMeta("gvisor"), Handler: "runsc",
			Overhead: &nodev1.Overhead{PodFixed: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}}}, nil},
		{"runtimeclass handler", &nodev1.RuntimeClass{ObjectMeta: clusterMeta("x"), Handler: "Run_SC"}, []string{"handler: Invalid value"}},
		{"runtimeclass negative overhead", &nodev1.RuntimeClass{ObjectMeta: clusterMeta("x"), Handler: "runc",
			Overhead: &nodev1.Overhead{PodFixed: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-1")}}}, []string{"overhead.podFixed[cpu]: Invalid value"}},

		{"priorityclass ok", priorityClass("high", 1000000000), nil},
		{"priorityclass system ones", SystemPriorityClasses()[0], nil},
		{"priorityclass too high", priorityClass("high", 1000000001), []string{"value: Forbidden: maximum allowed value of a user defined priority is 1000000000"}},
		{"priorityclass reserved prefix", priorityClass("system-mine", 10),
			[]string{"metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class"}},
		{"priorityclass system with wrong value", priorityClass("system-node-critical", 10), []string{"value of system-node-critical PriorityClass must be 2000001000"}},
		{"priorityclass policy", &schedulingv1.PriorityClass{ObjectMeta: clusterMeta("p"), PreemptionPolicy: ptr(corev1.PreemptionPolicy("Sometimes"))},
			[]string{"preemptionPolicy: Unsupported value"}},

		{"storageclass ok", storageClass(nil), nil},
		{"storageclass provisioner required", storageClass(func(sc *storagev1.StorageClass) { sc.Provisioner = "" }), []string{"provisioner: Required value"}},
		{"storageclass provisioner invalid", storageClass(func(sc *storagev1.StorageClass) { sc.Provisioner = "not a name" }), []string{"provisioner: Invalid value"}},
		{"storageclass reclaim Recycle", storageClass(func(sc *storagev1.StorageClass) {
			sc.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRecycle)
		}), []string{"reclaimPolicy: Unsupported value"}},
		{"storageclass binding mode", storageClass(func(sc *storagev1.StorageClass) { sc.VolumeBindingMode = ptr(storagev1.VolumeBindingMode("Later")) }),
			[]string{"volumeBindingMode: Unsupported value"}},

		{"csidriver ok", &storagev1.CSIDriver{ObjectMeta: clusterMeta("csi.example.com")}, nil},
		{"csidriver name too long", &storagev1.CSIDriver{ObjectMeta: clusterMeta(strings.Repeat("a", 64))}, []string{"metadata.name: Invalid value"}},
		{"csidriver short token", &storagev1.CSIDriver{ObjectMeta: clusterMeta("d"), Spec: storagev1.CSIDriverSpec{
			TokenRequests: []storagev1.TokenRequest{{Audience: "a", ExpirationSeconds: ptr(int64(60))}}}}, []string{"spec.tokenRequests[0].expirationSeconds: Invalid value"}},
		{"csidriver lifecycle mode", &storagev1.CSIDriver{ObjectMeta: clusterMeta("d"), Spec: storagev1.CSIDriverSpec{
			VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{"Forever"}}}, []string{"spec.volumeLifecycleModes[0]: Unsupported value"}},
		{"csinode ok", &storagev1.CSINode{ObjectMeta: clusterMeta("n1"), Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{Name: "csi.example.com", NodeID: "n1"}}}}, nil},
		{"csinode node ID required", &storagev1.CSINode{ObjectMeta: clusterMeta("n1"), Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{Name: "csi.example.com"}}}},
			[]string{"spec.drivers[0].nodeID: Required value"}},
		{"csistoragecapacity ok", &storagev1.CSIStorageCapacity{ObjectMeta: om("c"), StorageClassName: "fast", Capacity: ptr(resource.MustParse("1Gi"))}, nil},
		{"csistoragecapacity class required", &storagev1.CSIStorageCapacity{ObjectMeta: om("c")}, []string{"storageClassName: Required value"}},
		{"volumeattachment ok", &storagev1.VolumeAttachment{ObjectMeta: clusterMeta("va"), Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "csi.example.com", NodeName: "n1", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr("pv")}}}, nil},
		{"volumeattachment no source", &storagev1.VolumeAttachment{ObjectMeta: clusterMeta("va"), Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "csi.example.com", NodeName: "n1"}}, []string{"spec.source: Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName"}},
		{"volumeattachment attacher and node", &storagev1.VolumeAttachment{ObjectMeta: clusterMeta("va"), Spec: storagev1.VolumeAttachmentSpec{
			Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr("pv")}}}, []string{"spec.attacher: Required value", "spec.nodeName: Required value"}},

		{"flowschema ok", flowSchema(nil), nil},
		{"flowschema precedence", flowSchema(func(fs *flowcontrolv1.FlowSchema) { fs.Spec.MatchingPrecedence = 10001 }),
			[]string{"spec.matchingPrecedence: Invalid value: 10001: must not be greater than 10000"}},
		{"flowschema level required", flowSchema(func(fs *flowcontrolv1.FlowSchema) { fs.Spec.PriorityLevelConfiguration.Name = "" }),
			[]string{"spec.priorityLevelConfiguration.name: Required value"}},
		{"flowschema rules need a rule", flowSchema(func(fs *flowcontrolv1.FlowSchema) { fs.Spec.Rules[0].ResourceRules = nil }),
			[]string{"at least one of resourceRules and nonResourceRules has to be non-empty"}},
		{"flowschema namespaced rule", flowSchema(func(fs *flowcontrolv1.FlowSchema) { fs.Spec.Rules[0].ResourceRules[0].Namespaces = nil }),
			[]string{"resource rules that are not cluster scoped must supply at least one namespace"}},
		{"flowschema subject", flowSchema(func(fs *flowcontrolv1.FlowSchema) { fs.Spec.Rules[0].Subjects[0].ServiceAccount.Namespace = "" }),
			[]string{"subjects[0].serviceAccount.namespace: Required value"}},
		{"flowschema distinguisher", flowSchema(func(fs *flowcontrolv1.FlowSchema) { fs.Spec.DistinguisherMethod.Type = "ByMood" }),
			[]string{"spec.distinguisherMethod.type: Unsupported value"}},
		{"flowschema mandatory as shipped", bootstrap.MandatoryFlowSchemaCatchAll.DeepCopy(), nil},
		{"flowschema mandatory changed", func() runtime.Object {
			fs := bootstrap.MandatoryFlowSchemaCatchAll.DeepCopy()
			fs.Spec.MatchingPrecedence = 5000
			return fs
		}(), []string{"spec: Invalid value", "spec of 'catch-all' must equal the fixed value"}},

		{"level ok", level("mine", nil), nil},
		{"level bootstrap", bootstrap.SuggestedPriorityLevelConfigurationWorkloadLow.DeepCopy(), nil},
		{"level exempt bootstrap", bootstrap.MandatoryPriorityLevelConfigurationExempt.DeepCopy(), nil},
		{"level exempt type reserved", level("mine", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Type, pl.Spec.Limited, pl.Spec.Exempt = flowcontrolv1.PriorityLevelEnablementExempt, nil, &flowcontrolv1.ExemptPriorityLevelConfiguration{}
		}), []string{"type must be 'Exempt' if and only if name is 'exempt'"}},
		{"level queuing required", level("mine", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited.LimitResponse.Queuing = nil }),
			[]string{"spec.limited.limitResponse.queuing: Required value"}},
		{"level hand bigger than queues", level("mine", func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Spec.Limited.LimitResponse.Queuing = &flowcontrolv1.QueuingConfiguration{Queues: 4, HandSize: 8, QueueLengthLimit: 5}
		}), []string{"spec.limited.limitResponse.queuing.handSize: Invalid value"}},
		{"level lendable percent", level("mine", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited.LendablePercent = ptr(int32(101)) }),
			[]string{"spec.limited.lendablePercent: Invalid value"}},
		{"level limited required", level("mine", func(pl *flowcontrolv1.PriorityLevelConfiguration) { pl.Spec.Limited = nil }),
			[]string{"spec.limited: Required value"}},

		{"apiservice ok", apiService("v1beta1.metrics.k8s.io", nil), nil},
		{"apiservice local core", apiService("v1.", func(a *apiregistrationv1.APIService) {
			a.Spec = apiregistrationv1.APIServiceSpec{Version: "v1", GroupPriorityMinimum: 18000, VersionPriority: 1}
		}), nil},
		{"apiservice name", apiService("wrong", nil), []string{"metadata.name: Invalid value", "must be `spec.version+\".\"+spec.group`: \"v1beta1.metrics.k8s.io\""}},
		{"apiservice empty group", apiService("v2.", func(a *apiregistrationv1.APIService) { a.Spec.Group, a.Spec.Version = "", "v2" }),
			[]string{"spec.group: Required value: only v1 may have an empty group"}},
		{"apiservice priorities", apiService("v1beta1.metrics.k8s.io", func(a *apiregistrationv1.APIService) {
			a.Spec.GroupPriorityMinimum, a.Spec.VersionPriority = 0, 1001
		}), []string{"spec.groupPriorityMinimum: Invalid value", "spec.versionPriority: Invalid value"}},
		{"apiservice service name", apiService("v1beta1.metrics.k8s.io", func(a *apiregistrationv1.APIService) { a.Spec.Service.Name = "" }),
			[]string{"spec.service.name: Required value"}},
		{"apiservice port", apiService("v1beta1.metrics.k8s.io", func(a *apiregistrationv1.APIService) { a.Spec.Service.Port = ptr(int32(70000)) }),
			[]string{"spec.service.port: Invalid value"}},
		{"apiservice local caBundle", apiService("v1beta1.metrics.k8s.io", func(a *apiregistrationv1.APIService) {
			a.Spec.Service, a.Spec.CABundle = nil, []byte("x")
		}), []string{"local APIServices may not have a caBundle"}},
		{"apiservice skip verify with ca", apiService("v1beta1.metrics.k8s.io", func(a *apiregistrationv1.APIService) {
			a.Spec.InsecureSkipTLSVerify, a.Spec.CABundle = true, []byte("x")
		}), []string{"spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is present"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defaults.Default(tt.obj)
			errs := Validate(tt.obj)
			got := errs.ToAggregate()
			if len(tt.want) == 0 {
				if len(errs) > 0 {
					t.Fatalf("want valid, got %v", got)
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("want errors %q, got none", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("errors lack %q: %v", w, got)
				}
			}
		})
	}
}

func TestValidateMoreUpdate(t *testing.T) {
	withRV := func(o runtime.Object) runtime.Object {
		o.(metav1.Object).SetResourceVersion("1")
		defaults.Default(o)
		return o
	}
	tests := []struct {
		name     string
		obj, old runtime.Object
		want     string
	}{
		{"endpointslice addressType immutable", withRV(slice(func(s *discoveryv1.EndpointSlice) {
			s.AddressType = discoveryv1.AddressTypeFQDN
			s.Endpoints[0].Addresses = []string{"a.example.com"}
		})), withRV(slice(nil)), `addressType: Invalid value: "FQDN": field is immutable`},
		{"endpointslice endpoints mutable", withRV(slice(func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = []string{"10.0.0.9"} })), withRV(slice(nil)), ""},
		{"ingress rules mutable", withRV(ingress(func(in *networkingv1.Ingress) { in.Spec.Rules[0].Host = "bar.example.com" })), withRV(ingress(nil)), ""},
		{"ingressclass controller immutable", withRV(ingressClass(func(c *networkingv1.IngressClass) { c.Spec.Controller = "example.com/other" })), withRV(ingressClass(nil)),
			"spec.controller: Invalid value"},
		{"priorityclass value immutable", withRV(priorityClass("p", 2)), withRV(priorityClass("p", 1)), "value: Forbidden: may not be changed in an update."},
		{"priorityclass description mutable", withRV(func() runtime.Object { p := priorityClass("p", 1); p.Description = "new"; return p }()), withRV(priorityClass("p", 1)), ""},
		{"priorityclass policy immutable", withRV(func() runtime.Object {
			p := priorityClass("p", 1)
			p.PreemptionPolicy = ptr(corev1.PreemptNever)
			return p
		}()), withRV(priorityClass("p", 1)), "preemptionPolicy: Invalid value"},
		{"storageclass provisioner immutable", withRV(storageClass(func(sc *storagev1.StorageClass) { sc.Provisioner = "example.com/other" })), withRV(storageClass(nil)),
			"provisioner: Forbidden: updates to provisioner are forbidden."},
		{"storageclass parameters immutable", withRV(storageClass(func(sc *storagev1.StorageClass) { sc.Parameters = nil })), withRV(storageClass(nil)),
			"parameters: Forbidden: updates to parameters are forbidden."},
		{"storageclass reclaim immutable", withRV(storageClass(func(sc *storagev1.StorageClass) { sc.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRetain) })), withRV(storageClass(nil)),
			"reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden."},
		{"storageclass expansion mutable", withRV(storageClass(func(sc *storagev1.StorageClass) { sc.AllowVolumeExpansion = ptr(true) })), withRV(storageClass(nil)), ""},
		{"runtimeclass handler immutable", withRV(&nodev1.RuntimeClass{ObjectMeta: clusterMeta("r"), Handler: "b"}), withRV(&nodev1.RuntimeClass{ObjectMeta: clusterMeta("r"), Handler: "a"}),
			"handler: Invalid value"},
		{"csidriver attachRequired immutable", withRV(&storagev1.CSIDriver{ObjectMeta: clusterMeta("d"), Spec: storagev1.CSIDriverSpec{AttachRequired: ptr(false)}}),
			withRV(&storagev1.CSIDriver{ObjectMeta: clusterMeta("d")}), "spec.attachRequired: Invalid value"},
		{"volumeattachment spec immutable", withRV(&storagev1.VolumeAttachment{ObjectMeta: clusterMeta("va"), Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "csi.example.com", NodeName: "n2", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr("pv")}}}),
			withRV(&storagev1.VolumeAttachment{ObjectMeta: clusterMeta("va"), Spec: storagev1.VolumeAttachmentSpec{
				Attacher: "csi.example.com", NodeName: "n1", Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr("pv")}}}),
			"spec: Invalid value"},
		{"csistoragecapacity class immutable", withRV(&storagev1.CSIStorageCapacity{ObjectMeta: om("c"), StorageClassName: "b"}),
			withRV(&storagev1.CSIStorageCapacity{ObjectMeta: om("c"), StorageClassName: "a"}), "storageClassName: Invalid value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateUpdate(tt.obj, tt.old)
			if tt.want == "" {
				if len(errs) > 0 {
					t.Fatalf("want valid, got %v", errs.ToAggregate())
				}
				return
			}
			if len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), tt.want) {
				t.Fatalf("want %q, got %v", tt.want, errs.ToAggregate())
			}
		})
	}
}

func TestValidateMoreStatus(t *testing.T) {
	rv := func(m metav1.ObjectMeta) metav1.ObjectMeta { m.ResourceVersion = "1"; return m }
	tests := []struct {
		name     string
		obj, old runtime.Object
		want     string
	}{
		{"ingress lb ip", &networkingv1.Ingress{ObjectMeta: rv(om("i")), Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{
			Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.1"}}}}}, &networkingv1.Ingress{ObjectMeta: rv(om("i"))}, ""},
		{"ingress lb bad ip", &networkingv1.Ingress{ObjectMeta: rv(om("i")), Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{
			Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "not-an-ip"}}}}}, &networkingv1.Ingress{ObjectMeta: rv(om("i"))}, "status.loadBalancer.ingress[0].ip: Invalid value"},
		{"flowschema duplicate condition", &flowcontrolv1.FlowSchema{ObjectMeta: rv(clusterMeta("f")), Status: flowcontrolv1.FlowSchemaStatus{Conditions: []flowcontrolv1.FlowSchemaCondition{
			{Type: "Dangling", Status: "False"}, {Type: "Dangling", Status: "True"}}}}, &flowcontrolv1.FlowSchema{ObjectMeta: rv(clusterMeta("f"))}, "status.conditions[1].type: Duplicate value"},
		{"apiservice condition status", &apiregistrationv1.APIService{ObjectMeta: rv(clusterMeta("v1.a")), Status: apiregistrationv1.APIServiceStatus{Conditions: []apiregistrationv1.APIServiceCondition{
			{Type: "Available", Status: "Maybe"}}}}, &apiregistrationv1.APIService{ObjectMeta: rv(clusterMeta("v1.a"))}, "status.conditions[0].status: Unsupported value"},
		{"volumeattachment long error", &storagev1.VolumeAttachment{ObjectMeta: rv(clusterMeta("va")), Status: storagev1.VolumeAttachmentStatus{
			AttachError: &storagev1.VolumeError{Message: strings.Repeat("x", 1025)}}}, &storagev1.VolumeAttachment{ObjectMeta: rv(clusterMeta("va"))}, "status.attachError.message: Too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateStatusUpdate(tt.obj, tt.old)
			if tt.want == "" {
				if len(errs) > 0 {
					t.Fatalf("want valid, got %v", errs.ToAggregate())
				}
				return
			}
			if len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), tt.want) {
				t.Fatalf("want %q, got %v", tt.want, errs.ToAggregate())
			}
		})
	}
}
