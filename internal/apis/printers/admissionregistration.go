package printers

import (
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// forAdmissionRegistration returns the printers of
// admissionregistration.k8s.io, with kube-apiserver's columns.
func forAdmissionRegistration(gk schema.GroupKind) (*Printer, bool) {
	if gk.Group != admissionregistrationv1.GroupName {
		return nil, false
	}
	switch gk.Kind {
	case "MutatingWebhookConfiguration":
		return typed(webhookColumns(), func(o *admissionregistrationv1.MutatingWebhookConfiguration, now time.Time) []interface{} {
			return []interface{}{o.Name, int64(len(o.Webhooks)), age(o.CreationTimestamp, now)}
		}), true
	case "ValidatingWebhookConfiguration":
		return typed(webhookColumns(), func(o *admissionregistrationv1.ValidatingWebhookConfiguration, now time.Time) []interface{} {
			return []interface{}{o.Name, int64(len(o.Webhooks)), age(o.CreationTimestamp, now)}
		}), true
	case "ValidatingAdmissionPolicy":
		return typed(append([]metav1.TableColumnDefinition{nameColumn(),
			col("Validations", "integer", 0, "Validations indicates the number of validation rules defined in this configuration"),
			col("ParamKind", "string", 0, "ParamKind specifies the kind of resources used to parameterize this policy"),
		}, ageColumn()), func(o *admissionregistrationv1.ValidatingAdmissionPolicy, now time.Time) []interface{} {
			pk := "<unset>"
			if o.Spec.ParamKind != nil {
				pk = o.Spec.ParamKind.APIVersion + "/" + o.Spec.ParamKind.Kind
			}
			return []interface{}{o.Name, int64(len(o.Spec.Validations)), pk, age(o.CreationTimestamp, now)}
		}), true
	case "ValidatingAdmissionPolicyBinding":
		return typed(append([]metav1.TableColumnDefinition{nameColumn(),
			col("PolicyName", "string", 0, "PolicyName indicates the policy definition which the policy binding binded to"),
			col("ParamRef", "string", 0, "ParamRef indicates the param resource which sets the configration param"),
		}, ageColumn()), func(o *admissionregistrationv1.ValidatingAdmissionPolicyBinding, now time.Time) []interface{} {
			ref := "<unset>"
			if p := o.Spec.ParamRef; p != nil {
				switch {
				case p.Namespace != "" && p.Name != "":
					ref = p.Namespace + "/" + p.Name
				case p.Name != "":
					ref = p.Name
				case p.Selector != nil:
					ref = "*/*" // upstream prints the selector form this way
				}
			}
			return []interface{}{o.Name, o.Spec.PolicyName, ref, age(o.CreationTimestamp, now)}
		}), true
	}
	return nil, false
}

func webhookColumns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{nameColumn(),
		col("Webhooks", "integer", 0, "Webhooks indicates the number of webhooks registered in this configuration"),
		ageColumn()}
}
