package printers

import (
	"fmt"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Printer describes the table of one kind: its column definitions and a
// function producing one row of cells for an object of that kind.
type Printer struct {
	// Columns are the table's column definitions in display order.
	// Priority 0 columns are always shown, priority 1 only with `-o wide`.
	Columns []metav1.TableColumnDefinition
	// Row returns one cell per column, in column order, for obj, with ages
	// computed relative to now. It returns an error (never panics) when obj
	// is not of the printer's kind.
	Row func(obj runtime.Object, now time.Time) ([]interface{}, error)
}

// For returns the printer of a built-in kind, or (nil, false) when the kind
// has no dedicated printer; callers then use Default. The returned Printer is
// freshly built and may be modified by the caller.
func For(gk schema.GroupKind) (*Printer, bool) {
	if p, ok := moreFor(gk); ok {
		return p, true
	}
	if p, ok := forAdmissionRegistration(gk); ok {
		return p, true
	}
	switch gk {
	case schema.GroupKind{Group: "", Kind: "Namespace"}:
		return typed(namespaceColumns(), printNamespace), true
	case schema.GroupKind{Group: "", Kind: "ConfigMap"}:
		return typed(configMapColumns(), printConfigMap), true
	case schema.GroupKind{Group: "", Kind: "Secret"}:
		return typed(secretColumns(), printSecret), true
	case schema.GroupKind{Group: "", Kind: "ServiceAccount"}:
		return typed(serviceAccountColumns(), printServiceAccount), true
	case schema.GroupKind{Group: "", Kind: "Node"}:
		return typed(nodeColumns(), printNode), true
	case schema.GroupKind{Group: "", Kind: "Pod"}:
		return typed(podColumns(), printPod), true
	case schema.GroupKind{Group: "", Kind: "PersistentVolumeClaim"}:
		return typed(pvcColumns(), printPVC), true
	case schema.GroupKind{Group: "", Kind: "Service"}:
		return typed(serviceColumns(), printService), true
	case schema.GroupKind{Group: "", Kind: "Endpoints"}:
		return typed(endpointsColumns(), printEndpoints), true
	case schema.GroupKind{Group: "", Kind: "Event"}:
		return typed(eventColumns(), printCoreEvent), true
	case schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}:
		return typed(eventColumns(), printEventsEvent), true
	case schema.GroupKind{Group: "apps", Kind: "Deployment"}:
		return typed(deploymentColumns(), printDeployment), true
	case schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}:
		return typed(replicaSetColumns(), printReplicaSet), true
	case schema.GroupKind{Group: "apps", Kind: "StatefulSet"}:
		return typed(statefulSetColumns(), printStatefulSet), true
	case schema.GroupKind{Group: "apps", Kind: "DaemonSet"}:
		return typed(daemonSetColumns(), printDaemonSet), true
	case schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}:
		return typed(leaseColumns(), printLease), true
	case schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "Role"}:
		return typed(createdAtColumns(), printCreatedAt[*rbacv1.Role]), true
	case schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:
		return typed(createdAtColumns(), printCreatedAt[*rbacv1.ClusterRole]), true
	case schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:
		return typed(bindingColumns(), printRoleBinding), true
	case schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:
		return typed(bindingColumns(), printClusterRoleBinding), true
	case schema.GroupKind{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}:
		return typed(csrColumns(), printCSR), true
	case schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:
		return typed(createdAtColumns(), printCreatedAt[*apiextensionsv1.CustomResourceDefinition]), true
	}
	if p, ok := forMore(gk); ok {
		return p, true
	}
	return nil, false
}

// Default returns the NAME, AGE printer used for every kind without a
// dedicated printer (for example custom resources without additional printer
// columns). Its Row accepts any object that has ObjectMeta.
func Default() *Printer {
	return &Printer{
		Columns: []metav1.TableColumnDefinition{nameColumn(), ageColumn()},
		Row: func(obj runtime.Object, now time.Time) ([]interface{}, error) {
			if obj == nil {
				return nil, fmt.Errorf("printers: nil object")
			}
			m, err := meta.Accessor(obj)
			if err != nil {
				return nil, fmt.Errorf("printers: %T has no object metadata: %w", obj, err)
			}
			return []interface{}{m.GetName(), age(m.GetCreationTimestamp(), now)}, nil
		},
	}
}

// typed adapts a row function over one concrete pointer type to the generic
// Row signature, rejecting other types and typed nil pointers.
func typed[T interface {
	runtime.Object
	comparable
}](cols []metav1.TableColumnDefinition, row func(T, time.Time) []interface{}) *Printer {
	return &Printer{
		Columns: cols,
		Row: func(obj runtime.Object, now time.Time) ([]interface{}, error) {
			t, ok := obj.(T)
			var zero T
			if !ok || t == zero {
				var want T
				return nil, fmt.Errorf("printers: expected %T, got %T", want, obj)
			}
			return row(t, now), nil
		},
	}
}

// objectMetaDoc holds the ObjectMeta field descriptions used by the Name,
// Age and Created At columns, as kube-apiserver describes them.
func objectMetaDoc(field string) string { return metav1.ObjectMeta{}.SwaggerDoc()[field] }

func nameColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc("name")}
}

func ageColumn() metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: objectMetaDoc("creationTimestamp")}
}

// col builds a non-name column; priority 1 marks a `-o wide` column.
func col(name, typ string, priority int32, description string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: typ, Priority: priority, Description: description}
}

func createdAtColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		col("Created At", "date", 0, objectMetaDoc("creationTimestamp")),
	}
}

// printCreatedAt is the row of kinds printed as NAME, CREATED AT (roles,
// cluster roles, CRDs): the creation time in RFC 3339, UTC.
func printCreatedAt[T interface {
	runtime.Object
	comparable
	GetName() string
	GetCreationTimestamp() metav1.Time
}](obj T, _ time.Time) []interface{} {
	return []interface{}{obj.GetName(), obj.GetCreationTimestamp().UTC().Format(time.RFC3339)}
}
