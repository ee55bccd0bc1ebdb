package apiserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/apiserver/endpoints"
	"github.com/kastle-dev/kastle/internal/registry"
)

var podsResource = schema.GroupResource{Resource: "pods"}

// created is the answer of a binding or an eviction: a bare Status, as
// kube-apiserver writes it.
func created() *metav1.Status {
	return &metav1.Status{Status: metav1.StatusSuccess, Code: http.StatusCreated}
}

// bind sets a pod's spec.nodeName once (pods/binding and the bindings
// resource): a pod already bound, or being deleted, is a conflict.
func (rv *reviewer) bind(ctx context.Context, r *apis.Resource, ns, name string, b *corev1.Binding) (runtime.Object, error) {
	if r.Plural == "pods" && b.Name != "" && b.Name != name {
		return nil, apierrors.NewBadRequest("name in URL does not match name in Binding object")
	}
	if b.Namespace != "" && b.Namespace != ns {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the namespace of the provided object (%s) does not match the namespace sent on the request (%s)", b.Namespace, ns))
	}
	if r.Plural == "pods" {
		b.Name = name
	}
	var errs field.ErrorList
	if b.Name == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), "name or generateName is required"))
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		errs = append(errs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if b.Target.Name == "" {
		errs = append(errs, field.Required(field.NewPath("target", "name"), ""))
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, b.Name, errs)
	}
	pods, ok := rv.s.stores.Store(mustLookup(rv.s.catalogue, "", "v1", "pods"))
	if !ok {
		return nil, apierrors.NewServiceUnavailable("pods are not ready")
	}
	_, err := pods.Update(ctx, ns, b.Name, func(cur runtime.Object) (runtime.Object, error) {
		p := cur.(*corev1.Pod)
		if p.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(podsResource, p.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", p.Name))
		}
		if b.UID != "" && b.UID != p.UID {
			return nil, apierrors.NewConflict(podsResource, p.Name, fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", b.UID, p.UID))
		}
		if len(p.Spec.SchedulingGates) > 0 {
			return nil, apierrors.NewConflict(podsResource, p.Name, fmt.Errorf("pod %s has non-empty .spec.schedulingGates", p.Name))
		}
		if p.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(podsResource, p.Name, fmt.Errorf("pod %s is already assigned to node %q", p.Name, p.Spec.NodeName))
		}
		p.Spec.NodeName = b.Target.Name
		for k, v := range b.Annotations {
			if p.Annotations == nil {
				p.Annotations = map[string]string{}
			}
			p.Annotations[k] = v
		}
		setPodScheduled(p)
		return p, nil
	}, registry.WriteOptions{FieldManager: "kube-scheduler", Subresource: "binding"})
	if err != nil {
		return nil, err
	}
	return created(), nil
}

func setPodScheduled(p *corev1.Pod) {
	now := metav1.Now()
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodScheduled {
			if p.Status.Conditions[i].Status != corev1.ConditionTrue {
				p.Status.Conditions[i].Status = corev1.ConditionTrue
				p.Status.Conditions[i].LastTransitionTime = now
			}
			return
		}
	}
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now})
}

