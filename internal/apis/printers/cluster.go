package printers

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	networkingv1 "k8s.io/api/networking/v1"
	nodev1 "k8s.io/api/node/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

const (
	unset = "<unset>"
	// listMax is how many ports or addresses a cell lists before
	// "+ N more...".
	listMax = 3
	// maxAddressWidth truncates the ADDRESS cell of ingresses outside
	// `-o wide`.
	maxAddressWidth = 16
	// Annotations marking the default storage class.
	defaultClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaDefaultClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
)

// moreFor returns the printers of the discovery, networking, node,
// scheduling, storage, flowcontrol and apiregistration kinds.
func moreFor(gk schema.GroupKind) (*Printer, bool) {
	switch gk {
	case schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:
		return typed(endpointSliceColumns(), printEndpointSlice), true
	case schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}:
		return typed(ingressColumns(), printIngress), true
	case schema.GroupKind{Group: "networking.k8s.io", Kind: "IngressClass"}:
		return typed(ingressClassColumns(), printIngressClass), true
	case schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:
		return typed(networkPolicyColumns(), printNetworkPolicy), true
	case schema.GroupKind{Group: "node.k8s.io", Kind: "RuntimeClass"}:
		return typed(runtimeClassColumns(), printRuntimeClass), true
	case schema.GroupKind{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:
		return typed(priorityClassColumns(), printPriorityClass), true
	case schema.GroupKind{Group: "storage.k8s.io", Kind: "StorageClass"}:
		return typed(storageClassColumns(), printStorageClass), true
	case schema.GroupKind{Group: "storage.k8s.io", Kind: "CSIDriver"}:
		return typed(csiDriverColumns(), printCSIDriver), true
	case schema.GroupKind{Group: "storage.k8s.io", Kind: "CSINode"}:
		return typed(csiNodeColumns(), printCSINode), true
	case schema.GroupKind{Group: "storage.k8s.io", Kind: "CSIStorageCapacity"}:
		return typed(csiStorageCapacityColumns(), printCSIStorageCapacity), true
	case schema.GroupKind{Group: "storage.k8s.io", Kind: "VolumeAttachment"}:
		return typed(volumeAttachmentColumns(), printVolumeAttachment), true
	case schema.GroupKind{Group: "flowcontrol.apiserver.k8s.io", Kind: "FlowSchema"}:
		return typed(flowSchemaColumns(), printFlowSchema), true
	case schema.GroupKind{Group: "flowcontrol.apiserver.k8s.io", Kind: "PriorityLevelConfiguration"}:
		return typed(priorityLevelColumns(), printPriorityLevel), true
	case schema.GroupKind{Group: "apiregistration.k8s.io", Kind: "APIService"}:
		return typed(apiServiceColumns(), printAPIService), true
	}
	return nil, false
}

// listWithMore joins at most listMax items and counts the rest, as
// kubectl shows long port and address lists; "<unset>" when empty.
func listWithMore(items []string) string {
	if len(items) == 0 {
		return unset
	}
	if len(items) > listMax {
		return fmt.Sprintf("%s + %d more...", strings.Join(items[:listMax], ","), len(items)-listMax)
	}
	return strings.Join(items, ",")
}

func endpointSliceColumns() []metav1.TableColumnDefinition {
	doc := discoveryv1.EndpointSlice{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("AddressType", "string", 0, doc["addressType"]),
		col("Ports", "string", 0, doc["ports"]),
		col("Endpoints", "string", 0, doc["endpoints"]),
		ageColumn(),
	}
}

func printEndpointSlice(s *discoveryv1.EndpointSlice, now time.Time) []interface{} {
	var ports, addrs []string
	for _, p := range s.Ports {
		v := unset
		if p.Port != nil {
			v = strconv.Itoa(int(*p.Port))
		} else if p.Name != nil {
			v = *p.Name
		}
		ports = append(ports, v)
	}
	for _, e := range s.Endpoints {
		addrs = append(addrs, e.Addresses...)
	}
	return []interface{}{s.Name, string(s.AddressType), listWithMore(ports), listWithMore(addrs), age(s.CreationTimestamp, now)}
}

