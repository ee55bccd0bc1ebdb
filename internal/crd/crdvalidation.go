package crd

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/util/jsonpath"
)

// The allowed values below are functions, not variables, so that no
// package-level state can be changed by accident.
func scopes() []string {
	return []string{string(apiextensionsv1.ClusterScoped), string(apiextensionsv1.NamespaceScoped)}
}
func printerColumnTypes() []string { return []string{"boolean", "date", "integer", "number", "string"} }
func printerColumnFormats() []string {
	return []string{"byte", "date", "date-time", "double", "float", "int32", "int64", "password"}
}
func schemaTypes() []string {
	return []string{"array", "boolean", "integer", "number", "object", "string"}
}
func listTypes() []string { return []string{"atomic", "map", "set"} }
func mapTypes() []string  { return []string{"atomic", "granular"} }

// DefaultCRD fills the fields kube-apiserver defaults on CRDs: singular
// (lower-case kind), listKind (kind + "List") and conversion strategy None.
// Call it before ValidateCRD.
func DefaultCRD(crd *apiextensionsv1.CustomResourceDefinition) {
	names := &crd.Spec.Names
	if names.Singular == "" {
		names.Singular = strings.ToLower(names.Kind)
	}
	if names.ListKind == "" && names.Kind != "" {
		names.ListKind = names.Kind + "List"
	}
	if crd.Spec.Conversion == nil {
		crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}
	}
}

// ValidateCRD checks a CRD as kube-apiserver does on create: its name,
// group, names, scope, versions, per-version structural schemas (with
// their defaults), subresources and printer columns, and conversion (only
// None is supported). Paths use the v1 field names.
func ValidateCRD(crd *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	if crd == nil {
		return field.ErrorList{field.Required(field.NewPath(""), "CustomResourceDefinition")}
	}
	var errs field.ErrorList
	metaPath := field.NewPath("metadata")
	if crd.Name == "" {
		errs = append(errs, field.Required(metaPath.Child("name"), "name or generateName is required"))
	} else {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(crd.Name, false) {
			errs = append(errs, field.Invalid(metaPath.Child("name"), crd.Name, msg))
		}
		if crd.Name != crd.Spec.Names.Plural+"."+crd.Spec.Group {
			errs = append(errs, field.Invalid(metaPath.Child("name"), crd.Name, `must be spec.names.plural+"."+spec.group`))
		}
	}
	errs = append(errs, validateSpec(&crd.Spec, field.NewPath("spec"))...)
	errs = append(errs, validateStoredVersions(crd.Status.StoredVersions, crd.Spec.Versions, field.NewPath("status", "storedVersions"))...)
	return errs
}

// ValidateCRDUpdate is ValidateCRD plus the update rules: spec.group and
// spec.names.plural never change (they make up the name); once the old CRD
// is Established, spec.scope and spec.names.kind are fixed too, as stored
// objects depend on them. Other names may change. Every version in
// newCRD.Status.StoredVersions must stay in spec.versions, so the caller
// copies the stored status into newCRD before calling (spec updates do not
// change status).
func ValidateCRDUpdate(newCRD, oldCRD *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	errs := ValidateCRD(newCRD)
	if newCRD == nil || oldCRD == nil {
		return errs
	}
	spec := field.NewPath("spec")
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(newCRD.Spec.Group, oldCRD.Spec.Group, spec.Child("group"))...)
	errs = append(errs, apimachineryvalidation.ValidateImmutableField(newCRD.Spec.Names.Plural, oldCRD.Spec.Names.Plural, spec.Child("names", "plural"))...)
	if c := findCondition(oldCRD.Status.Conditions, apiextensionsv1.Established); c != nil && c.Status == apiextensionsv1.ConditionTrue {
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(newCRD.Spec.Scope, oldCRD.Spec.Scope, spec.Child("scope"))...)
		errs = append(errs, apimachineryvalidation.ValidateImmutableField(newCRD.Spec.Names.Kind, oldCRD.Spec.Names.Kind, spec.Child("names", "kind"))...)
	}
	return errs
}

func validateStoredVersions(stored []string, versions []apiextensionsv1.CustomResourceDefinitionVersion, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, s := range stored {
		found := false
		for _, v := range versions {
			found = found || v.Name == s
		}
		if !found {
			errs = append(errs, field.Invalid(p.Index(i), s, fmt.Sprintf("missing from spec.versions; %[1]s was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in %[1]s and removes %[1]s from status.storedVersions", s)))
		}
	}
	return errs
}

