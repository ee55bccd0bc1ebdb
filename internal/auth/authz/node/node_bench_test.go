package node

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kastle-dev/kastle/internal/auth/authz"
)

func BenchmarkAuthorize(b *testing.B) {
	for _, pods := range []int{100, 10000} {
		a := New()
		for i := range pods {
			a.AddPod(&corev1.Pod{ObjectMeta: meta(fmt.Sprintf("ns-%d", i%50), fmt.Sprintf("p-%d", i)), Spec: corev1.PodSpec{
				NodeName: fmt.Sprintf("n%d", i%100), ServiceAccountName: "default",
				Volumes: []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
					SecretName: fmt.Sprintf("s-%d", i)}}}}}})
		}
		cases := []struct {
			name  string
			attrs authz.Attributes
			want  authz.Decision
		}{
			{"secret-allow", authz.Attributes{User: nodeUser("n7"), Info: res("get", "", "secrets", "", "ns-7", "s-7")}, authz.Allow},
			{"secret-no-opinion", authz.Attributes{User: nodeUser("n8"), Info: res("get", "", "secrets", "", "ns-7", "s-7")}, authz.NoOpinion},
			{"lease", authz.Attributes{User: nodeUser("n1"), Info: res("update", "coordination.k8s.io", "leases", "", LeaseNamespace, "n1")}, authz.Allow},
			{"static-rule", authz.Attributes{User: nodeUser("n1"), Info: res("create", "", "events", "", "default", "")}, authz.Allow},
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("pods=%d/%s", pods, c.name), func(b *testing.B) {
				ctx := context.Background()
				if d, _, _ := a.Authorize(ctx, c.attrs); d != c.want {
					b.Fatalf("decision %v, want %v", d, c.want)
				}
				b.ReportAllocs()
				for range b.N {
					a.Authorize(ctx, c.attrs)
				}
			})
		}
	}
}
