package validation

import (
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/apis/printers"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// BenchmarkValidate measures create-time validation of typical objects; the
// CSR case is dominated by parsing the request and checking its signature.
func BenchmarkValidate(b *testing.B) {
	objs := valid(newTestPKI(b))
	for _, kind := range []string{"ConfigMap", "Pod", "Deployment", "Service", "ClusterRoleBinding", "CertificateSigningRequest"} {
		obj := objs[kind]
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				if errs := Validate(obj); len(errs) != 0 {
					b.Fatal(errs)
				}
			}
		})
	}
}

// BenchmarkPodRow measures one pod table row, the most common table.
func BenchmarkPodRow(b *testing.B) {
	pod := valid(newTestPKI(b))["Pod"]
	p, _ := printers.For(schema.GroupKind{Kind: "Pod"})
	now := time.Now()
	for b.Loop() {
		if _, err := p.Row(pod, now); err != nil {
			b.Fatal(err)
		}
	}
}