func validateSpec(spec *apiextensionsv1.CustomResourceDefinitionSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case spec.Group == "":
		errs = append(errs, field.Required(p.Child("group"), ""))
	case len(validation.IsDNS1123Subdomain(spec.Group)) > 0:
		errs = append(errs, field.Invalid(p.Child("group"), spec.Group, strings.Join(validation.IsDNS1123Subdomain(spec.Group), ",")))
	case !strings.Contains(spec.Group, "."):
		errs = append(errs, field.Invalid(p.Child("group"), spec.Group, "should be a domain with at least one dot"))
	}
	switch {
	case spec.Scope == "":
		errs = append(errs, field.Required(p.Child("scope"), ""))
	case !contains(scopes(), string(spec.Scope)):
		errs = append(errs, field.NotSupported(p.Child("scope"), spec.Scope, scopes()))
	}
	errs = append(errs, validateNames(&spec.Names, p.Child("names"))...)

	if spec.PreserveUnknownFields {
		errs = append(errs, field.Invalid(p.Child("preserveUnknownFields"), true, "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead"))
	}

	vp := p.Child("versions")
	if len(spec.Versions) == 0 {
		errs = append(errs, field.Required(vp, "must have exactly one version marked as storage version"))
	} else {
		storage := 0
		seen := map[string]bool{}
		for i := range spec.Versions {
			v := &spec.Versions[i]
			if v.Storage {
				storage++
			}
			if seen[v.Name] {
				errs = append(errs, field.Duplicate(vp.Index(i).Child("name"), v.Name))
			}
			seen[v.Name] = true
			errs = append(errs, validateVersion(v, vp.Index(i))...)
		}
		if storage != 1 {
			errs = append(errs, field.Invalid(vp, storage, "must have exactly one version marked as storage version"))
		}
	}

	if c := spec.Conversion; c != nil {
		cp := p.Child("conversion")
		switch {
		case c.Strategy == "":
			errs = append(errs, field.Required(cp.Child("strategy"), ""))
		case c.Strategy == apiextensionsv1.WebhookConverter:
			errs = append(errs, validateConversionWebhook(c.Webhook, cp.Child("webhook"))...)
		case c.Strategy != apiextensionsv1.NoneConverter:
			errs = append(errs, field.NotSupported(cp.Child("strategy"), c.Strategy, []string{string(apiextensionsv1.NoneConverter), string(apiextensionsv1.WebhookConverter)}))
		}
		if c.Strategy == apiextensionsv1.NoneConverter && c.Webhook != nil {
			errs = append(errs, field.Forbidden(cp.Child("webhook"), "should not be set when strategy is not set to Webhook"))
		}
	}
	return errs
}

func validateNames(n *apiextensionsv1.CustomResourceDefinitionNames, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	label := func(name, value string, lower bool) {
		switch {
		case value == "":
			errs = append(errs, field.Required(p.Child(name), ""))
		case lower:
			if msgs := validation.IsDNS1035Label(value); len(msgs) > 0 {
				errs = append(errs, field.Invalid(p.Child(name), value, strings.Join(msgs, ",")))
			}
		default:
			if msgs := validation.IsDNS1035Label(strings.ToLower(value)); len(msgs) > 0 {
				errs = append(errs, field.Invalid(p.Child(name), value, "may have mixed case, but should otherwise match: "+strings.Join(msgs, ",")))
			}
		}
	}
	label("plural", n.Plural, true)
	label("singular", n.Singular, true)
	label("kind", n.Kind, false)
	label("listKind", n.ListKind, false)
	if n.Kind != "" && n.Kind == n.ListKind {
		errs = append(errs, field.Invalid(p.Child("listKind"), n.ListKind, "kind and listKind may not be the same"))
	}
	for i, s := range n.ShortNames {
		if msgs := validation.IsDNS1035Label(s); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child("shortNames").Index(i), s, strings.Join(msgs, ",")))
		}
	}
	for i, c := range n.Categories {
		if msgs := validation.IsDNS1035Label(c); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child("categories").Index(i), c, strings.Join(msgs, ",")))
		}
	}
	return errs
}

