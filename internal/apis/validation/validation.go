package validation

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// kindRules is what this package knows about one object: how its metadata
// is validated, its body (everything but metadata), and the extra rules of
// an update against the stored object.
type kindRules struct {
	meta       *metav1.ObjectMeta
	namespaced bool
	name       apivalidation.ValidateNameFunc
	// body validates the object's content (not its metadata). It is run on
	// create and on update.
	body func() field.ErrorList
	// create holds the rules of a new object only (a CronJob's name
	// length); nil means none.
	create func() field.ErrorList
	// update checks immutability against old, which has the same type.
	update func(old runtime.Object) field.ErrorList
	// status checks a status-subresource write against old; nil means the
	// metadata checks are all there is.
	status func(old runtime.Object) field.ErrorList
}

// Validate checks a new object before it is created. It returns an empty
// list for valid objects and for types it does not know.
func Validate(obj runtime.Object) field.ErrorList {
	r, ok := rulesFor(obj)
	if !ok {
		return nil
	}
	errs := apivalidation.ValidateObjectMeta(r.meta, r.namespaced, r.name, field.NewPath("metadata"))
	if r.create != nil {
		errs = append(errs, r.create()...)
	}
	return append(errs, r.body()...)
}

// ValidateUpdate checks obj as a replacement of the stored old: metadata
// immutability (name, namespace, uid, creationTimestamp; resourceVersion must
// be set), the body rules, and each kind's immutable fields. obj and old
// must have the same type; a mismatch is reported as an internal error.
func ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	r, ok := rulesFor(obj)
	if !ok {
		return nil
	}
	oldMeta, err := sameKind(obj, old)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	errs := apivalidation.ValidateObjectMetaUpdate(r.meta, oldMeta, field.NewPath("metadata"))
	errs = append(errs, r.body()...)
	if r.update != nil {
		errs = append(errs, r.update(old)...)
	}
	return errs
}

// ValidateStatusUpdate checks a write to the status subresource: metadata
// immutability plus the kind's status rules (CertificateSigningRequest
// conditions and certificate).
func ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	r, ok := rulesFor(obj)
	if !ok {
		return nil
	}
	oldMeta, err := sameKind(obj, old)
	if err != nil {
		return field.ErrorList{field.InternalError(nil, err)}
	}
	errs := apivalidation.ValidateObjectMetaUpdate(r.meta, oldMeta, field.NewPath("metadata"))
	if r.status != nil {
		errs = append(errs, r.status(old)...)
	}
	return errs
}

// sameKind returns old's metadata after checking old has obj's Go type.
func sameKind(obj, old runtime.Object) (*metav1.ObjectMeta, error) {
	if fmt.Sprintf("%T", obj) != fmt.Sprintf("%T", old) {
		return nil, fmt.Errorf("cannot compare %T with stored %T", obj, old)
	}
	or, ok := rulesFor(old)
	if !ok {
		return nil, fmt.Errorf("stored object %T is nil", old)
	}
	return or.meta, nil
}

