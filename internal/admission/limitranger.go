package admission

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/kastle-dev/kastle/internal/registry"
)

// limitRangerAnnotation records which defaults LimitRanger set on a pod.
const limitRangerAnnotation = "kubernetes.io/limit-ranger"

// LimitRanger applies a namespace's LimitRanges: default requests and
// limits for containers that set none (Admit), and min, max and
// limit/request ratio for containers, pods and claims (Validate), with
// upstream's messages.
type LimitRanger struct {
	LimitRanges Lister
}

var _ Plugin = (*LimitRanger)(nil)

func (p *LimitRanger) ranges(ctx context.Context, ns string) ([]corev1.LimitRange, error) {
	list, err := p.LimitRanges.List(ctx, ns, cachedList())
	if err != nil {
		return nil, err
	}
	l, _ := list.(*corev1.LimitRangeList)
	if l == nil {
		return nil, nil
	}
	return l.Items, nil
}

// Admit fills container defaults on pod creates.
func (p *LimitRanger) Admit(ctx context.Context, a *registry.Attributes) error {
	pod, ok := a.Object.(*corev1.Pod)
	if !ok || a.Operation != registry.Create || a.Subresource != "" {
		return nil
	}
	ranges, err := p.ranges(ctx, a.Namespace)
	if err != nil || len(ranges) == 0 {
		return err
	}
	var reqs, lims corev1.ResourceList = corev1.ResourceList{}, corev1.ResourceList{}
	for _, lr := range ranges {
		for _, it := range lr.Spec.Limits {
			if it.Type != corev1.LimitTypeContainer {
				continue
			}
			for k, v := range it.DefaultRequest {
				reqs[k] = v.DeepCopy()
			}
			for k, v := range it.Default {
				lims[k] = v.DeepCopy()
			}
		}
	}
	var notes []string
	apply := func(c *corev1.Container) {
		var setReq, setLim []string
		for k, v := range lims {
			if _, ok := c.Resources.Limits[k]; !ok {
				if c.Resources.Limits == nil {
					c.Resources.Limits = corev1.ResourceList{}
				}
				c.Resources.Limits[k] = v.DeepCopy()
				setLim = append(setLim, string(k))
			}
		}
		for k, v := range reqs {
			if _, ok := c.Resources.Requests[k]; ok {
				continue
			}
			if c.Resources.Requests == nil {
				c.Resources.Requests = corev1.ResourceList{}
			}
			// A container that sets only a limit gets it as request,
			// as upstream's defaulting does.
			if l, ok := c.Resources.Limits[k]; ok && !slices.Contains(setLim, string(k)) {
				v = l
			}
			c.Resources.Requests[k] = v.DeepCopy()
			setReq = append(setReq, string(k))
		}
		sort.Strings(setReq)
		sort.Strings(setLim)
		if len(setReq) > 0 {
			notes = append(notes, fmt.Sprintf("%s request for container %s", strings.Join(setReq, ", "), c.Name))
		}
		if len(setLim) > 0 {
			notes = append(notes, fmt.Sprintf("%s limit for container %s", strings.Join(setLim, ", "), c.Name))
		}
	}
	for i := range pod.Spec.InitContainers {
		apply(&pod.Spec.InitContainers[i])
	}
	for i := range pod.Spec.Containers {
		apply(&pod.Spec.Containers[i])
	}
	if len(notes) > 0 {
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[limitRangerAnnotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
	}
	return nil
}

// Validate checks pods and claims against min, max and ratios.
func (p *LimitRanger) Validate(ctx context.Context, a *registry.Attributes) error {
	if a.Operation != registry.Create || a.Subresource != "" {
		return nil
	}
	switch a.Object.(type) {
	case *corev1.Pod, *corev1.PersistentVolumeClaim:
	default:
		return nil
	}
	ranges, err := p.ranges(ctx, a.Namespace)
	if err != nil || len(ranges) == 0 {
		return err
	}
	var errs []error
	for _, lr := range ranges {
		for _, it := range lr.Spec.Limits {
			switch o := a.Object.(type) {
			case *corev1.Pod:
				switch it.Type {
				case corev1.LimitTypeContainer:
					for _, c := range append(append([]corev1.Container{}, o.Spec.InitContainers...), o.Spec.Containers...) {
						errs = append(errs, checkRange(it, "Container", c.Resources.Requests, c.Resources.Limits)...)
					}
				case corev1.LimitTypePod:
					req, lim := corev1.ResourceList{}, corev1.ResourceList{}
					for _, c := range o.Spec.Containers {
						addResources(req, c.Resources.Requests)
						addResources(lim, c.Resources.Limits)
					}
					errs = append(errs, checkRange(it, "Pod", req, lim)...)
				}
			case *corev1.PersistentVolumeClaim:
				if it.Type == corev1.LimitTypePersistentVolumeClaim {
					errs = append(errs, checkRange(it, "PersistentVolumeClaim", o.Spec.Resources.Requests, o.Spec.Resources.Limits)...)
				}
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, utilerrors.NewAggregate(errs))
}

func addResources(into, add corev1.ResourceList) {
	for k, v := range add {
		q := into[k]
		q.Add(v)
		into[k] = q
	}
}

// checkRange applies one LimitRange item to requests and limits.
func checkRange(it corev1.LimitRangeItem, kind string, req, lim corev1.ResourceList) []error {
	var errs []error
	for _, k := range sortedNames(it.Min) {
		min := it.Min[k]
		r, hasR := req[k]
		l, hasL := lim[k]
		switch {
		case !hasR && !hasL:
			errs = append(errs, fmt.Errorf("minimum %s usage per %s is %s.  No request is specified", k, kind, min.String()))
		case hasR && r.Cmp(min) < 0:
			errs = append(errs, fmt.Errorf("minimum %s usage per %s is %s, but request is %s", k, kind, min.String(), r.String()))
		case !hasR && hasL && l.Cmp(min) < 0:
			errs = append(errs, fmt.Errorf("minimum %s usage per %s is %s, but limit is %s", k, kind, min.String(), l.String()))
		}
	}
	for _, k := range sortedNames(it.Max) {
		max := it.Max[k]
		r, hasR := req[k]
		l, hasL := lim[k]
		switch {
		case !hasL:
			errs = append(errs, fmt.Errorf("maximum %s usage per %s is %s.  No limit is specified", k, kind, max.String()))
		case l.Cmp(max) > 0:
			errs = append(errs, fmt.Errorf("maximum %s usage per %s is %s, but limit is %s", k, kind, max.String(), l.String()))
		case hasR && r.Cmp(max) > 0:
			errs = append(errs, fmt.Errorf("maximum %s usage per %s is %s, but request is %s", k, kind, max.String(), r.String()))
		}
	}
	for _, k := range sortedNames(it.MaxLimitRequestRatio) {
		ratio := it.MaxLimitRequestRatio[k]
		r, hasR := req[k]
		l, hasL := lim[k]
		if !hasR || !hasL || r.IsZero() {
			errs = append(errs, fmt.Errorf("%s max limit to request ratio per %s is %s, but no request is specified or request is 0", k, kind, ratio.String()))
			continue
		}
		got := float64(l.MilliValue()) / float64(r.MilliValue())
		if got > float64(ratio.MilliValue())/1000 {
			errs = append(errs, fmt.Errorf("%s max limit to request ratio per %s is %s, but provided ratio is %f", k, kind, ratio.String(), got))
		}
	}
	return errs
}

func sortedNames(l corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(l))
	for k := range l {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
