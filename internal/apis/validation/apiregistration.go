package validation

import (
	"fmt"
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// apiServiceName requires the name "version.group" ("v1." for the core
// group), so that one group version has one APIService.
func apiServiceName(s *apiregistrationv1.APIService) apivalidation.ValidateNameFunc {
	required := s.Spec.Version + "." + s.Spec.Group
	return func(name string, _ bool) []string {
		if msgs := path.IsValidPathSegmentName(name); len(msgs) > 0 {
			return msgs
		}
		if name != required {
			return []string{fmt.Sprintf("must be `spec.version+\".\"+spec.group`: %q", required)}
		}
		return nil
	}
}

// validateAPIService checks group, version, priorities and, for services
// not served locally, the service reference and TLS settings.
func validateAPIService(s *apiregistrationv1.APIService) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if s.Spec.Group == "" && s.Spec.Version != "v1" {
		errs = append(errs, field.Required(spec.Child("group"), "only v1 may have an empty group and it better be legacy kube"))
	}
	if s.Spec.Group != "" {
		errs = append(errs, invalidMsgs(spec.Child("group"), s.Spec.Group, utilvalidation.IsDNS1123Subdomain(s.Spec.Group))...)
	}
	errs = append(errs, invalidMsgs(spec.Child("version"), s.Spec.Version, utilvalidation.IsDNS1035Label(s.Spec.Version))...)
	if g := s.Spec.GroupPriorityMinimum; g <= 0 || g > 20000 {
		errs = append(errs, field.Invalid(spec.Child("groupPriorityMinimum"), g, "must be positive and less than 20000"))
	}
	if v := s.Spec.VersionPriority; v <= 0 || v > 1000 {
		errs = append(errs, field.Invalid(spec.Child("versionPriority"), v, "must be positive and less than 1000"))
	}
	if s.Spec.Service == nil {
		if len(s.Spec.CABundle) > 0 {
			errs = append(errs, field.Invalid(spec.Child("caBundle"), fmt.Sprintf("%d bytes", len(s.Spec.CABundle)), "local APIServices may not have a caBundle"))
		}
		if s.Spec.InsecureSkipTLSVerify {
			errs = append(errs, field.Invalid(spec.Child("insecureSkipTLSVerify"), s.Spec.InsecureSkipTLSVerify, "local APIServices may not have insecureSkipTLSVerify"))
		}
		return errs
	}
	sp := spec.Child("service")
	if s.Spec.Service.Namespace == "" {
		errs = append(errs, field.Required(sp.Child("namespace"), ""))
	}
	if s.Spec.Service.Name == "" {
		errs = append(errs, field.Required(sp.Child("name"), ""))
	}
	if s.Spec.Service.Port != nil {
		if msgs := utilvalidation.IsValidPortNum(int(*s.Spec.Service.Port)); len(msgs) > 0 {
			errs = append(errs, field.Invalid(sp.Child("port"), *s.Spec.Service.Port, "port is not valid: "+strings.Join(msgs, ", ")))
		}
	}
	if s.Spec.InsecureSkipTLSVerify && len(s.Spec.CABundle) > 0 {
		errs = append(errs, field.Invalid(spec.Child("insecureSkipTLSVerify"), s.Spec.InsecureSkipTLSVerify, "may not be true if caBundle is present"))
	}
	return errs
}

func validateAPIServiceStatus(s *apiregistrationv1.APIService) field.ErrorList {
	return validateFlowConditions(s.Status.Conditions,
		func(c apiregistrationv1.APIServiceCondition) string { return string(c.Type) },
		func(c apiregistrationv1.APIServiceCondition) string { return string(c.Status) })
}
