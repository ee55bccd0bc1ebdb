package endpoints

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// readBody reads at most MaxBodyBytes; more is 413.
func (q *req) readBody() ([]byte, error) {
	// A client trickling its body must not outlast the request deadline.
	if d, ok := q.r.Context().Deadline(); ok {
		_ = http.NewResponseController(q.w).SetReadDeadline(d)
	}
	body, err := io.ReadAll(io.LimitReader(q.r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("reading request body: %v", err))
	}
	if len(body) > MaxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d bytes", MaxBodyBytes))
	}
	return body, nil
}

func unsupportedMedia(ct string) error {
	return apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "", fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got %q)", ct), 0, false)
}

// toJSON returns body as JSON; YAML is converted, rejecting duplicate
// keys in strict mode as kube-apiserver does.
func toJSON(media string, body []byte) ([]byte, error) {
	if media != mediaYAML {
		return body, nil
	}
	j, err := yaml.YAMLToJSON(body)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error converting YAML to JSON: %v", err))
	}
	return j, nil
}

// decodeBody decodes the request body into a new object of kind want,
// checking apiVersion and kind against the URL and reporting unknown or
// duplicate fields according to fieldValidation.
func (q *req) decodeBody(want schema.GroupVersionKind, validation string) (runtime.Object, error) {
	body, err := q.readBody()
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, apierrors.NewBadRequest("the request body is empty")
	}
	ct := q.r.Header.Get("Content-Type")
	media, ok := bodyMedia(ct)
	if !ok {
		return nil, unsupportedMedia(ct)
	}
	custom := q.res.Custom && want == q.res.GVK()
	if media == mediaProtobuf {
		if custom {
			return nil, unsupportedMedia(ct)
		}
		return q.decodeProtobuf(body, want)
	}
	data, err := toJSON(media, body)
	if err != nil {
		return nil, err
	}
	if custom {
		return q.decodeCustom(data, want, validation)
	}
	return q.decodeTyped(data, want, validation)
}

func (q *req) decodeProtobuf(body []byte, want schema.GroupVersionKind) (runtime.Object, error) {
	into, err := q.h.Ser.Scheme.New(want)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	obj, gvk, err := q.h.Ser.Protobuf.Decode(body, &want, into)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding protobuf body: %v", err))
	}
	if err := checkGVK(*gvk, want); err != nil {
		return nil, err
	}
	obj.GetObjectKind().SetGroupVersionKind(want)
	return obj, nil
}

// checkGVK compares the apiVersion and kind of a body (either may be
// empty: the URL decides) with the expected ones.
func checkGVK(got, want schema.GroupVersionKind) error {
	if got.Version != "" && got.GroupVersion() != want.GroupVersion() {
		return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", got.GroupVersion(), want.GroupVersion()))
	}
	if got.Kind != "" && got.Kind != want.Kind {
		return apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", got.Kind, want.Kind))
	}
	return nil
}

func (q *req) decodeTyped(data []byte, want schema.GroupVersionKind, validation string) (runtime.Object, error) {
	var tm metav1.TypeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding body: %v", jsonError(err)))
	}
	if err := checkGVK(schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind), want); err != nil {
		return nil, err
	}
	into, err := q.h.Ser.Scheme.New(want)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	dec := q.h.Ser.StrictJSON
	if validation == metav1.FieldValidationIgnore {
		dec = q.h.Ser.JSON
	}
	obj, _, err := dec.Decode(data, &want, into)
	if err != nil {
		strict, isStrict := runtime.AsStrictDecodingError(err)
		if !isStrict {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding body: %v", err))
		}
		if err := q.fieldProblems(validation, strict.Errors()); err != nil {
			return nil, err
		}
	}
	obj.GetObjectKind().SetGroupVersionKind(want)
	return obj, nil
}

