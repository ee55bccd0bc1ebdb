package apis

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// replicated is what the scale subresource reads from a workload.
type replicated struct {
	meta     *metav1.ObjectMeta
	spec     **int32
	status   int32
	selector *metav1.LabelSelector
}

func replicatedOf(obj runtime.Object) (replicated, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return replicated{&o.ObjectMeta, &o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector}, nil
	case *appsv1.ReplicaSet:
		return replicated{&o.ObjectMeta, &o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector}, nil
	case *appsv1.StatefulSet:
		return replicated{&o.ObjectMeta, &o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector}, nil
	case *corev1.ReplicationController:
		// A map selector: the Scale shows it in its string form all the same.
		return replicated{&o.ObjectMeta, &o.Spec.Replicas, o.Status.Replicas, &metav1.LabelSelector{MatchLabels: o.Spec.Selector}}, nil
	}
	return replicated{}, fmt.Errorf("%T has no scale subresource", obj)
}

// builtinScale reads the autoscaling/v1 Scale of a workload.
func builtinScale(obj runtime.Object) (*autoscalingv1.Scale, error) {
	r, err := replicatedOf(obj)
	if err != nil {
		return nil, err
	}
	sc := &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{
			Name: r.meta.Name, Namespace: r.meta.Namespace, UID: r.meta.UID,
			ResourceVersion: r.meta.ResourceVersion, CreationTimestamp: r.meta.CreationTimestamp,
		},
		Status: autoscalingv1.ScaleStatus{Replicas: r.status},
	}
	if *r.spec != nil {
		sc.Spec.Replicas = **r.spec
	}
	if r.selector != nil {
		sel, err := metav1.LabelSelectorAsSelector(r.selector)
		if err != nil {
			return nil, err
		}
		sc.Status.Selector = sel.String()
	}
	return sc, nil
}

// builtinSetReplicas sets spec.replicas of a workload.
func builtinSetReplicas(obj runtime.Object, n int32) error {
	r, err := replicatedOf(obj)
	if err != nil {
		return err
	}
	*r.spec = &n
	return nil
}
