package bootstrappolicy

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kastle-dev/kastle/internal/auth/authz/rbac"
)

// Protected reports whether an administrator turned reconciliation off for
// the object by setting the autoupdate annotation to "false".
func Protected(m *metav1.ObjectMeta) bool {
	return m.Annotations[AutoUpdateAnnotation] == "false"
}

// ReconcileClusterRole returns what should be stored for the default
// ClusterRole wanted given the stored existing one, and whether that
// differs from existing. A nil existing yields a copy of wanted. A
// protected existing role is returned unchanged. Otherwise wanted's labels
// and annotations missing from existing are added (existing values win),
// and every wanted rule that existing's rules do not cover is appended, so
// rules a user added stay. For an aggregated role the missing selectors
// are added instead and the rules are left to the aggregation controller.
// existing and wanted are not modified; a nil wanted changes nothing.
func ReconcileClusterRole(existing, wanted *rbacv1.ClusterRole) (*rbacv1.ClusterRole, bool) {
	if wanted == nil {
		return existing.DeepCopy(), false
	}
	if existing == nil {
		return wanted.DeepCopy(), true
	}
	if Protected(&existing.ObjectMeta) {
		return existing.DeepCopy(), false
	}
	out := existing.DeepCopy()
	mergeMeta(&out.ObjectMeta, &wanted.ObjectMeta)
	if wanted.AggregationRule != nil {
		if out.AggregationRule == nil {
			out.AggregationRule = &rbacv1.AggregationRule{}
		}
		for _, sel := range wanted.AggregationRule.ClusterRoleSelectors {
			if !hasSelector(out.AggregationRule.ClusterRoleSelectors, sel) {
				out.AggregationRule.ClusterRoleSelectors = append(out.AggregationRule.ClusterRoleSelectors, *sel.DeepCopy())
			}
		}
	} else {
		out.Rules = addMissingRules(out.Rules, wanted.Rules)
	}
	return out, !equality.Semantic.DeepEqual(existing, out)
}

// ReconcileRole is ReconcileClusterRole for namespaced Roles.
func ReconcileRole(existing, wanted *rbacv1.Role) (*rbacv1.Role, bool) {
	if wanted == nil {
		return existing.DeepCopy(), false
	}
	if existing == nil {
		return wanted.DeepCopy(), true
	}
	if Protected(&existing.ObjectMeta) {
		return existing.DeepCopy(), false
	}
	out := existing.DeepCopy()
	mergeMeta(&out.ObjectMeta, &wanted.ObjectMeta)
	out.Rules = addMissingRules(out.Rules, wanted.Rules)
	return out, !equality.Semantic.DeepEqual(existing, out)
}

// ReconcileClusterRoleBinding returns what should be stored for the
// default binding wanted given the stored existing one, and whether it
// differs: wanted's missing labels, annotations and subjects are added and
// extra subjects kept; a protected binding is left alone. When the role
// reference differs the result carries wanted's RoleRef; since a RoleRef
// cannot be updated, the caller must then delete existing and create the
// result (compare result.RoleRef with existing.RoleRef).
func ReconcileClusterRoleBinding(existing, wanted *rbacv1.ClusterRoleBinding) (*rbacv1.ClusterRoleBinding, bool) {
	if wanted == nil {
		return existing.DeepCopy(), false
	}
	if existing == nil {
		return wanted.DeepCopy(), true
	}
	if Protected(&existing.ObjectMeta) {
		return existing.DeepCopy(), false
	}
	out := existing.DeepCopy()
	mergeMeta(&out.ObjectMeta, &wanted.ObjectMeta)
	out.RoleRef = wanted.RoleRef
	out.Subjects = addMissingSubjects(out.Subjects, wanted.Subjects)
	return out, !equality.Semantic.DeepEqual(existing, out)
}

// ReconcileRoleBinding is ReconcileClusterRoleBinding for RoleBindings.
func ReconcileRoleBinding(existing, wanted *rbacv1.RoleBinding) (*rbacv1.RoleBinding, bool) {
	if wanted == nil {
		return existing.DeepCopy(), false
	}
	if existing == nil {
		return wanted.DeepCopy(), true
	}
	if Protected(&existing.ObjectMeta) {
		return existing.DeepCopy(), false
	}
	out := existing.DeepCopy()
	mergeMeta(&out.ObjectMeta, &wanted.ObjectMeta)
	out.RoleRef = wanted.RoleRef
	out.Subjects = addMissingSubjects(out.Subjects, wanted.Subjects)
	return out, !equality.Semantic.DeepEqual(existing, out)
}

func mergeMeta(out, wanted *metav1.ObjectMeta) {
	for k, val := range wanted.Labels {
		if _, ok := out.Labels[k]; !ok {
			if out.Labels == nil {
				out.Labels = map[string]string{}
			}
			out.Labels[k] = val
		}
	}
	for k, val := range wanted.Annotations {
		if _, ok := out.Annotations[k]; !ok {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[k] = val
		}
	}
}

func addMissingRules(have, want []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	for _, w := range want {
		if ok, _ := rbac.Covers(have, []rbacv1.PolicyRule{w}); !ok {
			have = append(have, *w.DeepCopy())
		}
	}
	return have
}

func addMissingSubjects(have, want []rbacv1.Subject) []rbacv1.Subject {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h.Kind == w.Kind && h.Name == w.Name && h.Namespace == w.Namespace {
				found = true
				break
			}
		}
		if !found {
			have = append(have, w)
		}
	}
	return have
}

func hasSelector(have []metav1.LabelSelector, s metav1.LabelSelector) bool {
	for i := range have {
		if equality.Semantic.DeepEqual(have[i], s) {
			return true
		}
	}
	return false
}
