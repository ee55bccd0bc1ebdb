package webhook

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// nonMatching returns n webhooks for deployments only.
func nonMatching(n int) hookSet {
	var hs hookSet
	for i := range n {
		u := "https://127.0.0.1:1/"
		none := admissionregistrationv1.SideEffectClassNone
		hs = append(hs, compileHook("c", false, webhookSpec{name: fmt.Sprintf("h%d.kastle.dev", i),
			clientConfig: admissionregistrationv1.WebhookClientConfig{URL: &u}, sideEffects: &none, admissionReviewVersions: []string{"v1"},
			rules: []admissionregistrationv1.RuleWithOperations{rule(allOps, []string{"apps"}, []string{"v1"}, []string{"deployments"}, "*")}}))
	}
	return hs
}

// BenchmarkValidatingWebhooks measures the admission cost per request of
// registered webhooks: non-matching ones must cost about nothing.
func BenchmarkValidatingWebhooks(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{0, 1, 10} {
		b.Run(fmt.Sprintf("nonmatching=%d", n), func(b *testing.B) {
			p := &Validating{D: &Dispatcher{}, Hooks: staticCache(nonMatching(n))}
			a := configMapCreate(b, "ns", "cm", nil)
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Validate(ctx, a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("matching-noop-https", func(b *testing.B) {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var in admissionv1.AdmissionReview
			_ = decodeJSON(r, &in)
			writeJSON(w, admissionv1.AdmissionReview{TypeMeta: in.TypeMeta, Response: &admissionv1.AdmissionResponse{UID: in.Request.UID, Allowed: true}})
		}))
		defer srv.Close()
		u := srv.URL
		none := admissionregistrationv1.SideEffectClassNone
		h := compileHook("c", false, webhookSpec{name: "noop.kastle.dev", sideEffects: &none, admissionReviewVersions: []string{"v1"},
			clientConfig: admissionregistrationv1.WebhookClientConfig{URL: &u, CABundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})},
			rules:        []admissionregistrationv1.RuleWithOperations{rule(allOps, []string{""}, []string{"v1"}, []string{"configmaps"}, "*")}})
		p := &Validating{D: &Dispatcher{}, Hooks: staticCache(hookSet{h})}
		a := configMapCreate(b, "ns", "cm", nil)
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Validate(ctx, a); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPolicies10 evaluates ten matching policies on each request.
func BenchmarkPolicies10(b *testing.B) {
	var pols, binds []runtime.Object
	for i := range 10 {
		name := fmt.Sprintf("p%d", i)
		pols = append(pols, &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
				MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: rule(allOps, []string{""}, []string{"v1"}, []string{"configmaps"}, "*")}}},
				Validations: []admissionregistrationv1.Validation{{Expression: fmt.Sprintf("size(object.data) < %d && object.metadata.name != 'forbidden'", 10+i)}},
			}})
		binds = append(binds, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name, ValidationActions: []admissionregistrationv1.ValidationAction{"Deny"}}})
	}
	p := &PolicyPlugin{D: &Dispatcher{Namespaces: mapGetter{}}, Policies: staticCache(compilePolicies(pols)), Bindings: staticCache(compileBindings(binds))}
	a := configMapCreate(b, "ns", "cm", nil)
	ctx := context.Background()
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		if err := p.Validate(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time: on a shared machine CPU
// per operation (GC included) is steadier than wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func decodeJSON(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }

func writeJSON(w http.ResponseWriter, v any) { _ = json.NewEncoder(w).Encode(v) }
