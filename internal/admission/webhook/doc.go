// Package webhook runs the dynamic admission of admissionregistration.k8s.io:
// MutatingAdmissionWebhook and ValidatingAdmissionWebhook (calls to HTTPS
// webhooks with AdmissionReview v1/v1beta1) and ValidatingAdmissionPolicy
// (CEL policies with bindings). Configurations come from watch-fed caches,
// never from a per-request storage read; CEL is k8s.io/apiserver's, so
// functions and cost limits are upstream's.
package webhook
