package testenv_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kastle-dev/kastle/pkg/testenv"
)

// waitTimeout bounds every wait for eventually-consistent state, so a
// broken server fails the test instead of hanging it.
const waitTimeout = 30 * time.Second

// TestStopReleasesEverything starts and stops one environment and checks
// that no goroutine, file or port is left behind.
func TestStopReleasesEverything(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	env, err := testenv.Start(context.Background(), testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := env.Client().CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Name != "kube-system" {
		t.Fatalf("got namespace %q", ns.Name)
	}
	if _, err := os.Stat(env.KubeconfigPath()); err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	addr := strings.TrimPrefix(env.URL(), "https://")
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(env.DataDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data dir %s still there after Stop: %v", env.DataDir(), err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Stop", addr)
	}
	if err := env.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// widgetCRD is a namespaced CRD with a status subresource.
func widgetCRD(group string) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group, Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"size": {Type: "integer"},
						}},
						"status": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
							"configMap": {Type: "string"},
						}},
					},
				}},
			}},
		},
	}
}

const gadgetYAML = `# a CRD and, in the same file, a document of another kind that is skipped
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.files.example.com
spec:
  group: files.example.com
  scope: Cluster
  names: {plural: gadgets, singular: gadget, kind: Gadget, listKind: GadgetList}
  versions:
  - name: v1alpha1
    served: true
    storage: false
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-crd, namespace: default}
`

// newCR makes a custom resource.
func newCR(gvk schema.GroupVersionKind, ns, name string, spec map[string]interface{}) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]interface{}{"spec": spec}}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// TestCRDInstallation installs CRDs from files and objects and uses
// every served version at once: Start returns only when they are served.
func TestCRDInstallation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gadgets.yaml"), []byte(gadgetYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a manifest"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testenv.New(t, testenv.Options{
		CRDDirectoryPaths: []string{dir, filepath.Join(dir, "missing")},
		CRDs:              []*apiextensionsv1.CustomResourceDefinition{widgetCRD("objects.example.com")},
	})
	dyn, err := dynamic.NewForConfig(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		gvr  schema.GroupVersionResource
		kind string
		ns   string
	}{
		{schema.GroupVersionResource{Group: "files.example.com", Version: "v1", Resource: "gadgets"}, "Gadget", ""},
		{schema.GroupVersionResource{Group: "files.example.com", Version: "v1alpha1", Resource: "gadgets"}, "Gadget", ""},
		{schema.GroupVersionResource{Group: "objects.example.com", Version: "v1", Resource: "widgets"}, "Widget", "default"},
	}
	for i, tc := range tests {
		cr := newCR(tc.gvr.GroupVersion().WithKind(tc.kind), tc.ns, "one-"+tc.gvr.Version+string(rune('a'+i)), map[string]interface{}{"size": int64(1)})
		if _, err := dyn.Resource(tc.gvr).Namespace(tc.ns).Create(ctx, cr, metav1.CreateOptions{}); err != nil {
			t.Errorf("creating a %s right after Start: %v", tc.gvr, err)
		}
	}
	if _, err := env.Client().CoreV1().ConfigMaps("default").Get(ctx, "not-a-crd", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a non-CRD document was applied: %v", err)
	}
}