// evict deletes a pod unless a PodDisruptionBudget forbids it, as the
// eviction subresource does upstream: pods that are not running are
// deleted at once; otherwise the one budget selecting the pod must allow
// a disruption, which the eviction then uses up (429 when none is left).
func (rv *reviewer) evict(ctx context.Context, ns, name string, e *policyv1.Eviction) (runtime.Object, error) {
	if e.Name != "" && e.Name != name {
		return nil, apierrors.NewBadRequest("name in URL does not match name in Eviction object")
	}
	pods, ok := rv.s.stores.Store(mustLookup(rv.s.catalogue, "", "v1", "pods"))
	if !ok {
		return nil, apierrors.NewServiceUnavailable("pods are not ready")
	}
	opts := e.DeleteOptions
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	dryRun := len(opts.DryRun) > 0
	obj, err := pods.Get(ctx, ns, name, "")
	if err != nil {
		return nil, err
	}
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		return created(), nil
	}
	if canIgnorePDB(pod) {
		if _, err := pods.Delete(ctx, ns, name, opts, dryRun); err != nil {
			return nil, err
		}
		return created(), nil
	}
	pdbStore, ok := rv.s.stores.Store(mustLookup(rv.s.catalogue, "policy", "v1", "poddisruptionbudgets"))
	if !ok {
		return nil, apierrors.NewServiceUnavailable("poddisruptionbudgets are not ready")
	}
	list, err := pdbStore.List(ctx, ns, &metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var matching []policyv1.PodDisruptionBudget
	for _, pdb := range list.(*policyv1.PodDisruptionBudgetList).Items {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || pdb.Spec.Selector == nil {
			continue
		}
		// policy/v1: an empty selector selects every pod.
		if sel.Matches(labels.Set(pod.Labels)) {
			matching = append(matching, pdb)
		}
	}
	if len(matching) > 1 {
		return &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
			Message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."}, nil
	}
	if len(matching) == 1 {
		pdb := matching[0]
		unhealthyOK := !podReady(pod) && ((pdb.Spec.UnhealthyPodEvictionPolicy != nil && *pdb.Spec.UnhealthyPodEvictionPolicy == policyv1.AlwaysAllow) ||
			(pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy && pdb.Status.DesiredHealthy > 0))
		if !unhealthyOK {
			if err := rv.useDisruption(ctx, pdbStore, ns, pdb.Name, pod.Name, dryRun); err != nil {
				return nil, err
			}
		}
	}
	if _, err := pods.Delete(ctx, ns, name, opts, dryRun); err != nil {
		return nil, err
	}
	return created(), nil
}

// useDisruption checks that a budget allows one more disruption and
// records it (disruptionsAllowed decremented, the pod in disruptedPods)
// in one conditioned write.
func (rv *reviewer) useDisruption(ctx context.Context, st *registry.Store, ns, pdbName, podName string, dryRun bool) error {
	_, err := st.Update(ctx, ns, pdbName, func(cur runtime.Object) (runtime.Object, error) {
		pdb := cur.(*policyv1.PodDisruptionBudget)
		if pdb.Status.ObservedGeneration < pdb.Generation {
			e := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 10)
			e.ErrStatus.Details.Causes = append(e.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause,
				Message: fmt.Sprintf("The disruption budget %s is still being processed by the server.", pdb.Name)})
			return nil, e
		}
		if pdb.Status.DisruptionsAllowed < 0 {
			return nil, apierrors.NewForbidden(policyv1.Resource("poddisruptionbudget"), pdb.Name, fmt.Errorf("pdb disruptions allowed is negative"))
		}
		if pdb.Status.DisruptionsAllowed == 0 {
			e := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
			e.ErrStatus.Details.Causes = append(e.ErrStatus.Details.Causes, metav1.StatusCause{Type: policyv1.DisruptionBudgetCause,
				Message: fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently", pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy)})
			return nil, e
		}
		pdb.Status.DisruptionsAllowed--
		if pdb.Status.DisruptionsAllowed == 0 {
			setCondition(&pdb.Status.Conditions, metav1.Condition{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse,
				Reason: policyv1.InsufficientPodsReason, ObservedGeneration: pdb.Status.ObservedGeneration})
		}
		if pdb.Status.DisruptedPods == nil {
			pdb.Status.DisruptedPods = map[string]metav1.Time{}
		}
		pdb.Status.DisruptedPods[podName] = metav1.Now()
		return pdb, nil
	}, registry.WriteOptions{FieldManager: "kube-apiserver", Subresource: "status", DryRun: dryRun})
	return err
}

func setCondition(conds *[]metav1.Condition, c metav1.Condition) {
	c.LastTransitionTime = metav1.Now()
	for i := range *conds {
		if (*conds)[i].Type == c.Type {
			if (*conds)[i].Status == c.Status {
				c.LastTransitionTime = (*conds)[i].LastTransitionTime
			}
			(*conds)[i] = c
			return
		}
	}
	*conds = append(*conds, c)
}

