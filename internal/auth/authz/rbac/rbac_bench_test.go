package rbac

import (
	"context"
	"fmt"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kastle-dev/kastle/internal/auth/authz"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// benchAuthorizer holds n bindings: half ClusterRoleBindings and half
// RoleBindings over 100 namespaces, each naming its own user and one of
// 50 groups, plus the default-like bindings every user matches.
func benchAuthorizer(b *testing.B, n int) *Authorizer {
	a := New()
	mustUpsert(b, a,
		crole("reader", rule(l("get", "list", "watch"), l("", "apps"), l("pods", "deployments", "configmaps"))),
		crole("discovery", rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/api", "/api/*", "/apis", "/apis/*", "/version")}),
		crb("discovery", "discovery", groupS("system:authenticated")),
	)
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			mustUpsert(b, a, crb(fmt.Sprintf("crb-%d", i), "reader", userS(fmt.Sprintf("user-%d", i)), groupS(fmt.Sprintf("group-%d", i%50))))
		} else {
			mustUpsert(b, a, rb(fmt.Sprintf("ns-%d", i%100), fmt.Sprintf("rb-%d", i), "ClusterRole", "reader",
				userS(fmt.Sprintf("user-%d", i)), saS(fmt.Sprintf("ns-%d", i%100), fmt.Sprintf("sa-%d", i))))
		}
	}
	return a
}

func BenchmarkAuthorize(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		a := benchAuthorizer(b, n)
		i := n/2 | 1 // an odd index: a RoleBinding; i-1 is a ClusterRoleBinding
		cases := []struct {
			name  string
			attrs authz.Attributes
			want  authz.Decision
		}{
			{"rolebinding-allow", authz.Attributes{
				User: &user.Info{Name: fmt.Sprintf("user-%d", i), Groups: l("group-7", "system:authenticated")},
				Info: res("get", "", "pods", "", fmt.Sprintf("ns-%d", i%100), "p")}, authz.Allow},
			{"clusterbinding-allow", authz.Attributes{
				User: &user.Info{Name: fmt.Sprintf("user-%d", i-1), Groups: l("system:authenticated")},
				Info: res("list", "apps", "deployments", "", "", "")}, authz.Allow},
			{"nonresource-allow", authz.Attributes{
				User: &user.Info{Name: "nobody", Groups: l("system:authenticated")},
				Info: nonRes("get", "/apis/apps/v1")}, authz.Allow},
			{"no-opinion", authz.Attributes{
				User: &user.Info{Name: "stranger", Groups: l("group-7", "system:authenticated")},
				Info: res("delete", "", "secrets", "", "ns-3", "s")}, authz.NoOpinion},
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("bindings=%d/%s", n, c.name), func(b *testing.B) {
				ctx := context.Background()
				if d, _, _ := a.Authorize(ctx, c.attrs); d != c.want {
					b.Fatalf("decision %v, want %v", d, c.want)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					a.Authorize(ctx, c.attrs)
				}
			})
		}
	}
}
