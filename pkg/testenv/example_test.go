package testenv_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kastle-dev/kastle/pkg/testenv"
)

// Start a control plane, use it as an administrator, stop it.
func Example() {
	env, err := testenv.Start(context.Background(), testenv.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer env.Stop()

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"mode": "fast"}}
	created, err := env.Client().CoreV1().ConfigMaps("default").Create(context.Background(), cm, metav1.CreateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(created.Name, created.Data["mode"])
	// Output: settings fast
}

// CRDs given to Start are Established and served when it returns.
func ExampleOptions_crds() {
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "crontabs.stable.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "stable.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "crontabs", Singular: "crontab", Kind: "CronTab", ListKind: "CronTabList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: func() *bool { b := true; return &b }(),
				}}}},
		},
	}
	env, err := testenv.Start(context.Background(), testenv.Options{
		CRDs: []*apiextensionsv1.CustomResourceDefinition{crd},
		// Or read manifests, as with envtest:
		// CRDDirectoryPaths: []string{filepath.Join("..", "config", "crd", "bases")},
		// ErrorIfCRDPathMissing: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer env.Stop()
	resources, err := env.Client().Discovery().ServerResourcesForGroupVersion("stable.example.com/v1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resources.APIResources[0].Name)
	// Output: crontabs
}

// AddUser makes an identity that RBAC decides about like any other.
func ExampleEnvironment_AddUser() {
	env, err := testenv.Start(context.Background(), testenv.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer env.Stop()
	ctx := context.Background()

	cfg, err := env.AddUser("jane", "auditors")
	if err != nil {
		log.Fatal(err)
	}
	jane := kubernetes.NewForConfigOrDie(cfg)
	_, err = jane.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
	fmt.Println("before the binding, forbidden:", apierrors.IsForbidden(err))

	// The default policy's "view" role, granted to her group.
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "auditors-view", Namespace: "default"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "auditors"}}}
	if _, err := env.Client().RbacV1().RoleBindings("default").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		log.Fatal(err)
	}
	// Authorization follows the binding within moments; ask until it does.
	for i := 0; i < 200; i++ {
		if _, err = jane.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Println("after the binding, lists configmaps:", err == nil)
	// Output:
	// before the binding, forbidden: true
	// after the binding, lists configmaps: true
}

// In a test, New starts the environment, stops it when the test ends,
// and fails the test with the server's last log lines if it cannot
// start. (This example is compiled, not run: it needs a *testing.T.)
func ExampleNew() {
	TestWidgets := func(t *testing.T) {
		t.Parallel() // every environment is independent
		env := testenv.New(t, testenv.Options{
			CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
			ErrorIfCRDPathMissing: true,
			APIServerFlags:        []string{"--authorization-mode=RBAC"},
		})
		_ = env.Config() // hand it to ctrl.NewManager, client.New, …
	}
	_ = TestWidgets
}
