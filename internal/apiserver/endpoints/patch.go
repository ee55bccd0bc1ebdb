package endpoints

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path"
	"strings"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/kastle-dev/kastle/internal/registry"
)

// maxJSONPatchOps bounds the work one JSON patch can ask for.
const maxJSONPatchOps = 10000

func (q *req) patch() error {
	var opts metav1.PatchOptions
	if err := q.decodeQuery(q.r.URL.Query(), &opts); err != nil {
		return err
	}
	wo, err := q.writeOptions(opts.DryRun, opts.FieldManager, opts.FieldValidation)
	if err != nil {
		return err
	}
	ct := q.r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	pt := types.PatchType(mt)
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyYAMLPatchType:
	default:
		return apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "",
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got %q)", ct), 0, false)
	}
	if pt == types.StrategicMergePatchType && q.res.Custom {
		return apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "",
			"strategic merge patch is not supported for custom resources: use application/merge-patch+json or application/apply-patch+yaml", 0, false)
	}
	body, err := q.readBody()
	if err != nil {
		return err
	}
	if pt == types.ApplyYAMLPatchType {
		if opts.FieldManager == "" {
			return apierrors.NewBadRequest("PATCH requests with apply must specify fieldManager")
		}
		force := opts.Force != nil && *opts.Force
		return q.apply(body, wo, force, opts.FieldValidation)
	}
	if opts.Force != nil {
		return apierrors.NewBadRequest("force may only be given with apply patches")
	}
	if q.info.Subresource == "scale" {
		return q.patchScale(pt, body, wo, opts.FieldValidation)
	}
	out, err := q.store.Update(q.ctx(), q.ns, q.info.Name, func(cur runtime.Object) (runtime.Object, error) {
		curJSON, err := json.Marshal(cur)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		patched, err := q.applyPatch(pt, curJSON, body)
		if err != nil {
			return nil, err
		}
		q.warnings = nil
		return q.decodePatched(patched, opts.FieldValidation)
	}, wo)
	if err != nil {
		return err
	}
	return q.write(http.StatusOK, out, false)
}

// decodePatched decodes a patched JSON document as a body of the resource.
func (q *req) decodePatched(data []byte, validation string) (runtime.Object, error) {
	if q.res.Custom {
		return q.decodeCustom(data, q.res.GVK(), validation)
	}
	return q.decodeTyped(data, q.res.GVK(), validation)
}

// applyPatch applies a JSON, merge or strategic merge patch to doc.
func (q *req) applyPatch(pt types.PatchType, doc, patch []byte) ([]byte, error) {
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid JSON patch: %v", err))
		}
		if len(p) > maxJSONPatchOps {
			return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("the JSON patch has %d operations, more than %d", len(p), maxJSONPatchOps))
		}
		out, err := p.Apply(doc)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", fmt.Sprintf("the JSON patch could not be applied: %v", err), 0, false)
		}
		return out, nil
	case types.MergePatchType:
		if !json.Valid(patch) {
			return nil, apierrors.NewBadRequest("invalid merge patch: the body is not valid JSON")
		}
		out, err := jsonpatch.MergePatch(doc, patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid merge patch: %v", err))
		}
		return out, nil
	case types.StrategicMergePatchType:
		var pm map[string]interface{}
		if err := json.Unmarshal(patch, &pm); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid strategic merge patch: %v", jsonError(err)))
		}
		dataStruct, err := q.h.Ser.Scheme.New(q.res.GVK())
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		out, err := strategicpatch.StrategicMergePatch(doc, patch, dataStruct)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", fmt.Sprintf("the strategic merge patch could not be applied: %v", err), 0, false)
		}
		return out, nil
	}
	return nil, apierrors.NewBadRequest(fmt.Sprintf("unsupported patch type %q", pt))
}

// apply performs server-side apply, creating the object when it does not
// exist yet.
func (q *req) apply(body []byte, wo registry.WriteOptions, force bool, validation string) error {
	data, err := yaml.YAMLToJSON(body)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	m := map[string]interface{}{}
	strictErrs, err := kjson.UnmarshalStrict(data, &m)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("error decoding apply patch: %v", jsonError(err)))
	}
	// YAML to JSON keeps the last of duplicate keys: the YAML itself is
	// where duplicates show, named by line as upstream reports them.
	if validation != metav1.FieldValidationIgnore {
		strictErrs = append(strictErrs, yamlDuplicates(body)...)
	}
	if err := q.fieldProblems(validation, strictErrs); err != nil {
		return err
	}
	applied := &unstructured.Unstructured{Object: m}
	if applied.GetAPIVersion() == "" || applied.GetKind() == "" {
		return apierrors.NewBadRequest("apply patches must set apiVersion and kind")
	}
	if err := checkGVK(applied.GroupVersionKind(), q.res.GVK()); err != nil {
		return err
	}
	if n := applied.GetName(); n != "" && n != q.info.Name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", n, q.info.Name))
	}
	if q.res.Prune != nil {
		pruned := q.res.Prune(applied)
		if validation == metav1.FieldValidationStrict && len(pruned) > 0 {
			// A strict apply fails as server-side apply's typed patch
			// does upstream, naming each field the schema lacks.
			msgs := make([]string, len(pruned))
			for i, p := range pruned {
				msgs[i] = "." + p + ": field not declared in schema"
			}
			return apierrors.NewBadRequest(fmt.Sprintf("failed to create typed patch object (%s; %s): %s",
				path.Join(q.ns, q.info.Name), q.res.GVK(), strings.Join(msgs, ", ")))
		}
		var probs []error
		for _, p := range pruned {
			probs = append(probs, fmt.Errorf("unknown field %q", p))
		}
		if err := q.fieldProblems(validation, probs); err != nil {
			return err
		}
	}
	wo.Applied = true
	fields := q.store.Fields
	out, err := q.store.Update(q.ctx(), q.ns, q.info.Name, func(cur runtime.Object) (runtime.Object, error) {
		return fields.Apply(q.res, q.info.Subresource, cur, applied, wo.FieldManager, force)
	}, wo)
	if apierrors.IsNotFound(err) && q.info.Subresource == "" {
		empty := q.res.New()
		if m, ok := empty.(metav1.Object); ok {
			m.SetName(q.info.Name)
			m.SetNamespace(q.ns)
		}
		obj, aerr := fields.Apply(q.res, "", empty, applied, wo.FieldManager, force)
		if aerr != nil {
			return aerr
		}
		created, cerr := q.store.Create(q.ctx(), q.ns, obj, wo)
		if cerr != nil {
			return cerr
		}
		return q.write(http.StatusCreated, created, false)
	}
	if err != nil {
		return err
	}
	return q.write(http.StatusOK, out, false)
}

// yamlDuplicates lists the duplicate keys of a YAML document ("line 9:
// key "foo" already set in map").
func yamlDuplicates(body []byte) []error {
	var probe interface{}
	err := yaml.UnmarshalStrict(body, &probe)
	if err == nil {
		return nil
	}
	var out []error
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		if !strings.Contains(line, "already set in map") {
			continue
		}
		if i := strings.Index(line, "line "); i > 0 {
			line = line[i:]
		}
		out = append(out, errors.New(line))
	}
	return out
}