func ingressColumns() []metav1.TableColumnDefinition {
	spec := networkingv1.IngressSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Class", "string", 0, spec["ingressClassName"]),
		col("Hosts", "string", 0, "Hosts that incoming requests are matched against before the ingress rule"),
		col("Address", "string", 0, "Address is a list containing ingress points for the load-balancer"),
		col("Ports", "string", 0, "Ports of TLS configurations that open"),
		ageColumn(),
	}
}

func printIngress(in *networkingv1.Ingress, now time.Time) []interface{} {
	class := none
	if in.Spec.IngressClassName != nil {
		class = *in.Spec.IngressClassName
	}
	var hosts []string
	for _, r := range in.Spec.Rules {
		if r.Host != "" {
			hosts = append(hosts, r.Host)
		}
	}
	hostCell := "*"
	if len(hosts) > 0 {
		hostCell = strings.Join(hosts, ",")
		if len(hosts) > listMax {
			hostCell = fmt.Sprintf("%s + %d more...", strings.Join(hosts[:listMax], ","), len(hosts)-listMax)
		}
	}
	var addrs []string
	for _, lb := range in.Status.LoadBalancer.Ingress {
		if lb.IP != "" {
			addrs = append(addrs, lb.IP)
		}
		if lb.Hostname != "" {
			addrs = append(addrs, lb.Hostname)
		}
	}
	addr := strings.Join(addrs, ",")
	if len(addr) > maxAddressWidth {
		addr = addr[:maxAddressWidth] + "..."
	}
	ports := "80"
	if len(in.Spec.TLS) > 0 {
		ports = "80, 443"
	}
	return []interface{}{in.Name, class, hostCell, addr, ports, age(in.CreationTimestamp, now)}
}

func ingressClassColumns() []metav1.TableColumnDefinition {
	spec := networkingv1.IngressClassSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Controller", "string", 0, spec["controller"]),
		col("Parameters", "string", 0, spec["parameters"]),
		ageColumn(),
	}
}

func printIngressClass(c *networkingv1.IngressClass, now time.Time) []interface{} {
	params := none
	if p := c.Spec.Parameters; p != nil {
		params = p.Kind
		if p.APIGroup != nil {
			params += "." + *p.APIGroup
		}
		params += "/" + p.Name
	}
	return []interface{}{c.Name, c.Spec.Controller, params, age(c.CreationTimestamp, now)}
}

func networkPolicyColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Pod-Selector", "string", 0, networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]),
		ageColumn(),
	}
}

func printNetworkPolicy(np *networkingv1.NetworkPolicy, now time.Time) []interface{} {
	return []interface{}{np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), age(np.CreationTimestamp, now)}
}

func runtimeClassColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Handler", "string", 0, nodev1.RuntimeClass{}.SwaggerDoc()["handler"]),
		ageColumn(),
	}
}

func printRuntimeClass(rc *nodev1.RuntimeClass, now time.Time) []interface{} {
	return []interface{}{rc.Name, rc.Handler, age(rc.CreationTimestamp, now)}
}

func priorityClassColumns() []metav1.TableColumnDefinition {
	doc := schedulingv1.PriorityClass{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Value", "integer", 0, doc["value"]),
		col("Global-Default", "boolean", 0, doc["globalDefault"]),
		ageColumn(),
		col("PreemptionPolicy", "string", 0, doc["preemptionPolicy"]),
	}
}

func printPriorityClass(pc *schedulingv1.PriorityClass, now time.Time) []interface{} {
	policy := ""
	if pc.PreemptionPolicy != nil {
		policy = string(*pc.PreemptionPolicy)
	}
	return []interface{}{pc.Name, int64(pc.Value), pc.GlobalDefault, age(pc.CreationTimestamp, now), policy}
}

func storageClassColumns() []metav1.TableColumnDefinition {
	doc := storagev1.StorageClass{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Provisioner", "string", 0, doc["provisioner"]),
		col("ReclaimPolicy", "string", 0, doc["reclaimPolicy"]),
		col("VolumeBindingMode", "string", 0, doc["volumeBindingMode"]),
		col("AllowVolumeExpansion", "string", 0, doc["allowVolumeExpansion"]),
		ageColumn(),
	}
}