// TestStartErrors covers options Start must refuse, and checks that a
// refused Start leaves nothing running.
func TestStartErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\nspec: {group: 7}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts testenv.Options
		want string
	}{
		{"missing CRD path", testenv.Options{CRDDirectoryPaths: []string{missing}, ErrorIfCRDPathMissing: true}, "no such file"},
		{"malformed CRD", testenv.Options{CRDDirectoryPaths: []string{bad}}, "bad.yaml"},
		{"invalid CRD", testenv.Options{CRDs: []*apiextensionsv1.CustomResourceDefinition{{ObjectMeta: metav1.ObjectMeta{Name: "wrong"}}}}, "creating CRD wrong"},
		{"reserved flag", testenv.Options{APIServerFlags: []string{"--secure-port=6443"}}, "--secure-port is set by the caller"},
		{"unknown flag", testenv.Options{APIServerFlags: []string{"--no-such-flag"}}, "no-such-flag"},
		{"missing webhook path", testenv.Options{WebhookInstallOptions: testenv.WebhookInstallOptions{Paths: []string{missing}}}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			tc.opts.DataDir = dataDir
			env, err := testenv.Start(context.Background(), tc.opts)
			if err == nil {
				env.Stop()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestAddUserIsAuthorizedByRBAC checks that AddUser's identity is a real
// user: denied until a RoleBinding grants it (by group) access.
func TestAddUserIsAuthorizedByRBAC(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	cfg, err := env.AddUser("alice", "developers")
	if err != nil {
		t.Fatal(err)
	}
	alice := kubernetes.NewForConfigOrDie(cfg)
	if _, err := alice.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("alice lists configmaps before any binding: err %v, want Forbidden", err)
	}
	admin := env.Client()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "cm-reader", Namespace: "default"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}}}}
	if _, err := admin.RbacV1().Roles("default").Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "developers-read", Namespace: "default"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "cm-reader"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "developers"}}}
	if _, err := admin.RbacV1().RoleBindings("default").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, waitTimeout, true, func(ctx context.Context) (bool, error) {
		_, err := alice.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("alice never got access through her group: %v", err)
	}
	// The grant is the binding's, nothing more.
	if _, err := alice.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("alice lists secrets: err %v, want Forbidden", err)
	}
	if _, err := env.AddUser(""); err == nil {
		t.Error("AddUser accepted an empty name")
	}
}

// TestAPIServerFlags passes a kube-apiserver flag through: without
// anonymous authentication a request with no credentials is 401, not
// 403.
func TestAPIServerFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flags []string
		want  int
	}{
		{nil, http.StatusForbidden},
		{[]string{"--anonymous-auth=false"}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.flags, " "), func(t *testing.T) {
			t.Parallel()
			env := testenv.New(t, testenv.Options{APIServerFlags: tc.flags})
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(env.Config().CAData)
			c := &http.Client{Timeout: waitTimeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			resp, err := c.Get(env.URL() + "/api/v1/namespaces/default/secrets")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			c.CloseIdleConnections()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// TestParallelEnvironments runs several environments at once in one
// process: each has its own port, data dir and objects.
func TestParallelEnvironments(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	urls := map[string]bool{}
	dirs := map[string]bool{}
	for i := 0; i < 4; i++ {
		t.Run("env", func(t *testing.T) {
			t.Parallel()
			env := testenv.New(t, testenv.Options{CRDs: []*apiextensionsv1.CustomResourceDefinition{widgetCRD("parallel.example.com")}})
			mu.Lock()
			if urls[env.URL()] || dirs[env.DataDir()] {
				t.Errorf("URL %s or data dir %s shared with another environment", env.URL(), env.DataDir())
			}
			urls[env.URL()], dirs[env.DataDir()] = true, true
			mu.Unlock()
			ctx := context.Background()
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: "default"}}
			if _, err := env.Client().CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatalf("each environment has its own store, but: %v", err)
			}
		})
	}
}

// TestWarmDataDir starts twice on one data dir: the second start keeps
// the objects and certificates, and re-applies the CRDs.
func TestWarmDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := testenv.Options{DataDir: dir, CRDs: []*apiextensionsv1.CustomResourceDefinition{widgetCRD("warm.example.com")}}
	ctx := context.Background()
	env, err := testenv.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: "default"}}
	if _, err := env.Client().CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ca := env.Config().CAData
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "admin.conf")); err != nil {
		t.Fatalf("Stop removed a data dir it did not create: %v", err)
	}
	env = testenv.New(t, opts)
	if _, err := env.Client().CoreV1().ConfigMaps("default").Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Errorf("object lost across a warm start: %v", err)
	}
	if string(env.Config().CAData) != string(ca) {
		t.Error("the cluster CA changed across a warm start")
	}
}

