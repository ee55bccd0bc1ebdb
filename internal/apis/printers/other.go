package printers

import (
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

func leaseColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Holder", "string", 0, coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]),
		ageColumn(),
	}
}

func printLease(l *coordinationv1.Lease, now time.Time) []interface{} {
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	return []interface{}{l.Name, holder, age(l.CreationTimestamp, now)}
}

func bindingColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Role", "string", 0, rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]),
		ageColumn(),
		col("Users", "string", 1, "Users in the roleBinding"),
		col("Groups", "string", 1, "Groups in the roleBinding"),
		col("ServiceAccounts", "string", 1, "ServiceAccounts in the roleBinding"),
	}
}

// bindingRow renders ROLE as Kind/name and the wide subject columns, with
// service accounts as namespace:name.
func bindingRow(name string, created metav1.Time, ref rbacv1.RoleRef, subjects []rbacv1.Subject, now time.Time) []interface{} {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+":"+s.Name)
		}
	}
	return []interface{}{
		name, ref.Kind + "/" + ref.Name, age(created, now),
		strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", "),
	}
}

func printRoleBinding(b *rbacv1.RoleBinding, now time.Time) []interface{} {
	return bindingRow(b.Name, b.CreationTimestamp, b.RoleRef, b.Subjects, now)
}

func printClusterRoleBinding(b *rbacv1.ClusterRoleBinding, now time.Time) []interface{} {
	return bindingRow(b.Name, b.CreationTimestamp, b.RoleRef, b.Subjects, now)
}

func csrColumns() []metav1.TableColumnDefinition {
	spec := certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		ageColumn(),
		col("SignerName", "string", 0, spec["signerName"]),
		col("Requestor", "string", 0, spec["request"]),
		col("RequestedDuration", "string", 0, spec["expirationSeconds"]),
		col("Condition", "string", 0, certificatesv1.CertificateSigningRequestStatus{}.SwaggerDoc()["conditions"]),
	}
}

// csrCondition summarises a CSR's state: Denied beats Approved beats
// Pending, then ",Failed" and ",Issued" when they apply.
func csrCondition(csr *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	s := "Pending"
	if denied {
		s = "Denied"
	} else if approved {
		s = "Approved"
	}
	if failed {
		s += ",Failed"
	}
	if len(csr.Status.Certificate) > 0 {
		s += ",Issued"
	}
	return s
}

func printCSR(csr *certificatesv1.CertificateSigningRequest, now time.Time) []interface{} {
	requested := none
	if csr.Spec.ExpirationSeconds != nil {
		requested = duration.HumanDuration(time.Duration(*csr.Spec.ExpirationSeconds) * time.Second)
	}
	return []interface{}{
		csr.Name, age(csr.CreationTimestamp, now), csr.Spec.SignerName, csr.Spec.Username,
		requested, csrCondition(csr),
	}
}
