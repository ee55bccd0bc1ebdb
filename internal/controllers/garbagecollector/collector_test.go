package garbagecollector_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/kastle-dev/kastle/internal/controllers/controllertest"
	"github.com/kastle-dev/kastle/internal/controllers/garbagecollector"
	"github.com/kastle-dev/kastle/pkg/testenv"
)

// One API server without in-process controllers for the package: each
// test works in namespaces of its own, with the collector under test as
// the only one.
var (
	client kubernetes.Interface
	dyn    dynamic.Interface
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	env, err := testenv.Start(ctx, testenv.Options{APIServerFlags: []string{"--run-controllers=false"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Stop()
	client = env.Client()
	if dyn, err = dynamic.NewForConfig(env.Config()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	meta, err := metadata.NewForConfig(env.Config())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	gc := garbagecollector.New(client, meta, slog.New(slog.NewTextHandler(io.Discard, nil)))
	gcCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); gc.Run(gcCtx, 2) }()
	defer func() { stop(); <-done }()
	return m.Run()
}

func namespace(t *testing.T) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if _, err := client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

func ref(apiVersion, kind, name string, uid types.UID, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, BlockOwnerDeletion: &block}
}

func cmRef(cm *corev1.ConfigMap, block bool) metav1.OwnerReference {
	return ref("v1", "ConfigMap", cm.Name, cm.UID, block)
}

func createCM(t *testing.T, ns, name string, finalizers []string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm, err := client.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: name, OwnerReferences: owners, Finalizers: finalizers}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	controllertest.Eventually(t, what, func() string {
		if f() {
			return ""
		}
		return "not yet"
	})
}

func cmGone(ns, name string) func() bool {
	return func() bool {
		_, err := client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}
}

// stays checks, after the collector had time to act, that an object is
// still there.
func stays(t *testing.T, ns, name string) *corev1.ConfigMap {
	t.Helper()
	time.Sleep(time.Second)
	cm, err := client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s/%s: %v", ns, name, err)
	}
	return cm
}

func TestPropagation(t *testing.T) {
	ctx := context.Background()
	for _, policy := range []metav1.DeletionPropagation{metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan} {
		t.Run(string(policy), func(t *testing.T) {
			ns := namespace(t)
			owner := createCM(t, ns, "owner", nil)
			child := createCM(t, ns, "child", nil, cmRef(owner, true))
			createCM(t, ns, "grandchild", nil, cmRef(child, true))
			createCM(t, ns, "stranger", nil)
			if err := client.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", metav1.DeleteOptions{PropagationPolicy: &policy}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "owner gone", cmGone(ns, "owner"))
			if policy == metav1.DeletePropagationOrphan {
				if refs := stays(t, ns, "child").OwnerReferences; len(refs) != 0 {
					t.Errorf("orphaned child keeps owner references %v", refs)
				}
				stays(t, ns, "grandchild")
			} else {
				eventually(t, "child gone", cmGone(ns, "child"))
				eventually(t, "grandchild gone", cmGone(ns, "grandchild"))
			}
			stays(t, ns, "stranger")
		})
	}
}

// TestForegroundBlocking: the owner waits for a dependent whose reference
// blocks it, not for one whose reference does not.
func TestForegroundBlocking(t *testing.T) {
	ctx := context.Background()
	fg := metav1.DeletePropagationForeground
	hold := []string{"example.com/hold"}
	for _, block := range []bool{true, false} {
		t.Run(map[bool]string{true: "blocking", false: "nonblocking"}[block], func(t *testing.T) {
			ns := namespace(t)
			owner := createCM(t, ns, "owner", nil)
			createCM(t, ns, "held", hold, cmRef(owner, block))
			if err := client.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "held being deleted", func() bool {
				cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "held", metav1.GetOptions{})
				return err == nil && cm.DeletionTimestamp != nil
			})
			if block {
				if cm := stays(t, ns, "owner"); cm.DeletionTimestamp == nil {
					t.Fatal("owner not being deleted")
				}
			} else {
				eventually(t, "owner gone", cmGone(ns, "owner"))
			}
			if _, err := client.CoreV1().ConfigMaps(ns).Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "owner gone", cmGone(ns, "owner"))
			eventually(t, "held gone", cmGone(ns, "held"))
		})
	}
}