func (q *req) decodeCustom(data []byte, want schema.GroupVersionKind, validation string) (runtime.Object, error) {
	m := map[string]interface{}{}
	strictErrs, err := kjson.UnmarshalStrict(data, &m)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding body: %v", jsonError(err)))
	}
	u := &unstructured.Unstructured{Object: m}
	if err := checkGVK(schema.FromAPIVersionAndKind(u.GetAPIVersion(), u.GetKind()), want); err != nil {
		return nil, err
	}
	u.SetGroupVersionKind(want)
	if _, ok := m["metadata"]; ok {
		if _, ok := m["metadata"].(map[string]interface{}); !ok {
			return nil, apierrors.NewBadRequest("metadata must be an object")
		}
		// A malformed metadata (e.g. labels not a map) must be a 400, not
		// a panic later: check it converts to ObjectMeta.
		var om metav1.ObjectMeta
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m["metadata"].(map[string]interface{}), &om); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid metadata: %v", err))
		}
	}
	var problems []error
	problems = append(problems, strictErrs...)
	if q.res.Prune != nil {
		for _, p := range q.res.Prune(u) {
			problems = append(problems, fmt.Errorf("unknown field %q", p))
		}
	}
	if err := q.fieldProblems(validation, problems); err != nil {
		return nil, err
	}
	return u, nil
}

// fieldProblems applies fieldValidation to unknown or duplicate fields:
// Strict rejects, Warn (the default) warns, Ignore drops them.
func (q *req) fieldProblems(validation string, problems []error) error {
	if len(problems) == 0 {
		return nil
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Error()
	}
	switch validation {
	case metav1.FieldValidationStrict:
		return apierrors.NewBadRequest("strict decoding error: " + strings.Join(msgs, ", "))
	case metav1.FieldValidationIgnore:
		return nil
	}
	q.warnings = append(q.warnings, msgs...)
	return nil
}

// jsonError shortens encoding/json errors to what a user can act on.
func jsonError(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at offset %d: %v", se.Offset, se)
	}
	return err.Error()
}

// decodeDeleteOptions reads an optional DeleteOptions body.
func (q *req) decodeDeleteOptions(opts *metav1.DeleteOptions) error {
	body, err := q.readBody()
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	ct := q.r.Header.Get("Content-Type")
	media, ok := bodyMedia(ct)
	if !ok {
		return unsupportedMedia(ct)
	}
	if media == mediaProtobuf {
		want := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
		if _, _, err := q.h.Ser.Protobuf.Decode(body, &want, opts); err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("error decoding DeleteOptions: %v", err))
		}
		return nil
	}
	data, err := toJSON(media, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, opts); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("error decoding DeleteOptions: %v", jsonError(err)))
	}
	return nil
}

// write encodes obj in the negotiated form.
func (q *req) write(code int, obj runtime.Object, list bool) error {
	out, err := q.output(list)
	if err != nil {
		return err
	}
	return q.writeAs(code, obj, list, out)
}

// output negotiates the response form from the Accept header and the
// pretty parameter.
func (q *req) output(list bool) (Output, error) {
	out, ok := negotiate(q.r.Header.Get("Accept"), list)
	if ok && out.Media == mediaProtobuf && q.res.Custom {
		// Custom resources have no protobuf form; take the next choice.
		out, ok = negotiate(withoutProtobuf(q.r.Header.Get("Accept")), list)
	}
	if !ok {
		return out, notAcceptable()
	}
	if q.r.URL.Query().Get("pretty") == "true" || q.r.URL.Query().Get("pretty") == "1" {
		out.Pretty = true
	}
	if out.As != "" && q.res.Virtual && q.info.Verb == "create" {
		// Reviews are not objects with metadata: no Table, no
		// PartialObjectMetadata (406, as kube-apiserver).
		return out, apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "",
			fmt.Sprintf("%s does not support the %s form; ask for application/json", q.res.GroupResource(), out.As), 0, false)
	}
	return out, nil
}

// writeAs transforms obj as out asks (Table, PartialObjectMetadata) and
// encodes it.
func (q *req) writeAs(code int, obj runtime.Object, list bool, out Output) error {
	switch out.As {
	case "Table":
		t, err := q.table(obj, list)
		if err != nil {
			return err
		}
		obj = t
	case "PartialObjectMetadata", "PartialObjectMetadataList":
		pm, err := partialMetadata(obj, list, out.Version)
		if err != nil {
			return err
		}
		obj = pm
	}
	return q.encode(code, obj, out)
}

func withoutProtobuf(accept string) string {
	var keep []string
	for _, p := range strings.Split(accept, ",") {
		if !strings.Contains(p, mediaProtobuf) {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		return "-/-"
	}
	return strings.Join(keep, ",")
}

func notAcceptable() error {
	return apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "", "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf", 0, false)
}

