package bootstrappolicy

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReconcileClusterRole(t *testing.T) {
	wanted := &rbacv1.ClusterRole{ObjectMeta: objectMeta("", "r", nil), Rules: []rbacv1.PolicyRule{
		r(read(), legacy, "pods"), r(v("get"), legacy, "nodes"),
	}}
	userRule := r(v("get"), legacy, "secrets")
	tests := []struct {
		name        string
		existing    *rbacv1.ClusterRole
		wantChanged bool
		wantRules   int
	}{
		{"absent", nil, true, 2},
		{"identical", wanted.DeepCopy(), false, 2},
		{"missing a rule", &rbacv1.ClusterRole{ObjectMeta: objectMeta("", "r", nil), Rules: []rbacv1.PolicyRule{r(read(), legacy, "pods")}}, true, 2},
		{"user addition kept", &rbacv1.ClusterRole{ObjectMeta: objectMeta("", "r", nil), Rules: append(wanted.DeepCopy().Rules, userRule)}, false, 3},
		{"covered by a broader rule", &rbacv1.ClusterRole{ObjectMeta: objectMeta("", "r", nil), Rules: []rbacv1.PolicyRule{r(v("*"), legacy, "*")}}, false, 1},
		{"missing labels", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}, Rules: wanted.DeepCopy().Rules}, true, 2},
		{"protected", &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r", Annotations: map[string]string{AutoUpdateAnnotation: "false"}}}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before *rbacv1.ClusterRole
			if tt.existing != nil {
				before = tt.existing.DeepCopy()
			}
			got, changed := ReconcileClusterRole(tt.existing, wanted)
			if changed != tt.wantChanged || len(got.Rules) != tt.wantRules {
				t.Errorf("changed=%v rules=%d; want %v, %d", changed, len(got.Rules), tt.wantChanged, tt.wantRules)
			}
			if tt.existing != nil && !tt.wantChanged && got.Annotations[AutoUpdateAnnotation] == "" && !Protected(&tt.existing.ObjectMeta) {
				t.Error("annotation lost")
			}
			if tt.existing != nil && len(before.Rules) != len(tt.existing.Rules) {
				t.Error("existing was modified")
			}
		})
	}
	// Aggregated roles: selectors reconciled, rules left alone.
	var admin rbacv1.ClusterRole
	for _, cr := range ClusterRoles() {
		if cr.Name == "admin" {
			admin = cr
		}
	}
	existing := admin.DeepCopy()
	existing.AggregationRule.ClusterRoleSelectors = []metav1.LabelSelector{{MatchLabels: map[string]string{"mine": "true"}}}
	existing.Rules = []rbacv1.PolicyRule{r(v("get"), legacy, "pods")}
	got, changed := ReconcileClusterRole(existing, &admin)
	if !changed || len(got.AggregationRule.ClusterRoleSelectors) != 2 || len(got.Rules) != 1 {
		t.Errorf("aggregated reconcile: changed=%v selectors=%v rules=%v", changed, got.AggregationRule.ClusterRoleSelectors, got.Rules)
	}
	if got, changed := ReconcileClusterRole(existing, nil); changed || got == nil {
		t.Error("nil wanted changed something")
	}
}

func TestReconcileRole(t *testing.T) {
	wanted := &Roles()[0]
	existing := wanted.DeepCopy()
	existing.Rules = nil
	got, changed := ReconcileRole(existing, wanted)
	if !changed || len(got.Rules) != len(wanted.Rules) {
		t.Errorf("changed=%v rules=%v", changed, got.Rules)
	}
	if _, changed := ReconcileRole(wanted.DeepCopy(), wanted); changed {
		t.Error("identical role reported changed")
	}
}

func TestReconcileBindings(t *testing.T) {
	wanted := clusterRoleBinding("b", "role", group("g1"), group("g2"))
	tests := []struct {
		name         string
		existing     *rbacv1.ClusterRoleBinding
		wantChanged  bool
		wantSubjects int
		wantRoleRef  string
	}{
		{"absent", nil, true, 2, "role"},
		{"identical", wanted.DeepCopy(), false, 2, "role"},
		{"missing subject", func() *rbacv1.ClusterRoleBinding {
			b := wanted.DeepCopy()
			b.Subjects = b.Subjects[:1]
			return b
		}(), true, 2, "role"},
		{"extra subject kept", func() *rbacv1.ClusterRoleBinding {
			b := wanted.DeepCopy()
			b.Subjects = append(b.Subjects, userSubject("u"))
			return b
		}(), false, 3, "role"},
		{"role ref changed", func() *rbacv1.ClusterRoleBinding {
			b := wanted.DeepCopy()
			b.RoleRef.Name = "other"
			return b
		}(), true, 2, "role"},
		{"protected", func() *rbacv1.ClusterRoleBinding {
			b := wanted.DeepCopy()
			b.Subjects = nil
			b.Annotations[AutoUpdateAnnotation] = "false"
			return b
		}(), false, 0, "role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := ReconcileClusterRoleBinding(tt.existing, &wanted)
			if changed != tt.wantChanged || len(got.Subjects) != tt.wantSubjects || got.RoleRef.Name != tt.wantRoleRef {
				t.Errorf("changed=%v subjects=%v roleRef=%s", changed, got.Subjects, got.RoleRef.Name)
			}
		})
	}
	rbw := RoleBindings()[0]
	existing := rbw.DeepCopy()
	existing.Subjects = nil
	if got, changed := ReconcileRoleBinding(existing, &rbw); !changed || len(got.Subjects) != len(rbw.Subjects) {
		t.Errorf("role binding: changed=%v subjects=%v", changed, got.Subjects)
	}
}
