package crd

import (
	"context"
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	schemacel "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/model"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// CEL validation rules (x-kubernetes-validations), with upstream's
// libraries, so functions, cost limits and messages are kube-apiserver's.

// structural converts a v1 schema to the structural form upstream's CEL
// packages work on.
func structural(props *apiextensionsv1.JSONSchemaProps) (*structuralschema.Structural, error) {
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(props, internal, nil); err != nil {
		return nil, err
	}
	return structuralschema.NewStructural(internal)
}

// compileCEL returns the rule validator of a schema, nil when it has no
// rules.
func compileCEL(props *apiextensionsv1.JSONSchemaProps) (*schemacel.Validator, *structuralschema.Structural, error) {
	ss, err := structural(props)
	if err != nil {
		return nil, nil, err
	}
	return schemacel.NewValidator(ss, true, celconfig.PerCallLimit), ss, nil
}

// ValidateRules evaluates the schema's x-kubernetes-validations rules on
// obj (old is the stored object on update, for transition rules; nil on
// create). Errors name the field and carry the rule's message.
func (s *Schema) ValidateRules(ctx context.Context, obj, old map[string]interface{}) field.ErrorList {
	if s.cel == nil {
		return nil
	}
	var oldObj interface{}
	if old != nil {
		oldObj = old
	}
	errs, _ := s.cel.Validate(ctx, nil, s.structural, obj, oldObj, celconfig.RuntimeCELCostBudget)
	return errs
}

// HasRules reports whether the schema has CEL rules.
func (s *Schema) HasRules() bool { return s.cel != nil }

// validateRuleCompilation compiles every rule of a version's schema and
// reports the ones that do not compile, or cost too much, at the path of
// their x-kubernetes-validations entry.
func validateRuleCompilation(props *apiextensionsv1.JSONSchemaProps, p *field.Path) field.ErrorList {
	if !schemaHas(props, func(s *apiextensionsv1.JSONSchemaProps) bool { return len(s.XValidations) > 0 }) {
		return nil
	}
	ss, err := structural(props)
	if err != nil {
		// Structural problems are reported by the schema checks.
		return nil
	}
	envSet := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
	return ruleErrors(ss, model.SchemaDeclType(ss, true), p, envSet)
}

func ruleErrors(s *structuralschema.Structural, declType *apiservercel.DeclType, p *field.Path, envSet *environment.EnvSet) field.ErrorList {
	var errs field.ErrorList
	if len(s.XValidations) > 0 {
		results, err := schemacel.Compile(s, declType, celconfig.PerCallLimit, envSet, schemacel.NewExpressionsEnvLoader())
		if err != nil {
			errs = append(errs, field.Invalid(p.Child("x-kubernetes-validations"), len(s.XValidations), fmt.Sprintf("rule compiler initialization error: %v", err)))
		}
		for i, r := range results {
			rp := p.Child("x-kubernetes-validations").Index(i)
			if r.Error != nil {
				errs = append(errs, field.Invalid(rp.Child("rule"), s.XValidations[i].Rule, "compilation failed: "+r.Error.Detail))
			}
			if r.MessageExpressionError != nil {
				errs = append(errs, field.Invalid(rp.Child("messageExpression"), s.XValidations[i].MessageExpression, "messageExpression compilation failed: "+r.MessageExpressionError.Detail))
			}
		}
	}
	if declType == nil {
		return errs
	}
	for name, prop := range s.Properties {
		prop := prop
		escaped, ok := apiservercel.Escape(name)
		if !ok {
			continue
		}
		if f, ok := declType.Fields[escaped]; ok {
			errs = append(errs, ruleErrors(&prop, f.Type, p.Child("properties").Key(name), envSet)...)
		}
	}
	if s.Items != nil {
		errs = append(errs, ruleErrors(s.Items, declType.ElemType, p.Child("items"), envSet)...)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil {
		errs = append(errs, ruleErrors(s.AdditionalProperties.Structural, declType.ElemType, p.Child("additionalProperties"), envSet)...)
	}
	return errs
}
