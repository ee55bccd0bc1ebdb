package testenv

import (
	"context"
	"fmt"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// pollInterval is how often Start looks at a CRD or at discovery while
// it waits for them: short, because the server usually needs a few
// milliseconds.
const pollInterval = 5 * time.Millisecond

var crdGVR = apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")

// readCRDs reads the CustomResourceDefinitions (apiextensions.k8s.io/v1)
// of paths.
func readCRDs(paths []string, errorIfMissing bool) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out []*apiextensionsv1.CustomResourceDefinition
	err := readManifests(paths, errorIfMissing, apiextensionsv1.SchemeGroupVersion.String(), "CustomResourceDefinition",
		func(u *unstructured.Unstructured) error {
			crd, err := fromUnstructured[apiextensionsv1.CustomResourceDefinition](u)
			if err == nil {
				out = append(out, crd)
			}
			return err
		})
	return out, err
}

// installCRDs creates (or, on a warm data dir, updates) crds, then waits
// until each is Established and every served version is in discovery,
// so the test can use them at once.
func installCRDs(ctx context.Context, cfg *rest.Config, crds []*apiextensionsv1.CustomResourceDefinition) error {
	if len(crds) == 0 {
		return nil
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	client := dyn.Resource(crdGVR)
	for _, crd := range crds {
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd.DeepCopy())
		if err != nil {
			return fmt.Errorf("testenv: CRD %s: %w", crd.Name, err)
		}
		u := &unstructured.Unstructured{Object: obj}
		u.SetAPIVersion(apiextensionsv1.SchemeGroupVersion.String())
		u.SetKind("CustomResourceDefinition")
		unstructured.RemoveNestedField(u.Object, "status")
		u.SetResourceVersion("")
		if _, err := client.Create(ctx, u, metav1.CreateOptions{FieldManager: "testenv"}); apierrors.IsAlreadyExists(err) {
			err = updateCRD(ctx, client, u)
		} else if err != nil {
			return fmt.Errorf("testenv: creating CRD %s: %w", crd.Name, err)
		}
		if err != nil {
			return err
		}
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	for _, crd := range crds {
		if err := waitEstablished(ctx, client, crd.Name); err != nil {
			return err
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			gv := schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}
			if err := waitDiscovered(ctx, disc, gv, crd.Spec.Names.Plural); err != nil {
				return fmt.Errorf("testenv: CRD %s: %w", crd.Name, err)
			}
		}
	}
	return nil
}

// updateCRD replaces an existing CRD's spec, retrying on conflicts with
// the CRD controller's own writes.
func updateCRD(ctx context.Context, client dynamic.ResourceInterface, want *unstructured.Unstructured) error {
	for {
		cur, err := client.Get(ctx, want.GetName(), metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("testenv: updating CRD %s: %w", want.GetName(), err)
		}
		u := want.DeepCopy()
		u.SetResourceVersion(cur.GetResourceVersion())
		_, err = client.Update(ctx, u, metav1.UpdateOptions{FieldManager: "testenv"})
		if !apierrors.IsConflict(err) {
			if err != nil {
				return fmt.Errorf("testenv: updating CRD %s: %w", want.GetName(), err)
			}
			return nil
		}
	}
}

func waitEstablished(ctx context.Context, client dynamic.ResourceInterface, name string) error {
	err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
		u, err := client.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]interface{})
			if m["type"] == string(apiextensionsv1.Established) && m["status"] == string(apiextensionsv1.ConditionTrue) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("testenv: CRD %s was not Established: %w", name, err)
	}
	return nil
}

func waitDiscovered(ctx context.Context, disc discovery.DiscoveryInterface, gv schema.GroupVersion, plural string) error {
	err := wait.PollUntilContextCancel(ctx, pollInterval, true, func(context.Context) (bool, error) {
		list, err := disc.ServerResourcesForGroupVersion(gv.String())
		if err != nil {
			return false, nil
		}
		for _, r := range list.APIResources {
			if r.Name == plural {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("%s %s not served: %w", gv, plural, err)
	}
	return nil
}
