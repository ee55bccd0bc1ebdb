package apis

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/kastle-dev/kastle/internal/apis/defaults"
	"github.com/kastle-dev/kastle/internal/apis/printers"
	"github.com/kastle-dev/kastle/internal/apis/validation"
	"github.com/kastle-dev/kastle/internal/auth/user"
	"github.com/kastle-dev/kastle/internal/crd"
)

// builtinBehaviour wires the shared defaulting, validation and printing
// packages into a catalogue row.
func builtinBehaviour(gk schema.GroupKind) Behaviour {
	p, ok := printers.For(gk)
	if !ok {
		p = printers.Default()
	}
	if gk == apiextensionsv1.Kind("CustomResourceDefinition") {
		return crdBehaviour(p)
	}
	var prepare func(runtime.Object, *user.Info)
	if gk == certificatesv1.Kind("CertificateSigningRequest") {
		prepare = stampRequester
	}
	if gk == (schema.GroupKind{Group: batchv1.GroupName, Kind: "Job"}) {
		prepare = generateJobSelector
	}
	if gk == (schema.GroupKind{Kind: "PersistentVolume"}) {
		prepare = pendingVolume
	}
	var prepareUpdate func(obj, old runtime.Object, subresource string)
	if gk == (schema.GroupKind{Kind: "PersistentVolume"}) {
		prepareUpdate = volumePhaseTransition
	}
	return Behaviour{
		PrepareForCreate:     prepare,
		PrepareForUpdate:     prepareUpdate,
		Default:              defaults.Default,
		Validate:             validation.Validate,
		ValidateUpdate:       validation.ValidateUpdate,
		ValidateStatusUpdate: validation.ValidateStatusUpdate,
		Columns:              p.Columns,
		Row:                  func(obj runtime.Object) ([]interface{}, error) { return p.Row(obj, time.Now()) },
	}
}

// crdBehaviour checks CustomResourceDefinitions with the CRD rules
// (structural schemas, names, versions).
func crdBehaviour(p *printers.Printer) Behaviour {
	return Behaviour{
		Default: func(obj runtime.Object) {
			c := obj.(*apiextensionsv1.CustomResourceDefinition)
			crd.DefaultCRD(c)
			// status.conditions has no omitempty: an empty list, not null,
			// lets `kubectl wait --for=condition=…` wait instead of failing.
			if c.Status.Conditions == nil {
				c.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{}
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			return crd.ValidateCRD(obj.(*apiextensionsv1.CustomResourceDefinition))
		},
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return crd.ValidateCRDUpdate(obj.(*apiextensionsv1.CustomResourceDefinition), old.(*apiextensionsv1.CustomResourceDefinition))
		},
		Columns: p.Columns,
		Row:     func(obj runtime.Object) ([]interface{}, error) { return p.Row(obj, time.Now()) },
	}
}

// stampRequester records who asked for a certificate: signers and
// approvers decide on it, so it comes from authentication, never from the
// client's body.
func stampRequester(obj runtime.Object, requester *user.Info) {
	csr, ok := obj.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return
	}
	csr.Spec.Username, csr.Spec.UID, csr.Spec.Groups, csr.Spec.Extra = "", "", nil, nil
	if requester == nil {
		return
	}
	csr.Spec.Username, csr.Spec.UID = requester.Name, requester.UID
	csr.Spec.Groups = append([]string(nil), requester.Groups...)
	if len(requester.Extra) > 0 {
		csr.Spec.Extra = map[string]certificatesv1.ExtraValue{}
		for k, v := range requester.Extra {
			csr.Spec.Extra[k] = append(certificatesv1.ExtraValue(nil), v...)
		}
	}
}

// generateJobSelector gives a new job its uid-based selector and pod
// labels, as upstream's job strategy does on create.
func generateJobSelector(obj runtime.Object, _ *user.Info) {
	if j, ok := obj.(*batchv1.Job); ok {
		defaults.GenerateJobSelector(j)
	}
}

// pendingVolume starts a new PersistentVolume in phase Pending and records
// when it entered it, as upstream's volume strategy does.
func pendingVolume(obj runtime.Object, _ *user.Info) {
	if pv, ok := obj.(*corev1.PersistentVolume); ok {
		now := metav1.Now()
		pv.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: &now}
	}
}

// volumePhaseTransition records when a PersistentVolume's phase changed,
// unless the writer set the time itself.
func volumePhaseTransition(obj, old runtime.Object, _ string) {
	pv, ok1 := obj.(*corev1.PersistentVolume)
	was, ok2 := old.(*corev1.PersistentVolume)
	if !ok1 || !ok2 || pv.Status.Phase == was.Status.Phase {
		return
	}
	if t := pv.Status.LastPhaseTransitionTime; t != nil && !t.Equal(was.Status.LastPhaseTransitionTime) {
		return
	}
	now := metav1.Now()
	pv.Status.LastPhaseTransitionTime = &now
}
