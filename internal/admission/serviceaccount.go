package admission

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/kastle-dev/kastle/internal/auth/authz/node"
	"github.com/kastle-dev/kastle/internal/registry"
)

// tokenMountPath is where pods find their service-account credentials.
const tokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

// ServiceAccount gives every new pod a service account (default "default",
// which must exist) and, unless automounting is off in the pod or the
// account, a projected volume with a bound token, the cluster CA and the
// namespace, mounted in every container — as Kubernetes does.
type ServiceAccount struct {
	Accounts Getter // Get(ctx, ns, name, rv) of serviceaccounts
}

var _ Plugin = (*ServiceAccount)(nil)

// Admit fills in the service account and its token volume.
func (p *ServiceAccount) Admit(ctx context.Context, a *registry.Attributes) error {
	if a.Operation != registry.Create || a.Subresource != "" || a.Resource.Group != "" || a.Resource.Plural != "pods" {
		return nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return nil
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return nil // static pods of a node carry no credentials
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = "default"
	}
	obj, err := p.Accounts.Get(ctx, a.Namespace, pod.Spec.ServiceAccountName, "")
	if apierrors.IsNotFound(err) {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name,
			fmt.Errorf("error looking up service account %s/%s: serviceaccount %q not found", a.Namespace, pod.Spec.ServiceAccountName, pod.Spec.ServiceAccountName))
	}
	if err != nil {
		return err
	}
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return apierrors.NewInternalError(fmt.Errorf("service account has type %T", obj))
	}
	automount := true
	if sa.AutomountServiceAccountToken != nil {
		automount = *sa.AutomountServiceAccountToken
	}
	if pod.Spec.AutomountServiceAccountToken != nil {
		automount = *pod.Spec.AutomountServiceAccountToken
	}
	if !automount || hasTokenMount(pod) {
		return nil
	}
	name := "kube-api-access-" + utilrand.String(5)
	expiry := int64(3607)
	mode := int32(0o644)
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: &mode,
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &expiry}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		},
	}}})
	mount := corev1.VolumeMount{Name: name, MountPath: tokenMountPath, ReadOnly: true}
	for i := range pod.Spec.InitContainers {
		pod.Spec.InitContainers[i].VolumeMounts = append(pod.Spec.InitContainers[i].VolumeMounts, mount)
	}
	for i := range pod.Spec.Containers {
		pod.Spec.Containers[i].VolumeMounts = append(pod.Spec.Containers[i].VolumeMounts, mount)
	}
	return nil
}

// hasTokenMount reports whether a container already mounts something at
// the token path (the user chose their own credentials).
func hasTokenMount(pod *corev1.Pod) bool {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, m := range c.VolumeMounts {
				if m.MountPath == tokenMountPath {
					return true
				}
			}
		}
	}
	return false
}

// Validate refuses mirror pods that reference a service account or
// secrets, or project a service-account token, whoever creates them: the
// mirror of a static pod must not carry cluster credentials (and would
// otherwise let its node read them). Admit did the other checks.
func (p *ServiceAccount) Validate(_ context.Context, a *registry.Attributes) error {
	if a.Operation != registry.Create || a.Subresource != "" || a.Resource.Group != "" || a.Resource.Plural != "pods" {
		return nil
	}
	pod, ok := a.Object.(*corev1.Pod)
	if !ok {
		return nil
	}
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; !mirror {
		return nil
	}
	refs := node.ReferencesOf(pod)
	deny := func(why string) error {
		return apierrors.NewForbidden(a.Resource.GroupResource(), a.Name, errors.New(why))
	}
	switch {
	case refs.ServiceAccount:
		return deny("mirror pods may not reference service accounts")
	case len(refs.Secrets) > 0:
		return deny("mirror pods may not reference secrets")
	case refs.ServiceAccountToken:
		return deny("mirror pods may not use service account token volume projection")
	}
	return nil
}