// printStorageClass marks the default class "(default)" after its name,
// as kubectl does.
func printStorageClass(sc *storagev1.StorageClass, now time.Time) []interface{} {
	name := sc.Name
	if sc.Annotations[defaultClassAnnotation] == "true" || sc.Annotations[betaDefaultClassAnnotation] == "true" {
		name += " (default)"
	}
	reclaim, binding := "Delete", string(storagev1.VolumeBindingImmediate)
	if sc.ReclaimPolicy != nil {
		reclaim = string(*sc.ReclaimPolicy)
	}
	if sc.VolumeBindingMode != nil {
		binding = string(*sc.VolumeBindingMode)
	}
	expansion := false
	if sc.AllowVolumeExpansion != nil {
		expansion = *sc.AllowVolumeExpansion
	}
	return []interface{}{name, sc.Provisioner, reclaim, binding, expansion, age(sc.CreationTimestamp, now)}
}

func csiDriverColumns() []metav1.TableColumnDefinition {
	doc := storagev1.CSIDriverSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("AttachRequired", "boolean", 0, doc["attachRequired"]),
		col("PodInfoOnMount", "boolean", 0, doc["podInfoOnMount"]),
		col("StorageCapacity", "boolean", 0, doc["storageCapacity"]),
		col("TokenRequests", "string", 0, doc["tokenRequests"]),
		col("RequiresRepublish", "boolean", 0, doc["requiresRepublish"]),
		col("Modes", "string", 0, doc["volumeLifecycleModes"]),
		ageColumn(),
	}
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func printCSIDriver(d *storagev1.CSIDriver, now time.Time) []interface{} {
	tokens := unset
	if len(d.Spec.TokenRequests) > 0 {
		var auds []string
		for _, t := range d.Spec.TokenRequests {
			auds = append(auds, t.Audience)
		}
		tokens = strings.Join(auds, ",")
	}
	modes := none
	if len(d.Spec.VolumeLifecycleModes) > 0 {
		var ms []string
		for _, m := range d.Spec.VolumeLifecycleModes {
			ms = append(ms, string(m))
		}
		modes = strings.Join(ms, ",")
	}
	return []interface{}{d.Name, boolOr(d.Spec.AttachRequired, true), boolOr(d.Spec.PodInfoOnMount, false),
		boolOr(d.Spec.StorageCapacity, false), tokens, boolOr(d.Spec.RequiresRepublish, false), modes, age(d.CreationTimestamp, now)}
}

func csiNodeColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Drivers", "integer", 0, "Drivers indicates the number of CSI drivers registered on the node"),
		ageColumn(),
	}
}

func printCSINode(n *storagev1.CSINode, now time.Time) []interface{} {
	return []interface{}{n.Name, int64(len(n.Spec.Drivers)), age(n.CreationTimestamp, now)}
}

func csiStorageCapacityColumns() []metav1.TableColumnDefinition {
	doc := storagev1.CSIStorageCapacity{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("StorageClassName", "string", 0, doc["storageClassName"]),
		col("Capacity", "string", 0, doc["capacity"]),
		ageColumn(),
	}
}

func printCSIStorageCapacity(c *storagev1.CSIStorageCapacity, now time.Time) []interface{} {
	capacity := unset
	if c.Capacity != nil {
		capacity = c.Capacity.String()
	}
	return []interface{}{c.Name, c.StorageClassName, capacity, age(c.CreationTimestamp, now)}
}

func volumeAttachmentColumns() []metav1.TableColumnDefinition {
	spec := storagev1.VolumeAttachmentSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Attacher", "string", 0, spec["attacher"]),
		col("PV", "string", 0, storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]),
		col("Node", "string", 0, spec["nodeName"]),
		col("Attached", "boolean", 0, storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]),
		ageColumn(),
	}
}

