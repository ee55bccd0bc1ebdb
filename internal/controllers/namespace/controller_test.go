package namespace_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/metadata"

	"github.com/kastle-dev/kastle/internal/controllers/controllertest"
	"github.com/kastle-dev/kastle/internal/controllers/namespace"
)

// TestDeletion runs the controller alone against an API server without
// in-process controllers: a terminating namespace loses every kind of
// content (custom resources included), reports what holds it in its
// conditions, and goes once its content's finalizers are done.
func TestDeletion(t *testing.T) {
	ctx := context.Background()
	preserve := true
	env := controllertest.Start(t, &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "gadgets.ns.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "ns.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "gadgets", Singular: "gadget", Kind: "Gadget", ListKind: "GadgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}}}},
		},
	})
	gvr := schema.GroupVersionResource{Group: "ns.example.com", Version: "v1", Resource: "gadgets"}
	client := env.Client()
	dyn := dynamic.NewForConfigOrDie(env.Config())
	meta := metadata.NewForConfigOrDie(env.Config())
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := namespace.New(client, meta, factory.Core().V1().Namespaces(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, factory, func(ctx context.Context) { c.Run(ctx, 2) })

	const ns = "doomed"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "svc"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := &unstructured.Unstructured{}
	w.SetAPIVersion("ns.example.com/v1")
	w.SetKind("Gadget")
	w.SetName("g")
	if _, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, w, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	want := map[corev1.NamespaceConditionType]struct {
		status corev1.ConditionStatus
		reason string
		has    string
	}{
		corev1.NamespaceDeletionDiscoveryFailure: {corev1.ConditionFalse, "ResourcesDiscovered", ""},
		corev1.NamespaceDeletionGVParsingFailure: {corev1.ConditionFalse, "ParsedGroupVersions", ""},
		corev1.NamespaceDeletionContentFailure:   {corev1.ConditionFalse, "ContentDeleted", ""},
		corev1.NamespaceContentRemaining:         {corev1.ConditionTrue, "SomeResourcesRemain", "configmaps has 1 resource instances"},
		corev1.NamespaceFinalizersRemaining:      {corev1.ConditionTrue, "SomeFinalizersRemain", "example.com/hold in 1 resource instances"},
	}
	controllertest.Eventually(t, "the deletion conditions", func() string {
		got, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		if got.Status.Phase != corev1.NamespaceTerminating {
			return "phase " + string(got.Status.Phase)
		}
		if len(got.Status.Conditions) != len(want) {
			return fmt.Sprintf("conditions %v", got.Status.Conditions)
		}
		for _, c := range got.Status.Conditions {
			w, ok := want[c.Type]
			if !ok || c.Status != w.status || c.Reason != w.reason || !strings.Contains(c.Message, w.has) || c.LastTransitionTime.IsZero() {
				return fmt.Sprintf("condition %+v", c)
			}
		}
		return ""
	})
	for what, err := range map[string]error{
		"secret":  get(client.CoreV1().Secrets(ns).Get(ctx, "s", metav1.GetOptions{})),
		"service": get(client.CoreV1().Services(ns).Get(ctx, "svc", metav1.GetOptions{})),
		"gadget":  get(dyn.Resource(gvr).Namespace(ns).Get(ctx, "g", metav1.GetOptions{})),
	} {
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s in a terminating namespace: %v", what, err)
		}
	}
	if _, err := client.CoreV1().ConfigMaps(ns).Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "the namespace gone", func() string {
		if _, err := client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Sprint(err)
		}
		return ""
	})
}

func get[T any](_ T, err error) error { return err }