// rulesFor returns the rules of obj's kind; false for unknown types and
// typed nil pointers.
func rulesFor(obj runtime.Object) (kindRules, bool) {
	if r, ok := clusterRules(obj); ok {
		return r, true
	}
	switch o := obj.(type) {
	case *corev1.Namespace:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: apivalidation.NameIsDNSLabel,
				body: func() field.ErrorList { return validateNamespace(o) }}, true
		}
	case *corev1.PersistentVolumeClaim:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validatePVC(o) },
				update: func(old runtime.Object) field.ErrorList {
					return validatePVCUpdate(o, old.(*corev1.PersistentVolumeClaim))
				}}, true
		}
	case *corev1.ConfigMap:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body:   func() field.ErrorList { return validateConfigMap(o) },
				update: func(old runtime.Object) field.ErrorList { return validateConfigMapUpdate(o, old.(*corev1.ConfigMap)) }}, true
		}
	case *corev1.Secret:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body:   func() field.ErrorList { return validateSecret(o) },
				update: func(old runtime.Object) field.ErrorList { return validateSecretUpdate(o, old.(*corev1.Secret)) }}, true
		}
	case *corev1.ServiceAccount:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validateServiceAccount(o) }}, true
		}
	case *corev1.Node:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: apivalidation.NameIsDNSSubdomain,
				body:   func() field.ErrorList { return validateNode(o) },
				update: func(old runtime.Object) field.ErrorList { return validateNodeUpdate(o, old.(*corev1.Node)) }}, true
		}
	case *corev1.Pod:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body:   func() field.ErrorList { return validatePodSpec(&o.Spec, field.NewPath("spec"), false) },
				update: func(old runtime.Object) field.ErrorList { return validatePodUpdate(o, old.(*corev1.Pod)) }}, true
		}
	case *corev1.Service:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNS1035Label,
				body:   func() field.ErrorList { return validateService(o) },
				update: func(old runtime.Object) field.ErrorList { return validateServiceUpdate(o, old.(*corev1.Service)) }}, true
		}
	case *corev1.Endpoints:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validateEndpoints(o) }}, true
		}
	case *corev1.Event:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validateCoreEvent(o) }}, true
		}
	case *eventsv1.Event:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body:   func() field.ErrorList { return validateEventsEvent(o) },
				update: func(old runtime.Object) field.ErrorList { return validateEventsEventUpdate(o, old.(*eventsv1.Event)) }}, true
		}
	case *appsv1.Deployment:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validateDeployment(o) },
				update: func(old runtime.Object) field.ErrorList {
					return immutableSelector(o.Spec.Selector, old.(*appsv1.Deployment).Spec.Selector)
				},
				status: func(runtime.Object) field.ErrorList { return validateDeploymentStatus(&o.Status) }}, true
		}
	case *appsv1.ReplicaSet:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validateReplicaSet(o) },
				update: func(old runtime.Object) field.ErrorList {
					return immutableSelector(o.Spec.Selector, old.(*appsv1.ReplicaSet).Spec.Selector)
				},
				status: func(runtime.Object) field.ErrorList { return validateReplicaSetStatus(&o.Status) }}, true
		}
	case *appsv1.StatefulSet:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validateStatefulSet(o) },
				update: func(old runtime.Object) field.ErrorList {
					return validateStatefulSetUpdate(o, old.(*appsv1.StatefulSet))
				}}, true
		}
	case *appsv1.DaemonSet:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validateDaemonSet(o) },
				update: func(old runtime.Object) field.ErrorList {
					return immutableSelector(o.Spec.Selector, old.(*appsv1.DaemonSet).Spec.Selector)
				}}, true
		}
	case *coordinationv1.Lease:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validateLease(o) }}, true
		}
	case *rbacv1.Role:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: path.ValidatePathSegmentName,
				body: func() field.ErrorList { return validateRules(o.Rules, true) }}, true
		}
	case *rbacv1.ClusterRole:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: path.ValidatePathSegmentName,
				body: func() field.ErrorList { return validateClusterRole(o) }}, true
		}
	case *rbacv1.RoleBinding:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, namespaced: true, name: path.ValidatePathSegmentName,
				body: func() field.ErrorList { return validateBinding(o.RoleRef, o.Subjects, true) },
				update: func(old runtime.Object) field.ErrorList {
					return immutableRoleRef(o.RoleRef, old.(*rbacv1.RoleBinding).RoleRef)
				}}, true
		}
	case *rbacv1.ClusterRoleBinding:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: path.ValidatePathSegmentName,
				body: func() field.ErrorList { return validateBinding(o.RoleRef, o.Subjects, false) },
				update: func(old runtime.Object) field.ErrorList {
					return immutableRoleRef(o.RoleRef, old.(*rbacv1.ClusterRoleBinding).RoleRef)
				}}, true
		}
	case *certificatesv1.CertificateSigningRequest:
		if o != nil {
			return kindRules{meta: &o.ObjectMeta, name: apivalidation.NameIsDNSSubdomain,
				body: func() field.ErrorList { return validateCSR(o) },
				update: func(old runtime.Object) field.ErrorList {
					return validateCSRUpdate(o, old.(*certificatesv1.CertificateSigningRequest))
				},
				status: func(old runtime.Object) field.ErrorList {
					return validateCSRStatusUpdate(o, old.(*certificatesv1.CertificateSigningRequest))
				}}, true
		}
	default:
		if r, ok := moreRules(obj); ok {
			return r, true
		}
	}
	if r, ok := admissionRegistrationRules(obj); ok {
		return r, true
	}
	return kindRules{}, false
}
