package admission

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/quota"
	"github.com/kastle-dev/kastle/internal/registry"
)

// QuotaStore reads ResourceQuotas and updates their status (a registry
// store).
type QuotaStore interface {
	Lister
	Update(ctx context.Context, ns, name string, fn registry.UpdateFunc, opts registry.WriteOptions) (runtime.Object, error)
}

// ResourceQuota refuses creates (and growing updates) that would take a
// namespace over one of its ResourceQuotas, and charges the ones it admits
// to status.used at once, in the same optimistic update that checked the
// limit, so concurrent creates cannot overshoot. The resource quota
// controller recomputes status.used from what exists (deletions, drift).
type ResourceQuota struct {
	Quotas QuotaStore
}

var _ Plugin = (*ResourceQuota)(nil)

// Admit does nothing: the plugin only validates.
func (p *ResourceQuota) Admit(context.Context, *registry.Attributes) error { return nil }

// Validate charges the write to every quota that covers it.
func (p *ResourceQuota) Validate(ctx context.Context, a *registry.Attributes) error {
	if !a.Resource.Namespaced || a.Subresource != "" || a.Object == nil ||
		(a.Operation != registry.Create && a.Operation != registry.Update) {
		return nil
	}
	gr := a.Resource.GroupResource()
	delta := quota.Usage(gr, a.Object)
	if a.Operation == registry.Update {
		if a.OldObject == nil {
			return nil
		}
		// Only growth is charged on update (a claim's storage, a
		// service turned NodePort); counts do not change.
		delta = positive(quota.Subtract(delta, quota.Usage(gr, a.OldObject)))
		if len(delta) == 0 {
			return nil
		}
	}
	list, err := p.Quotas.List(ctx, a.Namespace, cachedList())
	if err != nil {
		return err
	}
	quotas, _ := list.(*corev1.ResourceQuotaList)
	if quotas == nil || len(quotas.Items) == 0 {
		return nil
	}
	sort.Slice(quotas.Items, func(i, j int) bool { return quotas.Items[i].Name < quotas.Items[j].Name })
	for i := range quotas.Items {
		q := &quotas.Items[i]
		if !quota.Matches(q, a.Object) {
			continue
		}
		charged := quota.Mask(delta, q.Spec.Hard)
		if a.Operation == registry.Create {
			if err := mustSpecify(q, a.Object); err != nil {
				return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, err)
			}
		}
		if len(charged) == 0 {
			continue
		}
		if err := p.charge(ctx, a, q.Name, charged); err != nil {
			return err
		}
	}
	return nil
}

// charge adds charged to the quota's used after checking it fits.
func (p *ResourceQuota) charge(ctx context.Context, a *registry.Attributes, name string, charged corev1.ResourceList) error {
	names := make([]corev1.ResourceName, 0, len(charged))
	for n := range charged {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	var refused error
	check := func(q *corev1.ResourceQuota) error {
		if len(q.Status.Hard) == 0 {
			return fmt.Errorf("status unknown for quota: %s, resource: %s", q.Name, names[0])
		}
		used := quota.Add(q.Status.Used, charged)
		if over := quota.Exceeded(used, quota.Mask(q.Status.Hard, charged)); len(over) > 0 {
			return fmt.Errorf("exceeded quota: %s, requested: %s, used: %s, limited: %s", q.Name,
				quota.Format(charged, over), quota.Format(withZeros(q.Status.Used, over), over), quota.Format(q.Status.Hard, over))
		}
		q.Status.Used = used
		return nil
	}
	if a.DryRun {
		list, err := p.Quotas.List(ctx, a.Namespace, &metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		if err != nil {
			return err
		}
		if ql, ok := list.(*corev1.ResourceQuotaList); ok && len(ql.Items) == 1 {
			if err := check(&ql.Items[0]); err != nil {
				return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, err)
			}
		}
		return nil
	}
	_, err := p.Quotas.Update(ctx, a.Namespace, name, func(cur runtime.Object) (runtime.Object, error) {
		q, ok := cur.(*corev1.ResourceQuota)
		if !ok {
			return nil, fmt.Errorf("resource quota %s has type %T", name, cur)
		}
		if err := check(q); err != nil {
			refused = err
			return nil, err
		}
		return q, nil
	}, registry.WriteOptions{Subresource: "status", FieldManager: "resource-quota-admission"})
	switch {
	case refused != nil:
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, refused)
	case apierrors.IsNotFound(err):
		return nil // the quota went away meanwhile
	}
	return err
}

// mustSpecify refuses pods that leave out a compute resource the quota
// limits (nothing could be charged for it), with upstream's message.
func mustSpecify(q *corev1.ResourceQuota, obj runtime.Object) error {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	var missing []string
	check := func(name corev1.ResourceName, res corev1.ResourceName, limit bool) {
		if _, ok := q.Spec.Hard[name]; !ok {
			return
		}
		var lacking []string
		for _, c := range pod.Spec.Containers {
			l := c.Resources.Requests
			if limit {
				l = c.Resources.Limits
			}
			if _, ok := l[res]; !ok {
				lacking = append(lacking, c.Name)
			}
		}
		if len(lacking) > 0 {
			missing = append(missing, fmt.Sprintf("%s for: %s", name, strings.Join(lacking, ",")))
		}
	}
	check(corev1.ResourceLimitsCPU, corev1.ResourceCPU, true)
	check(corev1.ResourceLimitsMemory, corev1.ResourceMemory, true)
	check(corev1.ResourceRequestsCPU, corev1.ResourceCPU, false)
	check(corev1.ResourceCPU, corev1.ResourceCPU, false)
	check(corev1.ResourceRequestsMemory, corev1.ResourceMemory, false)
	check(corev1.ResourceMemory, corev1.ResourceMemory, false)
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("failed quota: %s: must specify %s", q.Name, strings.Join(missing, "; "))
}

func positive(l corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range l {
		if v.Sign() > 0 {
			out[k] = v
		}
	}
	return out
}

func withZeros(l corev1.ResourceList, names []corev1.ResourceName) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, n := range names {
		out[n] = l[n]
	}
	return out
}