// TestWebhookInstallOptions registers a validating webhook configuration
// from a file and one from an object; the generated serving certificate
// must verify for the local host with the published CA.
func TestWebhookInstallOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	manifest := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: from-file}
webhooks:
- name: vwidget.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig:
    service: {name: webhook-service, namespace: system, path: /validate-widget}
  rules:
  - {apiGroups: [example.com], apiVersions: [v1], operations: [CREATE], resources: [widgets]}
`
	if err := os.WriteFile(filepath.Join(dir, "webhooks.yaml"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	path, none := "/mutate-widget", admissionregistrationv1.SideEffectClassNone
	opts := testenv.Options{WebhookInstallOptions: testenv.WebhookInstallOptions{
		Paths: []string{dir},
		MutatingWebhooks: []*admissionregistrationv1.MutatingWebhookConfiguration{{
			ObjectMeta: metav1.ObjectMeta{Name: "from-object"},
			Webhooks: []admissionregistrationv1.MutatingWebhook{{
				Name: "mwidget.example.com", AdmissionReviewVersions: []string{"v1"}, SideEffects: &none,
				ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "s", Namespace: "system", Path: &path}},
			}},
		}},
	}}
	env, err := testenv.Start(context.Background(), opts)
	if errors.Is(err, testenv.ErrWebhooksNotServed) {
		// Decided from discovery; the failed Start must have cleaned up.
		t.Skip("admission webhooks not served by this build")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Stop() })
	w := env.WebhookInstallOptions
	if w.LocalServingHost != "127.0.0.1" || w.LocalServingPort == 0 || w.LocalServingCertDir == "" || len(w.LocalServingCAData) == 0 {
		t.Fatalf("local serving options not filled in: %+v", w)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(w.LocalServingCertDir, "tls.crt"), filepath.Join(w.LocalServingCertDir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(w.LocalServingCAData)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: w.LocalServingHost}); err != nil {
		t.Errorf("serving certificate does not verify for %s: %v", w.LocalServingHost, err)
	}
	ctx := context.Background()
	v, err := env.Client().AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "from-file", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := env.Client().AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "from-object", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := "https://" + net.JoinHostPort(w.LocalServingHost, strconv.Itoa(w.LocalServingPort))
	for _, cc := range []admissionregistrationv1.WebhookClientConfig{v.Webhooks[0].ClientConfig, m.Webhooks[0].ClientConfig} {
		if cc.Service != nil || cc.URL == nil || !strings.HasPrefix(*cc.URL, base+"/") || string(cc.CABundle) != string(w.LocalServingCAData) {
			t.Errorf("client config not pointed at the local server: %+v", cc)
		}
	}
	if *opts.WebhookInstallOptions.MutatingWebhooks[0].Webhooks[0].ClientConfig.Service.Path != path {
		t.Error("the caller's object was changed")
	}
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAttachControlPlaneOutput: the log reaches ControlPlaneOutput only
// when attached; Logs has it either way.
func TestAttachControlPlaneOutput(t *testing.T) {
	t.Parallel()
	for _, attach := range []bool{true, false} {
		t.Run(strconv.FormatBool(attach), func(t *testing.T) {
			t.Parallel()
			var out syncBuffer
			env := testenv.New(t, testenv.Options{AttachControlPlaneOutput: attach, ControlPlaneOutput: &out})
			const ready = `msg="kastle API server ready"`
			if got := strings.Contains(out.String(), ready); got != attach {
				t.Errorf("ready line in the attached output: %v, want %v", got, attach)
			}
			if !strings.Contains(env.Logs(), ready) {
				t.Errorf("Logs() lacks the ready line:\n%s", env.Logs())
			}
		})
	}
}
