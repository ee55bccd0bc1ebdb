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

// convert asks the webhook for objs at apiVersion to, all in one
// ConversionReview (objects already at to are not sent); the result is in
// the order of objs. Of the metadata only labels and annotations may
// change; the rest is kept as sent.
func (w *conversionWebhook) convert(objs []*unstructured.Unstructured, to string) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, len(objs))
	var send []int
	var raws []kruntime.RawExtension
	for i, o := range objs {
		if o.GetAPIVersion() == to {
			out[i] = o
			continue
		}
		raw, err := o.MarshalJSON()
		if err != nil {
			return nil, err
		}
		send = append(send, i)
		raws = append(raws, kruntime.RawExtension{Raw: raw})
	}
	if len(send) == 0 {
		return out, nil
	}
	first := objs[send[0]]
	// The failure names the kind as upstream does: "conversion webhook
	// for group/version, Kind=K failed: ...".
	gvk := first.GroupVersionKind()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("conversion webhook for %s failed: %s", gvk, fmt.Sprintf(format, args...))
	}
	uid := uuid.NewUUID()
	review := apiextensionsv1.ConversionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/" + w.reviewVersion, Kind: "ConversionReview"},
		Request:  &apiextensionsv1.ConversionRequest{UID: uid, DesiredAPIVersion: to, Objects: raws},
	}
	body, err := json.Marshal(review)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), conversionTimeout)
	defer cancel()
	data, err := w.ep.Post(ctx, body)
	if err != nil {
		return nil, fail("%v", err)
	}
	var resp apiextensionsv1.ConversionReview
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fail("invalid response: %v", err)
	}
	r := resp.Response
	switch {
	case r == nil:
		return nil, fail("no response")
	case w.reviewVersion == "v1" && r.UID != uid:
		return nil, fail("response.uid %q, expected %q", r.UID, uid)
	case r.Result.Status != metav1.StatusSuccess:
		return nil, fail("%s", r.Result.Message)
	case len(r.ConvertedObjects) != len(send):
		return nil, fail("returned %d objects, expected %d", len(r.ConvertedObjects), len(send))
	}
	for j, i := range send {
		in := objs[i]
		conv := &unstructured.Unstructured{}
		if err := conv.UnmarshalJSON(r.ConvertedObjects[j].Raw); err != nil {
			return nil, fail("invalid object %d: %v", j, err)
		}
		if conv.GetAPIVersion() != to || conv.GetKind() != in.GetKind() {
			return nil, fail("object %d is %s %s, expected %s %s", j, conv.GetAPIVersion(), conv.GetKind(), to, in.GetKind())
		}
		// Metadata is the server's but for labels and annotations.
		meta, _, _ := unstructured.NestedMap(in.Object, "metadata")
		labels, annotations := conv.GetLabels(), conv.GetAnnotations()
		conv.Object["metadata"] = meta
		conv.SetLabels(labels)
		conv.SetAnnotations(annotations)
		out[i] = conv
	}
	return out, nil
}

// useConversionWebhook makes r's store convert through w: reads of objects
// stored at another version (a list page in one review), and writes when
// r is not the storage version.
func useConversionWebhook(r *apis.Resource, w *conversionWebhook, storageAPIVersion string) {
	r.FromStorageList = func(objs []kruntime.Object) ([]kruntime.Object, error) {
		us := make([]*unstructured.Unstructured, len(objs))
		for i, o := range objs {
			u, ok := o.(*unstructured.Unstructured)
			if !ok {
				return nil, fmt.Errorf("conversion of %T: not a custom resource", o)
			}
			// The stored objects may be the watch cache's: convert copies.
			us[i] = u.DeepCopy()
		}
		conv, err := w.convert(us, r.APIVersion())
		if err != nil {
			return nil, err
		}
		out := make([]kruntime.Object, len(conv))
		for i, c := range conv {
			out[i] = c
		}
		return out, nil
	}
	r.FromStorage = func(o kruntime.Object) (kruntime.Object, error) {
		out, err := r.FromStorageList([]kruntime.Object{o})
		if err != nil {
			return nil, err
		}
		return out[0], nil
	}
	if r.APIVersion() != storageAPIVersion {
		r.ToStorage = func(o kruntime.Object) (kruntime.Object, error) {
			u, ok := o.(*unstructured.Unstructured)
			if !ok {
				return o, nil
			}
			out, err := w.convert([]*unstructured.Unstructured{u}, storageAPIVersion)
			if err != nil {
				return nil, err
			}
			return out[0], nil
		}
	}
}
