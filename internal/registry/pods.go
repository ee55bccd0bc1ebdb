package registry

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kastle-dev/kastle/internal/apis"
)

// withEphemeralContainersOf returns a copy of the stored pod with the
// requested spec.ephemeralContainers (pods/ephemeralcontainers): nothing
// else of the pod changes, and ephemeral containers can only be added,
// never changed or removed, as upstream enforces.
func withEphemeralContainersOf(cur, requested runtime.Object, r *apis.Resource, name string) (runtime.Object, error) {
	c, ok1 := cur.(*corev1.Pod)
	p, ok2 := requested.(*corev1.Pod)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("ephemeralcontainers is a subresource of pods, not of %T", requested)
	}
	out := c.DeepCopy()
	out.Spec.EphemeralContainers = p.Spec.EphemeralContainers
	path := field.NewPath("spec", "ephemeralContainers")
	var errs field.ErrorList
	added := map[string]int{}
	for i, ec := range p.Spec.EphemeralContainers {
		added[ec.Name] = i
	}
	for _, old := range c.Spec.EphemeralContainers {
		i, ok := added[old.Name]
		switch {
		case !ok:
			errs = append(errs, field.Forbidden(path, fmt.Sprintf("existing ephemeral containers %q may not be removed", old.Name)))
		case !apiequality.Semantic.DeepEqual(old, p.Spec.EphemeralContainers[i]):
			errs = append(errs, field.Forbidden(path.Index(i), fmt.Sprintf("existing ephemeral containers %q may not be changed", old.Name)))
		}
	}
	names := map[string]bool{}
	for _, ct := range c.Spec.Containers {
		names[ct.Name] = true
	}
	for _, ct := range c.Spec.InitContainers {
		names[ct.Name] = true
	}
	for i, ec := range p.Spec.EphemeralContainers {
		ip := path.Index(i)
		switch {
		case ec.Name == "":
			errs = append(errs, field.Required(ip.Child("name"), ""))
		case names[ec.Name]:
			errs = append(errs, field.Duplicate(ip.Child("name"), ec.Name))
		default:
			for _, msg := range validation.IsDNS1123Label(ec.Name) {
				errs = append(errs, field.Invalid(ip.Child("name"), ec.Name, msg))
			}
		}
		names[ec.Name] = true
		if ec.Image == "" {
			errs = append(errs, field.Required(ip.Child("image"), ""))
		}
		if len(ec.Ports) > 0 {
			errs = append(errs, field.Forbidden(ip.Child("ports"), "cannot be set for an Ephemeral Container"))
		}
		if ec.LivenessProbe != nil || ec.ReadinessProbe != nil || ec.StartupProbe != nil {
			errs = append(errs, field.Forbidden(ip, "probes cannot be set for an Ephemeral Container"))
		}
	}
	if len(errs) > 0 {
		return nil, invalid(r, name, errs)
	}
	return out, nil
}
