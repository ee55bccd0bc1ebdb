package admission

import (
	"context"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/kastle-dev/kastle/internal/registry"
)

// podSecurityVersion is the Pod Security Standards version "latest" means:
// the Kubernetes minor kastle serves.
var podSecurityVersion = psapi.MajorMinorVersion(1, 32)

// PodSecurity enforces, and warns about, the Pod Security Standards a
// namespace selects with its pod-security.kubernetes.io/{enforce,warn,audit}
// labels (kube-apiserver's built-in PodSecurity admission, with its default
// configuration: privileged everywhere unless labelled, no exemptions).
// The checks are upstream's own (k8s.io/pod-security-admission/policy).
type PodSecurity struct {
	Namespaces Getter
	// Pods lists a namespace's pods, to warn when a label change makes
	// running pods violate the new level.
	Pods Lister
	// Warn sends a warning to the client of the request in ctx.
	Warn func(ctx context.Context, msg string)

	evaluator policy.Evaluator
}

// Lister lists one resource in a namespace (a registry store).
type Lister interface {
	List(ctx context.Context, ns string, opts *metav1.ListOptions) (runtime.Object, error)
}

var _ Plugin = (*PodSecurity)(nil)

// newPodSecurity returns the plugin with upstream's checks. Building the
// evaluator fails only if the library's own check table is invalid
// (TestPodSecurityEvaluator), so that is a programming error.
func newPodSecurity(namespaces Getter, pods Lister, warn func(context.Context, string)) *PodSecurity {
	v := podSecurityVersion
	e, err := policy.NewEvaluator(policy.DefaultChecks(), &v)
	if err != nil {
		panic(fmt.Sprintf("admission: the Pod Security Standards checks are invalid: %v", err))
	}
	return &PodSecurity{Namespaces: namespaces, Pods: pods, Warn: warn, evaluator: e}
}

// Admit does nothing: the plugin only validates.
func (p *PodSecurity) Admit(context.Context, *registry.Attributes) error { return nil }

// Validate checks pods (enforce and warn), workload templates (warn) and
// namespace labels (valid values; warnings for existing pods).
func (p *PodSecurity) Validate(ctx context.Context, a *registry.Attributes) error {
	if a.Operation == registry.Delete || a.Object == nil {
		return nil
	}
	switch obj := a.Object.(type) {
	case *corev1.Namespace:
		if a.Subresource == "" {
			return p.namespace(ctx, a, obj)
		}
	case *corev1.Pod:
		if a.Subresource == "" || a.Subresource == "ephemeralcontainers" {
			return p.pod(ctx, a, obj)
		}
	default:
		if a.Subresource == "" {
			if meta, spec := podTemplateOf(a.Object); spec != nil {
				return p.template(ctx, a, meta, spec)
			}
		}
	}
	return nil
}

// policyOf resolves the namespace's policy; unparsable labels fall back as
// upstream does (restricted:latest for enforce).
func (p *PodSecurity) policyOf(ctx context.Context, ns string) (psapi.Policy, error) {
	obj, err := p.Namespaces.Get(ctx, "", ns, "0")
	if apierrors.IsNotFound(err) {
		obj, err = p.Namespaces.Get(ctx, "", ns, "")
	}
	if err != nil {
		return psapi.Policy{}, err
	}
	n, ok := obj.(*corev1.Namespace)
	if !ok {
		return psapi.Policy{}, apierrors.NewInternalError(fmt.Errorf("namespace %q has type %T", ns, obj))
	}
	pol, _ := psapi.PolicyToEvaluate(n.Labels, defaultPodSecurityPolicy())
	return pol, nil
}

func defaultPodSecurityPolicy() psapi.Policy {
	lv := psapi.LevelVersion{Level: psapi.LevelPrivileged, Version: psapi.LatestVersion()}
	return psapi.Policy{Enforce: lv, Audit: lv, Warn: lv}
}

func (p *PodSecurity) evaluate(lv psapi.LevelVersion, meta *metav1.ObjectMeta, spec *corev1.PodSpec) policy.AggregateCheckResult {
	if lv.Level == psapi.LevelPrivileged {
		return policy.AggregateCheckResult{Allowed: true}
	}
	return policy.AggregateCheckResults(p.evaluator.EvaluatePod(lv, meta, spec))
}

