package crd

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

func TestScale(t *testing.T) {
	spec := &apiextensionsv1.CustomResourceSubresourceScale{
		SpecReplicasPath:   ".spec.replicas",
		StatusReplicasPath: ".status.replicas",
		LabelSelectorPath:  ptr.To(".status.selector"),
	}
	tests := []struct {
		name              string
		obj               string
		spec, status      int32
		selector, wantErr string
	}{
		{"all set", `{metadata: {name: a, namespace: ns}, spec: {replicas: 3}, status: {replicas: 2, selector: "app=a"}}`, 3, 2, "app=a", ""},
		{"missing reads as zero", `{metadata: {name: a}}`, 0, 0, "", ""},
		{"float replicas", `{spec: {replicas: 4.0}}`, 4, 0, "", ""},
		{"wrong type", `{spec: {replicas: three}}`, 0, 0, "", "must be an integer"},
		{"parent not object", `{spec: 5}`, 0, 0, "", "not an object"},
		{"out of range", `{spec: {replicas: 3000000000}}`, 0, 0, "", "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := GetScale(&unstructured.Unstructured{Object: mustObj(t, tc.obj)}, spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sc.Spec.Replicas != tc.spec || sc.Status.Replicas != tc.status || sc.Status.Selector != tc.selector {
				t.Fatalf("scale %+v", sc)
			}
			if sc.Kind != "Scale" || sc.APIVersion != "autoscaling/v1" {
				t.Fatalf("type meta %+v", sc.TypeMeta)
			}
		})
	}

	obj := &unstructured.Unstructured{Object: mustObj(t, `{metadata: {name: a}}`)}
	if err := SetReplicas(obj, spec, 5); err != nil {
		t.Fatal(err)
	}
	if sc, err := GetScale(obj, spec); err != nil || sc.Spec.Replicas != 5 {
		t.Fatalf("after SetReplicas: %+v %v", sc, err)
	}
	if err := SetReplicas(&unstructured.Unstructured{Object: mustObj(t, `{spec: [1]}`)}, spec, 1); err == nil {
		t.Fatal("SetReplicas through a list succeeded")
	}
	if err := SetReplicas(obj, &apiextensionsv1.CustomResourceSubresourceScale{SpecReplicasPath: "spec.replicas"}, 1); err == nil {
		t.Fatal("bad path accepted")
	}
}
