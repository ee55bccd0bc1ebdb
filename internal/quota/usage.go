package quota

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// legacyCounts are the object-count names quota had before count/*.
var legacyCounts = map[schema.GroupResource]corev1.ResourceName{
	{Resource: "pods"}:                   corev1.ResourcePods,
	{Resource: "services"}:               corev1.ResourceServices,
	{Resource: "secrets"}:                corev1.ResourceSecrets,
	{Resource: "configmaps"}:             corev1.ResourceConfigMaps,
	{Resource: "persistentvolumeclaims"}: corev1.ResourcePersistentVolumeClaims,
	{Resource: "replicationcontrollers"}: corev1.ResourceReplicationControllers,
	{Resource: "resourcequotas"}:         corev1.ResourceQuotas,
}

// CountName is the object-count resource of gr: count/pods,
// count/deployments.apps.
func CountName(gr schema.GroupResource) corev1.ResourceName {
	if gr.Group == "" {
		return corev1.ResourceName("count/" + gr.Resource)
	}
	return corev1.ResourceName("count/" + gr.Resource + "." + gr.Group)
}

// ParseCountName returns the group resource a count/ name counts.
func ParseCountName(name corev1.ResourceName) (schema.GroupResource, bool) {
	s, ok := strings.CutPrefix(string(name), "count/")
	if !ok || s == "" {
		return schema.GroupResource{}, false
	}
	res, group, _ := strings.Cut(s, ".")
	return schema.GroupResource{Group: group, Resource: res}, true
}

// LegacyCountResource returns the group resource a legacy count name
// (pods, services, …) counts.
func LegacyCountResource(name corev1.ResourceName) (schema.GroupResource, bool) {
	for gr, n := range legacyCounts {
		if n == name {
			return gr, true
		}
	}
	return schema.GroupResource{}, false
}

// Usage is what obj, of resource gr, consumes. Objects that no longer
// consume (pods in a terminal phase) use nothing.
func Usage(gr schema.GroupResource, obj runtime.Object) corev1.ResourceList {
	if p, ok := obj.(*corev1.Pod); ok && terminal(p) {
		return corev1.ResourceList{}
	}
	out := corev1.ResourceList{CountName(gr): resource.MustParse("1")}
	if n, ok := legacyCounts[gr]; ok {
		out[n] = resource.MustParse("1")
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		podUsage(o, out)
	case *corev1.Service:
		switch o.Spec.Type {
		case corev1.ServiceTypeNodePort:
			out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(int64(len(o.Spec.Ports)), resource.DecimalSI)
		case corev1.ServiceTypeLoadBalancer:
			out[corev1.ResourceServicesLoadBalancers] = resource.MustParse("1")
			if o.Spec.AllocateLoadBalancerNodePorts == nil || *o.Spec.AllocateLoadBalancerNodePorts {
				out[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(int64(len(o.Spec.Ports)), resource.DecimalSI)
			}
		}
	case *corev1.PersistentVolumeClaim:
		storage := o.Spec.Resources.Requests[corev1.ResourceStorage]
		if st, ok := o.Status.AllocatedResources[corev1.ResourceStorage]; ok && st.Cmp(storage) > 0 {
			storage = st
		}
		out[corev1.ResourceRequestsStorage] = storage
		if class := claimClass(o); class != "" {
			out[corev1.ResourceName(class+".storageclass.storage.k8s.io/requests.storage")] = storage
			out[corev1.ResourceName(class+".storageclass.storage.k8s.io/persistentvolumeclaims")] = resource.MustParse("1")
		}
	}
	return out
}

func claimClass(c *corev1.PersistentVolumeClaim) string {
	if c.Spec.StorageClassName != nil {
		return *c.Spec.StorageClassName
	}
	return c.Annotations[corev1.BetaStorageClassAnnotation]
}

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// computeResources maps a container resource to its request and limit
// quota names.
var computeResources = []struct {
	res            corev1.ResourceName
	request, limit corev1.ResourceName
	bare           corev1.ResourceName // the request's short name (cpu, memory)
}{
	{corev1.ResourceCPU, corev1.ResourceRequestsCPU, corev1.ResourceLimitsCPU, corev1.ResourceCPU},
	{corev1.ResourceMemory, corev1.ResourceRequestsMemory, corev1.ResourceLimitsMemory, corev1.ResourceMemory},
	{corev1.ResourceEphemeralStorage, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsEphemeralStorage, corev1.ResourceEphemeralStorage},
}

// podUsage adds a pod's requests and limits: the larger of the sum over
// its containers and each init container, plus its overhead.
func podUsage(p *corev1.Pod, out corev1.ResourceList) {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range p.Spec.Containers {
		addList(requests, c.Resources.Requests)
		addList(limits, c.Resources.Limits)
	}
	for _, c := range p.Spec.InitContainers {
		maxList(requests, c.Resources.Requests)
		maxList(limits, c.Resources.Limits)
	}
	addList(requests, p.Spec.Overhead)
	for _, cr := range computeResources {
		if q, ok := requests[cr.res]; ok {
			out[cr.request] = q.DeepCopy()
			out[cr.bare] = q.DeepCopy()
		}
		if q, ok := limits[cr.res]; ok {
			out[cr.limit] = q.DeepCopy()
		}
	}
	// Huge pages count by their bare and requests. names; extended
	// resources (example.com/dongle) by requests. only, as upstream.
	for name, q := range requests {
		switch name {
		case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
			continue
		}
		out[corev1.ResourceName(corev1.DefaultResourceRequestsPrefix+string(name))] = q.DeepCopy()
		if strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) {
			out[name] = q.DeepCopy()
		}
	}
}

func addList(into, add corev1.ResourceList) {
	for k, v := range add {
		q := into[k]
		q.Add(v)
		into[k] = q
	}
}

func maxList(into, other corev1.ResourceList) {
	for k, v := range other {
		if q, ok := into[k]; !ok || v.Cmp(q) > 0 {
			into[k] = v.DeepCopy()
		}
	}
}

// Add returns a + b.
func Add(a, b corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	addList(out, a)
	addList(out, b)
	return out
}

// Subtract returns a - b for the names in a.
func Subtract(a, b corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range a {
		q := v.DeepCopy()
		if s, ok := b[k]; ok {
			q.Sub(s)
		}
		out[k] = q
	}
	return out
}

// Mask returns the entries of l named in names.
func Mask(l corev1.ResourceList, names corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k := range names {
		if v, ok := l[k]; ok {
			out[k] = v.DeepCopy()
		}
	}
	return out
}

// Exceeded lists, sorted, the names whose used value is above hard.
func Exceeded(used, hard corev1.ResourceList) []corev1.ResourceName {
	var out []corev1.ResourceName
	for k, h := range hard {
		if u, ok := used[k]; ok && u.Cmp(h) > 0 {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Format renders names=value pairs as upstream's messages do.
func Format(l corev1.ResourceList, names []corev1.ResourceName) string {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		v := l[n]
		parts = append(parts, fmt.Sprintf("%s=%s", n, v.String()))
	}
	return strings.Join(parts, ",")
}

// Zero returns every name of names with a zero quantity.
func Zero(names corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k := range names {
		out[k] = resource.MustParse("0")
	}
	return out
}