func printVolumeAttachment(va *storagev1.VolumeAttachment, now time.Time) []interface{} {
	pv := ""
	if va.Spec.Source.PersistentVolumeName != nil {
		pv = *va.Spec.Source.PersistentVolumeName
	}
	return []interface{}{va.Name, va.Spec.Attacher, pv, va.Spec.NodeName, va.Status.Attached, age(va.CreationTimestamp, now)}
}

func flowSchemaColumns() []metav1.TableColumnDefinition {
	spec := flowcontrolv1.FlowSchemaSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("PriorityLevel", "string", 0, flowcontrolv1.PriorityLevelConfigurationReference{}.SwaggerDoc()["name"]),
		col("MatchingPrecedence", "string", 0, spec["matchingPrecedence"]),
		col("DistinguisherMethod", "string", 0, spec["distinguisherMethod"]),
		ageColumn(),
		col("MissingPL", "string", 0, "references a broken or non-existent PriorityLevelConfiguration"),
	}
}

// printFlowSchema shows MISSINGPL from the Dangling condition, "?" until
// it is set.
func printFlowSchema(fs *flowcontrolv1.FlowSchema, now time.Time) []interface{} {
	method := none
	if fs.Spec.DistinguisherMethod != nil {
		method = string(fs.Spec.DistinguisherMethod.Type)
	}
	missing := "?"
	for _, c := range fs.Status.Conditions {
		if c.Type == flowcontrolv1.FlowSchemaConditionDangling {
			missing = string(c.Status)
			break
		}
	}
	return []interface{}{fs.Name, fs.Spec.PriorityLevelConfiguration.Name, int64(fs.Spec.MatchingPrecedence), method, age(fs.CreationTimestamp, now), missing}
}

func priorityLevelColumns() []metav1.TableColumnDefinition {
	limited := flowcontrolv1.LimitedPriorityLevelConfiguration{}.SwaggerDoc()
	queuing := flowcontrolv1.QueuingConfiguration{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Type", "string", 0, flowcontrolv1.PriorityLevelConfigurationSpec{}.SwaggerDoc()["type"]),
		col("NominalConcurrencyShares", "string", 0, limited["nominalConcurrencyShares"]),
		col("Queues", "string", 0, queuing["queues"]),
		col("HandSize", "string", 0, queuing["handSize"]),
		col("QueueLengthLimit", "string", 0, queuing["queueLengthLimit"]),
		ageColumn(),
	}
}

func printPriorityLevel(pl *flowcontrolv1.PriorityLevelConfiguration, now time.Time) []interface{} {
	var shares, queues, hand, limit interface{} = none, none, none, none
	if l := pl.Spec.Limited; l != nil {
		if l.NominalConcurrencyShares != nil {
			shares = int64(*l.NominalConcurrencyShares)
		}
		if q := l.LimitResponse.Queuing; q != nil {
			queues, hand, limit = int64(q.Queues), int64(q.HandSize), int64(q.QueueLengthLimit)
		}
	}
	return []interface{}{pl.Name, string(pl.Spec.Type), shares, queues, hand, limit, age(pl.CreationTimestamp, now)}
}

func apiServiceColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Service", "string", 0, "The reference to the service that hosts this API endpoint."),
		col("Available", "string", 0, "Whether this service is available."),
		ageColumn(),
	}
}

// printAPIService: SERVICE is "Local" or namespace/name; AVAILABLE the
// Available condition, with its reason unless it is True.
func printAPIService(s *apiregistrationv1.APIService, now time.Time) []interface{} {
	service := "Local"
	if s.Spec.Service != nil {
		service = s.Spec.Service.Namespace + "/" + s.Spec.Service.Name
	}
	available := string(apiregistrationv1.ConditionUnknown)
	for _, c := range s.Status.Conditions {
		if c.Type != apiregistrationv1.Available {
			continue
		}
		available = string(c.Status)
		if c.Reason != "" && c.Status != apiregistrationv1.ConditionTrue {
			available += " (" + c.Reason + ")"
		}
	}
	return []interface{}{s.Name, service, available, age(s.CreationTimestamp, now)}
}