func (q *req) encode(code int, obj runtime.Object, out Output) error {
	var buf bytes.Buffer
	enc := runtime.Encoder(q.h.Ser.JSON)
	ct := mediaJSON
	switch {
	case out.Media == mediaYAML:
		enc, ct = q.h.Ser.YAML, mediaYAML
	case out.Media == mediaProtobuf:
		enc, ct = q.h.Ser.Protobuf, mediaProtobuf
	case out.Pretty:
		enc = q.h.Ser.Pretty
	}
	if err := enc.Encode(obj, &buf); err != nil {
		return apierrors.NewInternalError(err)
	}
	q.writeBody(code, ct, buf.Bytes())
	return nil
}

// writeChunks sends a response body made of chunks through a pooled
// buffer, so that many small pieces make few writes; compressed when it is
// large and the client accepts gzip.
func (q *req) writeChunks(code int, ct string, body *chunks) {
	if q.compresses(body.size) {
		if body.units == nil || !q.writeGzipList(code, ct, body) {
			q.writeGzip(code, ct, body.parts)
		}
		return
	}
	q.writeHeader(code, ct)
	bw := chunkWriters.Get().(*bufio.Writer)
	bw.Reset(q.w)
	for _, p := range body.parts {
		if _, err := bw.Write(p); err != nil {
			break // the client went away
		}
	}
	_ = bw.Flush()
	bw.Reset(nil)
	chunkWriters.Put(bw)
}

// chunkWriters are the buffers of writeChunks.
var chunkWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

// writeBody sends an encoded response with its warnings, compressed when
// it is large and the client accepts gzip.
func (q *req) writeBody(code int, ct string, body []byte) {
	if q.compresses(len(body)) {
		q.writeGzip(code, ct, [][]byte{body})
		return
	}
	q.writeHeader(code, ct)
	_, _ = q.w.Write(body)
}

// writeHeader sends the status, the content type and the warnings.
func (q *req) writeHeader(code int, ct string) {
	h := q.w.Header()
	h.Set("Content-Type", ct)
	for _, w := range q.warnings {
		h.Add("Warning", fmt.Sprintf("299 - %q", w))
	}
	q.w.WriteHeader(code)
}

func (q *req) writeStatusObject(st *metav1.Status) error {
	return q.encode(http.StatusOK, st, Output{Media: mediaJSON})
}

// partialMetadata converts an object or list to PartialObjectMetadata(List).
func partialMetadata(obj runtime.Object, list bool, version string) (runtime.Object, error) {
	gv := metav1.SchemeGroupVersion
	if version == "v1beta1" {
		gv = schema.GroupVersion{Group: "meta.k8s.io", Version: "v1beta1"}
	}
	one := func(o runtime.Object) (*metav1.PartialObjectMetadata, error) {
		acc, err := meta.Accessor(o)
		if err != nil {
			return nil, err
		}
		pm := &metav1.PartialObjectMetadata{}
		pm.TypeMeta = metav1.TypeMeta{APIVersion: gv.String(), Kind: "PartialObjectMetadata"}
		pm.ObjectMeta = *objectMetaOf(acc)
		return pm, nil
	}
	if !list {
		return one(obj)
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	la, _ := meta.ListAccessor(obj)
	out := &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{APIVersion: gv.String(), Kind: "PartialObjectMetadataList"}}
	out.ResourceVersion, out.Continue, out.RemainingItemCount = la.GetResourceVersion(), la.GetContinue(), la.GetRemainingItemCount()
	for _, it := range items {
		pm, err := one(it)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		out.Items = append(out.Items, *pm)
	}
	return out, nil
}

// objectMetaOf copies metadata out of any object.
func objectMetaOf(acc metav1.Object) *metav1.ObjectMeta {
	if om, ok := acc.(*metav1.ObjectMeta); ok {
		return om.DeepCopy()
	}
	return &metav1.ObjectMeta{
		Name: acc.GetName(), GenerateName: acc.GetGenerateName(), Namespace: acc.GetNamespace(),
		UID: acc.GetUID(), ResourceVersion: acc.GetResourceVersion(), Generation: acc.GetGeneration(),
		CreationTimestamp: acc.GetCreationTimestamp(), DeletionTimestamp: acc.GetDeletionTimestamp(),
		DeletionGracePeriodSeconds: acc.GetDeletionGracePeriodSeconds(),
		Labels:                     acc.GetLabels(), Annotations: acc.GetAnnotations(),
		OwnerReferences: acc.GetOwnerReferences(), Finalizers: acc.GetFinalizers(),
		ManagedFields: acc.GetManagedFields(),
	}
}