// canIgnorePDB: evicting a pod that is not running disrupts nothing.
func canIgnorePDB(p *corev1.Pod) bool {
	switch p.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed, corev1.PodPending:
		return true
	}
	return p.DeletionTimestamp != nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// componentStatuses answers componentstatuses from the server's own view:
// etcd through its client, and the scheduler and controller manager
// through their health endpoints on this machine, as kube-apiserver
// probes them (the in-process controller manager is healthy while it runs).
type componentStatuses struct {
	s *server
	// inProcessControllers: the controller manager runs inside kastle.
	inProcessControllers bool
}

var _ endpoints.VirtualReader = (*componentStatuses)(nil)

// names lists the reported components in upstream's order: the
// scheduler, the controller manager, then one etcd-N per etcd endpoint.
func (c *componentStatuses) names() []string {
	names := []string{"scheduler", "controller-manager"}
	n := len(c.s.etcd.Endpoints())
	if n == 0 {
		n = 1
	}
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("etcd-%d", i))
	}
	return names
}

// Get implements endpoints.VirtualReader.
func (c *componentStatuses) Get(ctx context.Context, r *apis.Resource, name string) (runtime.Object, error) {
	for _, n := range c.names() {
		if n == name {
			return c.probe(ctx, name), nil
		}
	}
	return nil, apierrors.NewNotFound(r.GroupResource(), name)
}

// List implements endpoints.VirtualReader.
func (c *componentStatuses) List(ctx context.Context, r *apis.Resource) (runtime.Object, error) {
	list := &corev1.ComponentStatusList{TypeMeta: metav1.TypeMeta{Kind: "ComponentStatusList", APIVersion: "v1"}}
	for _, n := range c.names() {
		list.Items = append(list.Items, *c.probe(ctx, n))
	}
	return list, nil
}

func (c *componentStatuses) probe(ctx context.Context, name string) *corev1.ComponentStatus {
	cs := &corev1.ComponentStatus{TypeMeta: metav1.TypeMeta{Kind: "ComponentStatus", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: name}}
	var msg string
	var err error
	switch name {
	case "controller-manager":
		if c.inProcessControllers {
			msg = "ok"
		} else {
			msg, err = probeHealthz(ctx, "https://127.0.0.1:10257/healthz")
		}
	case "scheduler":
		msg, err = probeHealthz(ctx, "https://127.0.0.1:10259/healthz")
	default:
		var i int
		fmt.Sscanf(name, "etcd-%d", &i)
		msg, err = c.etcdHealth(ctx, i)
	}
	cond := corev1.ComponentCondition{Type: corev1.ComponentHealthy, Status: corev1.ConditionTrue, Message: msg}
	if err != nil {
		cond.Status, cond.Message, cond.Error = corev1.ConditionFalse, "", err.Error()
	}
	cs.Conditions = []corev1.ComponentCondition{cond}
	return cs
}

// etcdHealth asks etcd endpoint i for its status (the embedded etcd when
// the client has no listed endpoint), as upstream checks each server of
// --etcd-servers.
func (c *componentStatuses) etcdHealth(ctx context.Context, i int) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	eps := c.s.etcd.Endpoints()
	var err error
	if i < len(eps) {
		_, err = c.s.etcd.Status(ctx, eps[i])
	} else {
		_, err = c.s.etcd.Get(ctx, "health")
	}
	if err != nil {
		return "", fmt.Errorf("etcd health check failed: %w", err)
	}
	return `{"health":"true","reason":""}`, nil
}

// probeHealthz GETs a component's healthz endpoint on loopback, skipping
// certificate verification as kube-apiserver does for these probes.
func probeHealthz(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}}} //nolint:gosec // health probe only, as upstream
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("unhealthy status code: %d, body: %s", resp.StatusCode, body)
	}
	return string(body), nil
}