func validateVersion(v *apiextensionsv1.CustomResourceDefinitionVersion, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if v.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else if msgs := validation.IsDNS1035Label(v.Name); len(msgs) > 0 {
		errs = append(errs, field.Invalid(p.Child("name"), v.Name, strings.Join(msgs, ",")))
	}
	sp := p.Child("schema", "openAPIV3Schema")
	if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		errs = append(errs, field.Required(sp, ""))
	} else {
		statusEnabled := v.Subresources != nil && v.Subresources.Status != nil
		errs = append(errs, validateSchema(v.Schema.OpenAPIV3Schema, sp, statusEnabled)...)
		errs = append(errs, validateRuleCompilation(v.Schema.OpenAPIV3Schema, sp)...)
	}
	if sr := v.Subresources; sr != nil && sr.Scale != nil {
		errs = append(errs, validateScale(sr.Scale, p.Child("subresources", "scale"))...)
	}
	errs = append(errs, validateSelectableFields(v, p.Child("selectableFields"))...)
	seen := map[string]bool{}
	for i := range v.AdditionalPrinterColumns {
		c := &v.AdditionalPrinterColumns[i]
		cp := p.Child("additionalPrinterColumns").Index(i)
		if c.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
		} else if seen[c.Name] {
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		}
		seen[c.Name] = true
		if c.Type == "" {
			errs = append(errs, field.Required(cp.Child("type"), "must be one of "+strings.Join(printerColumnTypes(), ",")))
		} else if !contains(printerColumnTypes(), c.Type) {
			errs = append(errs, field.Invalid(cp.Child("type"), c.Type, "must be one of "+strings.Join(printerColumnTypes(), ",")))
		}
		if c.Format != "" && !contains(printerColumnFormats(), c.Format) {
			errs = append(errs, field.Invalid(cp.Child("format"), c.Format, "must be one of "+strings.Join(printerColumnFormats(), ",")))
		}
		if c.JSONPath == "" {
			errs = append(errs, field.Required(cp.Child("jsonPath"), ""))
		} else if e := validateSimpleJSONPath(c.JSONPath, cp.Child("jsonPath")); e != nil {
			errs = append(errs, e)
		} else if err := jsonpath.New(c.Name).Parse("{" + c.JSONPath + "}"); err != nil {
			errs = append(errs, field.Invalid(cp.Child("jsonPath"), c.JSONPath, "must be a valid JSONPath: "+err.Error()))
		}
	}
	return errs
}

// maxSelectableFields is upstream's limit per version.
const maxSelectableFields = 8

// validateSelectableFields checks a version's selectableFields: at most
// eight, each a simple path to a string, integer or boolean field of the
// schema, no duplicates.
func validateSelectableFields(v *apiextensionsv1.CustomResourceDefinitionVersion, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(v.SelectableFields) > maxSelectableFields {
		errs = append(errs, field.TooMany(p, len(v.SelectableFields), maxSelectableFields))
	}
	seen := map[string]bool{}
	for i, f := range v.SelectableFields {
		fp := p.Index(i).Child("jsonPath")
		if f.JSONPath == "" {
			errs = append(errs, field.Required(fp, ""))
			continue
		}
		parts, err := splitPath(f.JSONPath)
		if err != nil || !strings.HasPrefix(f.JSONPath, ".") {
			errs = append(errs, field.Invalid(fp, f.JSONPath, "must be a simple json path starting with . in the dot notation"))
			continue
		}
		if seen[f.JSONPath] {
			errs = append(errs, field.Duplicate(fp, f.JSONPath))
		}
		seen[f.JSONPath] = true
		if parts[0] == "metadata" {
			errs = append(errs, field.Invalid(fp, f.JSONPath, "must not point to fields in metadata"))
			continue
		}
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		s := v.Schema.OpenAPIV3Schema
		for _, part := range parts {
			next, ok := s.Properties[part]
			if !ok {
				s = nil
				break
			}
			s = &next
		}
		switch {
		case s == nil:
			errs = append(errs, field.Invalid(fp, f.JSONPath, "is an invalid path: does not refer to a valid field"))
		case s.Type != "string" && s.Type != "integer" && s.Type != "boolean":
			errs = append(errs, field.Invalid(fp, f.JSONPath, "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed."))
		}
	}
	return errs
}

