package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"

	"github.com/kastle-dev/kastle/internal/admission/webhook"
	"github.com/kastle-dev/kastle/internal/apis"
)

// conversionTimeout bounds one ConversionReview, as kube-apiserver's
// fixed 30 s.
const conversionTimeout = 30 * time.Second

// conversionWebhook converts custom resources between the versions of a
// CRD whose spec.conversion.strategy is Webhook, with ConversionReview.
type conversionWebhook struct {
	crd           string
	ep            *webhook.Endpoint
	reviewVersion string // "v1" or "v1beta1"
}

func (s *server) newConversionWebhook(obj *apiextensionsv1.CustomResourceDefinition) (*conversionWebhook, error) {
	c := obj.Spec.Conversion
	if c == nil || c.Strategy != apiextensionsv1.WebhookConverter || c.Webhook == nil || c.Webhook.ClientConfig == nil {
		return nil, nil
	}
	cc := admissionregistrationv1.WebhookClientConfig{URL: c.Webhook.ClientConfig.URL, CABundle: c.Webhook.ClientConfig.CABundle}
	if sr := c.Webhook.ClientConfig.Service; sr != nil {
		cc.Service = &admissionregistrationv1.ServiceReference{Namespace: sr.Namespace, Name: sr.Name, Path: sr.Path, Port: sr.Port}
	}
	services, _ := s.stores.Store(mustLookup(s.catalogue, "", "v1", "services"))
	endpoints, _ := s.stores.Store(mustLookup(s.catalogue, "", "v1", "endpoints"))
	ep, err := webhook.NewEndpoint(cc, services, endpoints)
	if err != nil {
		return nil, fmt.Errorf("conversion webhook of %s: %w", obj.Name, err)
	}
	w := &conversionWebhook{crd: obj.Name, ep: ep}
	for _, v := range c.Webhook.ConversionReviewVersions {
		if v == "v1" || v == "v1beta1" {
			w.reviewVersion = v
			break
		}
	}
	if w.reviewVersion == "" {
		return nil, fmt.Errorf("conversion webhook of %s: none of conversionReviewVersions %v is supported (v1, v1beta1)", obj.Name, c.Webhook.ConversionReviewVersions)
	}
	return w, nil
}

// convert asks the webhook for obj at apiVersion to. Only labels and
// annotations of the metadata may change; the rest is kept as sent.
func (w *conversionWebhook) convert(obj *unstructured.Unstructured, to string) (*unstructured.Unstructured, error) {
	if obj.GetAPIVersion() == to {
		return obj, nil
	}
	raw, err := obj.MarshalJSON()
	if err != nil {
		return nil, err
	}
	uid := uuid.NewUUID()
	review := apiextensionsv1.ConversionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/" + w.reviewVersion, Kind: "ConversionReview"},
		Request:  &apiextensionsv1.ConversionRequest{UID: uid, DesiredAPIVersion: to, Objects: []kruntime.RawExtension{{Raw: raw}}},
	}
	body, err := json.Marshal(review)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), conversionTimeout)
	defer cancel()
	data, err := w.ep.Post(ctx, body)
	if err != nil {
		return nil, fmt.Errorf("conversion webhook for %s failed: %w", obj.GroupVersionKind().Kind, err)
	}
	var out apiextensionsv1.ConversionReview
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("conversion webhook for %s returned an invalid response: %v", obj.GroupVersionKind().Kind, err)
	}
	r := out.Response
	switch {
	case r == nil:
		return nil, fmt.Errorf("conversion webhook for %s returned no response", obj.GroupVersionKind().Kind)
	case w.reviewVersion == "v1" && r.UID != uid:
		return nil, fmt.Errorf("conversion webhook for %s returned response.uid %q, want %q", obj.GroupVersionKind().Kind, r.UID, uid)
	case r.Result.Status != metav1.StatusSuccess:
		return nil, fmt.Errorf("conversion webhook for %s failed: %s", obj.GroupVersionKind().Kind, r.Result.Message)
	case len(r.ConvertedObjects) != 1:
		return nil, fmt.Errorf("conversion webhook for %s returned %d objects, expected 1", obj.GroupVersionKind().Kind, len(r.ConvertedObjects))
	}
	conv := &unstructured.Unstructured{}
	if err := conv.UnmarshalJSON(r.ConvertedObjects[0].Raw); err != nil {
		return nil, fmt.Errorf("conversion webhook for %s returned an invalid object: %v", obj.GroupVersionKind().Kind, err)
	}
	if conv.GetAPIVersion() != to || conv.GetKind() != obj.GetKind() {
		return nil, fmt.Errorf("conversion webhook for %s returned %s %s, expected %s %s", obj.GetKind(), conv.GetAPIVersion(), conv.GetKind(), to, obj.GetKind())
	}
	// Metadata is the server's but for labels and annotations.
	meta, _, _ := unstructured.NestedMap(obj.Object, "metadata")
	labels, annotations := conv.GetLabels(), conv.GetAnnotations()
	conv.Object["metadata"] = meta
	conv.SetLabels(labels)
	conv.SetAnnotations(annotations)
	return conv, nil
}

// useConversionWebhook makes r's store convert through w: reads of objects
// stored at another version, and writes when r is not the storage version.
func useConversionWebhook(r *apis.Resource, w *conversionWebhook, storageAPIVersion string) {
	r.FromStorage = func(o kruntime.Object) (kruntime.Object, error) {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			return o, nil
		}
		return w.convert(u.DeepCopy(), r.APIVersion())
	}
	if r.APIVersion() != storageAPIVersion {
		r.ToStorage = func(o kruntime.Object) (kruntime.Object, error) {
			u, ok := o.(*unstructured.Unstructured)
			if !ok {
				return o, nil
			}
			return w.convert(u, storageAPIVersion)
		}
	}
}
