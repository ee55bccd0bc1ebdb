package testenv_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kastle-dev/kastle/pkg/testenv"
)

// These tests are written the way envtest users write theirs: a manager
// from controller-runtime, a reconciler, a webhook server, all pointed at
// the environment's rest.Config.

const crGroup = "cr.example.com"

var (
	widgetGVK = schema.GroupVersionKind{Group: crGroup, Version: "v1", Kind: "Widget"}
	// controller-runtime's logger is process-wide; set it once.
	setCRLogger sync.Once
)

func newWidget(ns, name string, size int64) *unstructured.Unstructured {
	return newCR(widgetGVK, ns, name, map[string]interface{}{"size": size})
}

// widgetReconciler keeps a ConfigMap <widget>-config with the widget's
// size, owned by the widget, and records its name in the status.
type widgetReconciler struct{ client.Client }

func (r *widgetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	w := &unstructured.Unstructured{}
	w.SetGroupVersionKind(widgetGVK)
	if err := r.Get(ctx, req.NamespacedName, w); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	size, _, _ := unstructured.NestedInt64(w.Object, "spec", "size")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: req.Name + "-config", Namespace: req.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, cm, func() error {
		cm.Data = map[string]string{"size": strconv.FormatInt(size, 10)}
		return controllerutil.SetControllerReference(w, cm, r.Scheme())
	}); err != nil {
		return ctrl.Result{}, err
	}
	if got, _, _ := unstructured.NestedString(w.Object, "status", "configMap"); got != cm.Name {
		_ = unstructured.SetNestedField(w.Object, cm.Name, "status", "configMap")
		return ctrl.Result{}, r.Status().Update(ctx, w)
	}
	return ctrl.Result{}, nil
}

// startManager runs mgr until the test ends; the manager stops before
// the environment (cleanups run last-registered first).
func startManager(t *testing.T, mgr ctrl.Manager) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

func newManager(t *testing.T, env *testenv.Environment, wh webhook.Server) ctrl.Manager {
	setCRLogger.Do(func() { ctrllog.SetLogger(logr.Discard()) })
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(env.Config(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer:          wh,
		// Several tests of this binary register a "widget" controller.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return mgr
}

func TestControllerRuntimeReconcile(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{CRDs: []*apiextensionsv1.CustomResourceDefinition{widgetCRD(crGroup)}})
	mgr := newManager(t, env, nil)
	owned := &unstructured.Unstructured{}
	owned.SetGroupVersionKind(widgetGVK)
	if err := ctrl.NewControllerManagedBy(mgr).For(owned).Owns(&corev1.ConfigMap{}).Named("widget").
		Complete(&widgetReconciler{Client: mgr.GetClient()}); err != nil {
		t.Fatal(err)
	}
	startManager(t, mgr)

	ctx := context.Background()
	c, err := client.New(env.Config(), client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		t.Fatal(err)
	}
	w := newWidget("default", "w1", 3)
	if err := c.Create(ctx, w); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ConfigMap w1-config with size 3 owned by w1", func() (bool, error) {
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "w1-config"}, cm); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		ref := metav1.GetControllerOf(cm)
		return cm.Data["size"] == "3" && ref != nil && ref.UID == w.GetUID(), nil
	})
	waitFor(t, "status.configMap of w1", func() (bool, error) {
		got := newWidget("default", "w1", 0)
		if err := c.Get(ctx, client.ObjectKeyFromObject(w), got); err != nil {
			return false, err
		}
		name, _, _ := unstructured.NestedString(got.Object, "status", "configMap")
		return name == "w1-config", nil
	})

	// A change of the spec reaches the ConfigMap.
	if err := c.Patch(ctx, newWidget("default", "w1", 5), client.Merge); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ConfigMap w1-config with size 5", func() (bool, error) {
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "w1-config"}, cm); err != nil {
			return false, err
		}
		return cm.Data["size"] == "5", nil
	})

	// Deleting the widget takes its ConfigMap with it (garbage collection
	// of the owner reference the reconciler set).
	if err := c.Delete(ctx, w); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ConfigMap w1-config garbage-collected", func() (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "w1-config"}, &corev1.ConfigMap{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

// TestControllerRuntimeValidatingWebhook serves a validating webhook with
// controller-runtime's webhook server, registered through
// WebhookInstallOptions, and checks that the API server consults it.
func TestControllerRuntimeValidatingWebhook(t *testing.T) {
	t.Parallel()
	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	path := "/validate-widget"
	env, err := testenv.Start(context.Background(), testenv.Options{
		CRDs: []*apiextensionsv1.CustomResourceDefinition{widgetCRD(crGroup)},
		WebhookInstallOptions: testenv.WebhookInstallOptions{
			ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{{
				ObjectMeta: metav1.ObjectMeta{Name: "widget-validator"},
				Webhooks: []admissionregistrationv1.ValidatingWebhook{{
					Name: "vwidget." + crGroup, AdmissionReviewVersions: []string{"v1"},
					SideEffects: &none, FailurePolicy: &fail,
					ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
						Name: "webhook-service", Namespace: "system", Path: &path}},
					Rules: []admissionregistrationv1.RuleWithOperations{{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{crGroup}, APIVersions: []string{"v1"}, Resources: []string{"widgets"}},
					}},
				}},
			}},
		},
	})
	// Start decides this from discovery: without
	// admissionregistration.k8s.io/v1 nothing would call the webhook.
	if errors.Is(err, testenv.ErrWebhooksNotServed) {
		t.Skip("admission webhooks not served by this build")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	o := env.WebhookInstallOptions
	wh := webhook.NewServer(webhook.Options{Host: o.LocalServingHost, Port: o.LocalServingPort, CertDir: o.LocalServingCertDir})
	mgr := newManager(t, env, wh)
	// Asking the manager for its webhook server is what makes it run it.
	mgr.GetWebhookServer().Register(path, &webhook.Admission{Handler: admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		var obj struct {
			Spec struct {
				Size int64 `json:"size"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
			return admission.Errored(http.StatusBadRequest, err)
		}
		if obj.Spec.Size > 10 {
			return admission.Denied("spec.size must be at most 10")
		}
		return admission.Allowed("")
	})})
	startManager(t, mgr)
	waitFor(t, "the webhook server to serve", func() (bool, error) {
		return wh.StartedChecker()(&http.Request{}) == nil, nil
	})

	c, err := client.New(env.Config(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Create(ctx, newWidget("default", "big", 20)); err == nil || !strings.Contains(err.Error(), "spec.size must be at most 10") {
		t.Errorf("creating a widget of size 20: err %v, want the webhook's denial", err)
	}
	if err := c.Create(ctx, newWidget("default", "small", 3)); err != nil {
		t.Errorf("creating a widget of size 3: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, waitTimeout, true, func(context.Context) (bool, error) {
		return cond()
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
