package openapi

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi"
	"k8s.io/client-go/openapi/cached"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
)

// startTLS serves s over TLS on 127.0.0.1 with httptest's certificate and
// returns a client config trusting it. It counts requests per path.
func startTLS(t *testing.T, s http.Handler) (*rest.Config, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: certPEM(t, srv)}}
	return cfg, &n
}

// TestClientGo reads the documents with client-go's own OpenAPI machinery,
// as kubectl apply/explain do, over a real TLS connection.
func TestClientGo(t *testing.T) {
	s := newTestService(t)
	cfg, requests := startTLS(t, s)
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	client := cached.NewClient(dc.OpenAPIV3())
	paths, err := client.Paths()
	if err != nil {
		t.Fatalf("Paths: %v", err)
	}
	for _, p := range []string{"api/v1", "apis/apps/v1", "apis/certificates.k8s.io/v1", "apis/survey.example.com/v1"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("client sees no %s", p)
		}
	}

	root := openapi3.NewRoot(client)
	gvs, err := root.GroupVersions()
	if err != nil || len(gvs) != len(paths) {
		t.Fatalf("GroupVersions = %v, %v", gvs, err)
	}
	tests := []struct {
		gvk  schema.GroupVersionKind
		prop string
	}{
		{corev1.SchemeGroupVersion.WithKind("ConfigMap"), "data"},
		{appsv1.SchemeGroupVersion.WithKind("Deployment"), "spec"},
		{certsV1.WithKind("CertificateSigningRequest"), "spec"},
		{surveyV1.WithKind("Widget"), "spec"},
	}
	for _, tc := range tests {
		t.Run(tc.gvk.Kind, func(t *testing.T) {
			doc, err := root.GVSpec(tc.gvk.GroupVersion())
			if err != nil {
				t.Fatalf("GVSpec: %v", err)
			}
			var kind string
			for name, sc := range doc.Components.Schemas {
				if containsGVK(gvkList(sc), tc.gvk) {
					kind = name
				}
			}
			if kind == "" {
				t.Fatalf("no schema carries GVK %v", tc.gvk)
			}
			if _, ok := doc.Components.Schemas[kind].Properties[tc.prop]; !ok {
				t.Errorf("%s lacks %s", kind, tc.prop)
			}
			// explain reads the map form.
			m, err := root.GVSpecAsMap(tc.gvk.GroupVersion())
			if err != nil || m["components"] == nil {
				t.Errorf("GVSpecAsMap: %v", err)
			}
		})
	}

	// Cached documents are fetched once per hash.
	before := requests.Load()
	if _, err := root.GVSpec(appsv1.SchemeGroupVersion); err != nil {
		t.Fatal(err)
	}
	if after := requests.Load(); after != before {
		t.Errorf("cached client refetched the apps/v1 document (%d requests)", after-before)
	}

	// client-go's type converter merges every group-version's schemas.
	tc, err := openapi.NewTypeConverter(dc.OpenAPIV3(), false)
	if err != nil {
		t.Fatalf("client-go NewTypeConverter: %v", err)
	}
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"a": "b"}}
	if _, err := tc.ObjectToTyped(cm); err != nil {
		t.Errorf("ObjectToTyped(ConfigMap): %v", err)
	}

	// The v2 protobuf document, as kubectl fetches it for custom resources.
	v2, err := dc.OpenAPISchema()
	if err != nil {
		t.Fatalf("OpenAPISchema (v2 protobuf): %v", err)
	}
	if v2.GetDefinitions() == nil || len(v2.GetPaths().GetPath()) == 0 {
		t.Error("v2 document has no definitions or paths")
	}
}

// TestTypeConverter builds server-side apply type converters from Schemas,
// as the API server does, and converts objects of each kind.
func TestTypeConverter(t *testing.T) {
	s := newTestService(t)
	replicas := int32(2)
	deploy := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: "d", Labels: map[string]string{"app": "x"}, Finalizers: []string{"a"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "c", Image: "busybox",
				Ports: []corev1.ContainerPort{{ContainerPort: 53, Protocol: corev1.ProtocolUDP}, {ContainerPort: 53, Protocol: corev1.ProtocolTCP}},
				Env:   []corev1.EnvVar{{Name: "A", Value: "1"}},
			}}}},
		},
	}
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}}}
	widget := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "survey.example.com/v1", "kind": "Widget",
		"metadata": map[string]interface{}{"name": "w1", "namespace": "x"},
		"spec":     map[string]interface{}{"color": "blue", "size": int64(3), "tags": []interface{}{"a", "b"}},
		"status":   map[string]interface{}{"anything": map[string]interface{}{"goes": true}},
	}}
	badWidget := widget.DeepCopy()
	badWidget.Object["spec"].(map[string]interface{})["bogus"] = "x"

	tests := []struct {
		name    string
		gv      schema.GroupVersion
		obj     runtime.Object
		wantErr bool
	}{
		{"configmap", coreV1, &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"}, Data: map[string]string{"k": "v"}}, false},
		{"pod with defaulted port protocol", coreV1, pod, false},
		{"deployment", appsV1, deploy, false},
		{"csr", certsV1, &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
			"spec": map[string]interface{}{"request": "YQ==", "signerName": "x/y", "usages": []interface{}{"client auth"}}}}, false},
		{"crd", crdsV1, &apiextensionsv1.CustomResourceDefinition{
			TypeMeta: metav1.TypeMeta{Kind: "CustomResourceDefinition", APIVersion: "apiextensions.k8s.io/v1"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{Group: "survey.example.com", Scope: "Namespaced",
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Kind: "Widget"},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: widgetResource("v1", "").CRDSchema}}}}}, false},
		{"widget", surveyV1, widget, false},
		{"widget with unknown field", surveyV1, badWidget, true},
	}
	converters := map[schema.GroupVersion]managedfields.TypeConverter{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conv, ok := converters[tc.gv]
			if !ok {
				var err error
				conv, err = managedfields.NewTypeConverter(s.Schemas(tc.gv), false)
				if err != nil {
					t.Fatalf("NewTypeConverter(%s): %v", tc.gv, err)
				}
				converters[tc.gv] = conv
			}
			_, err := conv.ObjectToTyped(tc.obj)
			if (err != nil) != tc.wantErr {
				t.Errorf("ObjectToTyped error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}
