package crd

import (
	"fmt"
	"math"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// GetScale builds the autoscaling/v1 Scale of a custom resource from the
// paths in scaleSpec. A missing replicas field reads as 0 and a missing
// label selector as "", as in kube-apiserver; a field of the wrong type is
// an error.
func GetScale(obj *unstructured.Unstructured, scaleSpec *apiextensionsv1.CustomResourceSubresourceScale) (*autoscalingv1.Scale, error) {
	if obj == nil || scaleSpec == nil {
		return nil, fmt.Errorf("crd: nil object or scale subresource")
	}
	specReplicas, err := readReplicas(obj.Object, scaleSpec.SpecReplicasPath)
	if err != nil {
		return nil, err
	}
	statusReplicas, err := readReplicas(obj.Object, scaleSpec.StatusReplicasPath)
	if err != nil {
		return nil, err
	}
	var selector string
	if scaleSpec.LabelSelectorPath != nil && *scaleSpec.LabelSelectorPath != "" {
		v, found, err := lookupPath(obj.Object, *scaleSpec.LabelSelectorPath)
		if err != nil {
			return nil, err
		}
		if found && v != nil {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s: label selector must be a string, got %T", *scaleSpec.LabelSelectorPath, v)
			}
			selector = s
		}
	}
	return &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              obj.GetName(),
			Namespace:         obj.GetNamespace(),
			UID:               obj.GetUID(),
			ResourceVersion:   obj.GetResourceVersion(),
			CreationTimestamp: obj.GetCreationTimestamp(),
		},
		Spec:   autoscalingv1.ScaleSpec{Replicas: specReplicas},
		Status: autoscalingv1.ScaleStatus{Replicas: statusReplicas, Selector: selector},
	}, nil
}

// SetReplicas writes n at scaleSpec.specReplicasPath, creating missing
// parent objects. It fails when a parent exists but is not an object.
func SetReplicas(obj *unstructured.Unstructured, scaleSpec *apiextensionsv1.CustomResourceSubresourceScale, n int32) error {
	if obj == nil || scaleSpec == nil {
		return fmt.Errorf("crd: nil object or scale subresource")
	}
	fields, err := splitPath(scaleSpec.SpecReplicasPath)
	if err != nil {
		return err
	}
	if obj.Object == nil {
		obj.Object = map[string]interface{}{}
	}
	m := obj.Object
	for i, f := range fields[:len(fields)-1] {
		next, ok := m[f]
		if !ok || next == nil {
			child := map[string]interface{}{}
			m[f] = child
			m = child
			continue
		}
		child, ok := next.(map[string]interface{})
		if !ok {
			return fmt.Errorf("%s: .%s is %T, not an object", scaleSpec.SpecReplicasPath, strings.Join(fields[:i+1], "."), next)
		}
		m = child
	}
	m[fields[len(fields)-1]] = int64(n)
	return nil
}

func readReplicas(obj map[string]interface{}, path string) (int32, error) {
	v, found, err := lookupPath(obj, path)
	if err != nil || !found || v == nil {
		return 0, err
	}
	var i int64
	switch n := v.(type) {
	case int64:
		i = n
	case float64:
		if n != math.Trunc(n) {
			return 0, fmt.Errorf("%s: replicas must be an integer, got %v", path, n)
		}
		i = int64(n)
	default:
		return 0, fmt.Errorf("%s: replicas must be an integer, got %T", path, v)
	}
	if i < math.MinInt32 || i > math.MaxInt32 {
		return 0, fmt.Errorf("%s: replicas %d out of range", path, i)
	}
	return int32(i), nil
}

// lookupPath follows a simple JSON path like ".spec.replicas".
func lookupPath(obj map[string]interface{}, path string) (interface{}, bool, error) {
	fields, err := splitPath(path)
	if err != nil {
		return nil, false, err
	}
	var cur interface{} = obj
	for i, f := range fields {
		m, ok := cur.(map[string]interface{})
		if !ok {
			if cur == nil {
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("%s: .%s is %T, not an object", path, strings.Join(fields[:i], "."), cur)
		}
		cur, ok = m[f]
		if !ok {
			return nil, false, nil
		}
	}
	return cur, true, nil
}

func splitPath(path string) ([]string, error) {
	if !strings.HasPrefix(path, ".") || len(path) < 2 {
		return nil, fmt.Errorf("crd: %q is not a simple JSON path like .spec.replicas", path)
	}
	fields := strings.Split(path[1:], ".")
	for _, f := range fields {
		if f == "" {
			return nil, fmt.Errorf("crd: %q is not a simple JSON path like .spec.replicas", path)
		}
	}
	return fields, nil
}