func validateScale(s *apiextensionsv1.CustomResourceSubresourceScale, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	under := func(name, value, msg string, prefixes ...string) {
		fp := p.Child(name)
		if value == "" {
			errs = append(errs, field.Required(fp, ""))
			return
		}
		if _, err := splitPath(value); err != nil {
			errs = append(errs, field.Invalid(fp, value, "must be a simple json path starting with . in the dot notation"))
			return
		}
		for _, pre := range prefixes {
			if strings.HasPrefix(value, pre) {
				return
			}
		}
		errs = append(errs, field.Invalid(fp, value, msg))
	}
	under("specReplicasPath", s.SpecReplicasPath, "should be a json path under .spec", ".spec.")
	under("statusReplicasPath", s.StatusReplicasPath, "should be a json path under .status", ".status.")
	if s.LabelSelectorPath != nil && *s.LabelSelectorPath != "" {
		under("labelSelectorPath", *s.LabelSelectorPath, "should be a json path under either .spec or .status", ".spec.", ".status.")
	}
	return errs
}

func validateSimpleJSONPath(s string, p *field.Path) *field.Error {
	if !strings.HasPrefix(s, ".") {
		return field.Invalid(p, s, "must be a simple json path starting with .")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// schemaHas reports whether pred holds for s or any schema nested in it.
func schemaHas(s *apiextensionsv1.JSONSchemaProps, pred func(*apiextensionsv1.JSONSchemaProps) bool) bool {
	if s == nil {
		return false
	}
	if pred(s) {
		return true
	}
	for k := range s.Properties {
		p := s.Properties[k]
		if schemaHas(&p, pred) {
			return true
		}
	}
	if s.AdditionalProperties != nil && schemaHas(s.AdditionalProperties.Schema, pred) {
		return true
	}
	if s.Items != nil && schemaHas(s.Items.Schema, pred) {
		return true
	}
	for _, list := range [][]apiextensionsv1.JSONSchemaProps{s.AllOf, s.AnyOf, s.OneOf} {
		for i := range list {
			if schemaHas(&list[i], pred) {
				return true
			}
		}
	}
	return schemaHas(s.Not, pred)
}

// sortedKeys returns a map's keys in order so that errors come out in a
// stable order.
func sortedKeys(m map[string]apiextensionsv1.JSONSchemaProps) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validateConversionWebhook checks spec.conversion.webhook: a client
// config with exactly one of url (https, no user, query or fragment) and
// service, and at least one review version this server speaks.
func validateConversionWebhook(w *apiextensionsv1.WebhookConversion, p *field.Path) field.ErrorList {
	if w == nil || w.ClientConfig == nil {
		return field.ErrorList{field.Required(p.Child("clientConfig"), "required when strategy is set to Webhook")}
	}
	var errs field.ErrorList
	cc, cp := w.ClientConfig, p.Child("clientConfig")
	switch {
	case cc.URL == nil && cc.Service == nil:
		errs = append(errs, field.Required(cp, "exactly one of url or service is required"))
	case cc.URL != nil && cc.Service != nil:
		errs = append(errs, field.Required(cp, "exactly one of url or service is required"))
	case cc.URL != nil:
		u, err := url.Parse(*cc.URL)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(cp.Child("url"), *cc.URL, "must be a valid URL"))
		case u.Scheme != "https":
			errs = append(errs, field.Invalid(cp.Child("url"), *cc.URL, "'https' is the only allowed URL scheme"))
		case u.Host == "":
			errs = append(errs, field.Invalid(cp.Child("url"), *cc.URL, "host must be specified"))
		case u.User != nil:
			errs = append(errs, field.Invalid(cp.Child("url"), *cc.URL, "user information is not permitted in the URL"))
		case u.Fragment != "" || u.RawQuery != "":
			errs = append(errs, field.Invalid(cp.Child("url"), *cc.URL, "fragments and query parameters are not permitted in the URL"))
		}
	default:
		sp := cp.Child("service")
		if cc.Service.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), "service name is required"))
		}
		if cc.Service.Namespace == "" {
			errs = append(errs, field.Required(sp.Child("namespace"), "service namespace is required"))
		}
		if cc.Service.Port != nil && (*cc.Service.Port < 1 || *cc.Service.Port > 65535) {
			errs = append(errs, field.Invalid(sp.Child("port"), *cc.Service.Port, "port is not valid: must be between 1 and 65535, inclusive"))
		}
	}
	supported := false
	for _, v := range w.ConversionReviewVersions {
		if v == "v1" || v == "v1beta1" {
			supported = true
		}
	}
	if !supported {
		errs = append(errs, field.Invalid(p.Child("conversionReviewVersions"), w.ConversionReviewVersions,
			"must include at least one of v1, v1beta1"))
	}
	return errs
}