// TestCircle: A owns B owns C owns A, all blocking; a foreground deletion
// of A does not hang.
func TestCircle(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	cms := client.CoreV1().ConfigMaps(ns)
	a, b, c := createCM(t, ns, "a", nil), createCM(t, ns, "b", nil), createCM(t, ns, "c", nil)
	for _, p := range [][2]*corev1.ConfigMap{{a, c}, {b, a}, {c, b}} {
		patch := fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":%q,"uid":%q,"blockOwnerDeletion":true}]}}`, p[1].Name, p[1].UID)
		if _, err := cms.Patch(ctx, p[0].Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	fg := metav1.DeletePropagationForeground
	if err := cms.Delete(ctx, "a", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		eventually(t, n+" gone", cmGone(ns, n))
	}
}

// TestAbsentOwners: dependents whose owner is already gone when they are
// created, or whose owner's name now belongs to another object, are
// collected; one with a present owner among gone ones only loses the
// references to the gone ones.
func TestAbsentOwners(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	owner := createCM(t, ns, "owner", nil)
	if err := client.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "owner gone", cmGone(ns, "owner"))
	createCM(t, ns, "late", nil, cmRef(owner, false))
	// Same name, new object: the old reference is still dangling.
	again := createCM(t, ns, "owner", nil)
	createCM(t, ns, "later", nil, cmRef(owner, false))
	kept := createCM(t, ns, "kept", nil, cmRef(owner, false), cmRef(again, false))
	eventually(t, "late gone", cmGone(ns, "late"))
	eventually(t, "later gone", cmGone(ns, "later"))
	eventually(t, "kept loses its dangling reference", func() bool {
		cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "kept", metav1.GetOptions{})
		return err == nil && len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == again.UID
	})
	if cm := stays(t, ns, "owner"); cm.UID != again.UID {
		t.Errorf("the new owner was replaced")
	}
	if cm := stays(t, ns, "kept"); cm.UID != kept.UID {
		t.Errorf("the dependent with a present owner was replaced")
	}
}

// TestScopes: a namespaced dependent may have a cluster-scoped owner; a
// cluster-scoped dependent naming a namespaced owner is kept and reported
// with a warning Event; a reference to an owner in another namespace is
// treated as absent and reported.
func TestScopes(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	other := ns + "-other"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	roles := client.RbacV1().ClusterRoles()
	role, err := roles.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "gc-test-owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	createCM(t, ns, "of-cluster-owner", nil, ref("rbac.authorization.k8s.io/v1", "ClusterRole", role.Name, role.UID, false))
	elsewhere := createCM(t, other, "elsewhere", nil)
	createCM(t, ns, "cross-namespace", nil, cmRef(elsewhere, false))
	nsOwner := createCM(t, ns, "ns-owner", nil)
	if _, err := roles.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "gc-test-invalid",
		OwnerReferences: []metav1.OwnerReference{cmRef(nsOwner, false)}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	eventually(t, "cross-namespace dependent gone", cmGone(ns, "cross-namespace"))
	if err := roles.Delete(ctx, role.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dependent of the cluster-scoped owner gone", cmGone(ns, "of-cluster-owner"))
	if err := client.CoreV1().ConfigMaps(ns).Delete(ctx, "ns-owner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "warning events", func() bool {
		found := map[string]bool{}
		for _, evNS := range []string{metav1.NamespaceDefault, ns} {
			l, err := client.CoreV1().Events(evNS).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false
			}
			for _, ev := range l.Items {
				if ev.Reason == garbagecollector.ReasonOwnerRefInvalidNamespace && ev.Type == corev1.EventTypeWarning {
					found[ev.InvolvedObject.Name] = true
				}
			}
		}
		return found["gc-test-invalid"] && found["cross-namespace"]
	})
	time.Sleep(time.Second)
	if _, err := roles.Get(ctx, "gc-test-invalid", metav1.GetOptions{}); err != nil {
		t.Errorf("cluster-scoped dependent of a namespaced owner: %v", err)
	}
	if _, err := client.CoreV1().ConfigMaps(other).Get(ctx, "elsewhere", metav1.GetOptions{}); err != nil {
		t.Errorf("the object in the other namespace: %v", err)
	}
}

// TestCustomResources: instances of a CRD created after the collector
// started are followed and collected.
func TestCustomResources(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.gc.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "gc.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptr(true)}}}},
		},
	}
	if err := createCRD(ctx, crd); err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "gc.example.com", Version: "v1", Resource: "widgets"}
	widgets := dyn.Resource(gvr).Namespace(ns)
	mk := func(name string, owners ...metav1.OwnerReference) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("gc.example.com/v1")
		u.SetKind("Widget")
		u.SetName(name)
		u.SetOwnerReferences(owners)
		out, err := widgets.Create(ctx, u, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	owner := mk("owner")
	mk("dependent", ref("gc.example.com/v1", "Widget", "owner", owner.GetUID(), true))
	createCM(t, ns, "cm-dependent", nil, ref("gc.example.com/v1", "Widget", "owner", owner.GetUID(), true))
	fg := metav1.DeletePropagationForeground
	if err := widgets.Delete(ctx, "owner", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"owner", "dependent"} {
		eventually(t, name+" gone", func() bool {
			_, err := widgets.Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	}
	eventually(t, "cm-dependent gone", cmGone(ns, "cm-dependent"))
}

func ptr[T any](v T) *T { return &v }

// createCRD creates crd and waits until it is served.
func createCRD(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) error {
	gvr := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion("apiextensions.k8s.io/v1")
	u.SetKind("CustomResourceDefinition")
	if _, err := dyn.Resource(gvr).Create(ctx, u, metav1.CreateOptions{}); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := client.Discovery().ServerResourcesForGroupVersion(crd.Spec.Group + "/" + crd.Spec.Versions[0].Name); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("CRD %s not served", crd.Name)
}