func (p *PodSecurity) pod(ctx context.Context, a *registry.Attributes, pod *corev1.Pod) error {
	if a.Operation == registry.Update {
		// Only changes that can weaken a pod's security are checked
		// again: metadata-only updates (labels, finalizers) are not.
		old, ok := a.OldObject.(*corev1.Pod)
		if ok && apiequality.Semantic.DeepEqual(old.Spec, pod.Spec) && sameSecurityAnnotations(old, pod) {
			return nil
		}
	}
	pol, err := p.policyOf(ctx, a.Namespace)
	if err != nil {
		return err
	}
	if r := p.evaluate(pol.Enforce, &pod.ObjectMeta, &pod.Spec); !r.Allowed {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
			fmt.Errorf("violates PodSecurity %q: %s", pol.Enforce.String(), r.ForbiddenDetail()))
	}
	if r := p.evaluate(pol.Warn, &pod.ObjectMeta, &pod.Spec); !r.Allowed {
		p.Warn(ctx, fmt.Sprintf("would violate PodSecurity %q: %s", pol.Warn.String(), r.ForbiddenDetail()))
	}
	return nil
}

func (p *PodSecurity) template(ctx context.Context, a *registry.Attributes, meta *metav1.ObjectMeta, spec *corev1.PodSpec) error {
	pol, err := p.policyOf(ctx, a.Namespace)
	if err != nil {
		return err
	}
	// Templates are warned about against the stricter of enforce and
	// warn: the pods they make would be refused.
	lv := pol.Warn
	if psapi.CompareLevels(pol.Enforce.Level, lv.Level) > 0 {
		lv = pol.Enforce
	}
	if r := p.evaluate(lv, meta, spec); !r.Allowed {
		p.Warn(ctx, fmt.Sprintf("would violate PodSecurity %q: %s", lv.String(), r.ForbiddenDetail()))
	}
	return nil
}

func (p *PodSecurity) namespace(ctx context.Context, a *registry.Attributes, ns *corev1.Namespace) error {
	pol, errs := psapi.PolicyToEvaluate(ns.Labels, defaultPodSecurityPolicy())
	if len(errs) > 0 {
		return apierrors.NewInvalid(a.Resource.GVK().GroupKind(), a.Name, errs)
	}
	if a.Operation != registry.Update {
		return nil
	}
	old, ok := a.OldObject.(*corev1.Namespace)
	if !ok {
		return nil
	}
	oldPol, _ := psapi.PolicyToEvaluate(old.Labels, defaultPodSecurityPolicy())
	if pol.Enforce.Level == psapi.LevelPrivileged || pol.Enforce.Equivalent(&oldPol.Enforce) {
		return nil
	}
	// A stricter enforce level: name the existing pods it would refuse.
	list, err := p.Pods.List(ctx, a.Name, cachedList())
	if err != nil {
		return nil // warnings are best effort
	}
	pods, _ := list.(*corev1.PodList)
	if pods == nil {
		return nil
	}
	byReason := map[string][]string{}
	for i := range pods.Items {
		pod := &pods.Items[i]
		if r := p.evaluate(pol.Enforce, &pod.ObjectMeta, &pod.Spec); !r.Allowed {
			reason := r.ForbiddenReason()
			byReason[reason] = append(byReason[reason], pod.Name)
		}
	}
	if len(byReason) == 0 {
		return nil
	}
	p.Warn(ctx, fmt.Sprintf("existing pods in namespace %q violate the new PodSecurity enforce level %q", a.Name, pol.Enforce.String()))
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		names := byReason[r]
		sort.Strings(names)
		p.Warn(ctx, fmt.Sprintf("%s: %s", strings.Join(names, ", "), r))
	}
	return nil
}

// sameSecurityAnnotations compares the annotations the checks read
// (AppArmor and the older seccomp ones).
func sameSecurityAnnotations(a, b *corev1.Pod) bool {
	for k, v := range a.Annotations {
		if isSecurityAnnotation(k) && b.Annotations[k] != v {
			return false
		}
	}
	for k, v := range b.Annotations {
		if isSecurityAnnotation(k) && a.Annotations[k] != v {
			return false
		}
	}
	return true
}

func isSecurityAnnotation(k string) bool {
	return strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) ||
		strings.HasPrefix(k, corev1.SeccompContainerAnnotationKeyPrefix) || k == corev1.SeccompPodAnnotationKey
}

// podTemplateOf returns the pod template of the built-in workloads.
func podTemplateOf(obj runtime.Object) (*metav1.ObjectMeta, *corev1.PodSpec) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *appsv1.ReplicaSet:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *batchv1.Job:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.ObjectMeta, &o.Spec.JobTemplate.Spec.Template.Spec
	case *corev1.ReplicationController:
		if o.Spec.Template != nil {
			return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
		}
	case *corev1.PodTemplate:
		return &o.Template.ObjectMeta, &o.Template.Spec
	}
	return nil, nil
}
