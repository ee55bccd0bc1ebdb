package validation

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxClientIPTimeout is the longest ClientIP session affinity (one day).
const maxClientIPTimeout = 86400

func validateService(s *corev1.Service) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	headless := s.Spec.ClusterIP == corev1.ClusterIPNone

	switch s.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	case corev1.ServiceTypeExternalName:
		if s.Spec.ClusterIP != "" || len(s.Spec.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(spec.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if s.Spec.ExternalName == "" {
			errs = append(errs, field.Required(spec.Child("externalName"), ""))
		} else {
			for _, msg := range utilvalidation.IsDNS1123Subdomain(s.Spec.ExternalName) {
				errs = append(errs, field.Invalid(spec.Child("externalName"), s.Spec.ExternalName, msg))
			}
		}
	case "":
		errs = append(errs, field.Required(spec.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(spec.Child("type"), s.Spec.Type, []corev1.ServiceType{
			corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort}))
	}

	if s.Spec.ClusterIP != "" && !headless {
		errs = append(errs, utilvalidation.IsValidIP(spec.Child("clusterIP"), s.Spec.ClusterIP)...)
	}
	if headless && (s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer) {
		errs = append(errs, field.Invalid(spec.Child("clusterIPs").Index(0), s.Spec.ClusterIP,
			fmt.Sprintf("may not be set to 'None' for %s services", s.Spec.Type)))
	}
	if len(s.Spec.ClusterIPs) > 0 && s.Spec.ClusterIP != "" && s.Spec.ClusterIPs[0] != s.Spec.ClusterIP {
		errs = append(errs, field.Invalid(spec.Child("clusterIPs"), s.Spec.ClusterIPs, "first value must match `clusterIP`"))
	}

	if len(s.Spec.Ports) == 0 && !headless && s.Spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(spec.Child("ports"), ""))
	}
	errs = append(errs, validateServicePorts(s, spec.Child("ports"))...)

	errs = append(errs, metav1validation.ValidateLabels(s.Spec.Selector, spec.Child("selector"))...)

	switch s.Spec.SessionAffinity {
	case corev1.ServiceAffinityNone:
		if s.Spec.SessionAffinityConfig != nil {
			errs = append(errs, field.Forbidden(spec.Child("sessionAffinityConfig"),
				fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone)))
		}
	case corev1.ServiceAffinityClientIP:
		if c := s.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil {
			if t := *c.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPTimeout {
				errs = append(errs, field.Invalid(spec.Child("sessionAffinityConfig", "clientIP", "timeoutSeconds"), t,
					fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPTimeout)))
			}
		}
	case "":
		errs = append(errs, field.Required(spec.Child("sessionAffinity"), ""))
	default:
		errs = append(errs, field.NotSupported(spec.Child("sessionAffinity"), s.Spec.SessionAffinity,
			[]corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone}))
	}

	for i, ip := range s.Spec.ExternalIPs {
		errs = append(errs, utilvalidation.IsValidIP(spec.Child("externalIPs").Index(i), ip)...)
	}

	etp := s.Spec.ExternalTrafficPolicy
	exposed := s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer
	switch {
	case etp == "":
	case !exposed:
		errs = append(errs, field.Invalid(spec.Child("externalTrafficPolicy"), etp,
			"may only be set when `type` is 'NodePort' or 'LoadBalancer'"))
	case etp != corev1.ServiceExternalTrafficPolicyCluster && etp != corev1.ServiceExternalTrafficPolicyLocal:
		errs = append(errs, field.NotSupported(spec.Child("externalTrafficPolicy"), etp, []corev1.ServiceExternalTrafficPolicy{
			corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal}))
	}
	if p := s.Spec.InternalTrafficPolicy; p != nil && *p != corev1.ServiceInternalTrafficPolicyCluster && *p != corev1.ServiceInternalTrafficPolicyLocal {
		errs = append(errs, field.NotSupported(spec.Child("internalTrafficPolicy"), *p, []corev1.ServiceInternalTrafficPolicy{
			corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal}))
	}
	if p := s.Spec.IPFamilyPolicy; p != nil {
		switch *p {
		case corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack:
		default:
			errs = append(errs, field.NotSupported(spec.Child("ipFamilyPolicy"), *p, []corev1.IPFamilyPolicy{
				corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack}))
		}
	}
	for i, f := range s.Spec.IPFamilies {
		if f != corev1.IPv4Protocol && f != corev1.IPv6Protocol {
			errs = append(errs, field.NotSupported(spec.Child("ipFamilies").Index(i), f, []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}))
		}
	}
	return errs
}

func validateServicePorts(s *corev1.Service, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := map[string]bool{}
	type portKey struct {
		port  int32
		proto corev1.Protocol
	}
	seen := map[portKey]bool{}
	for i, port := range s.Spec.Ports {
		ip := p.Index(i)
		if len(s.Spec.Ports) > 1 && port.Name == "" {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		} else if port.Name != "" {
			for _, msg := range utilvalidation.IsDNS1123Label(port.Name) {
				errs = append(errs, field.Invalid(ip.Child("name"), port.Name, msg))
			}
			if names[port.Name] {
				errs = append(errs, field.Duplicate(ip.Child("name"), port.Name))
			}
			names[port.Name] = true
		}
		for _, msg := range utilvalidation.IsValidPortNum(int(port.Port)) {
			errs = append(errs, field.Invalid(ip.Child("port"), port.Port, msg))
		}
		errs = append(errs, validateProtocol(port.Protocol, ip.Child("protocol"))...)
		switch port.TargetPort.Type {
		case intstr.Int:
			// 0 means "same as port" before defaulting.
			if port.TargetPort.IntVal != 0 {
				for _, msg := range utilvalidation.IsValidPortNum(int(port.TargetPort.IntVal)) {
					errs = append(errs, field.Invalid(ip.Child("targetPort"), port.TargetPort.IntVal, msg))
				}
			}
		case intstr.String:
			for _, msg := range utilvalidation.IsValidPortName(port.TargetPort.StrVal) {
				errs = append(errs, field.Invalid(ip.Child("targetPort"), port.TargetPort.StrVal, msg))
			}
		}
		if port.NodePort != 0 {
			if s.Spec.Type != corev1.ServiceTypeNodePort && s.Spec.Type != corev1.ServiceTypeLoadBalancer {
				errs = append(errs, field.Forbidden(ip.Child("nodePort"), fmt.Sprintf("may not be used when `type` is '%s'", s.Spec.Type)))
			}
			for _, msg := range utilvalidation.IsValidPortNum(int(port.NodePort)) {
				errs = append(errs, field.Invalid(ip.Child("nodePort"), port.NodePort, msg))
			}
		}
		k := portKey{port.Port, port.Protocol}
		if seen[k] {
			errs = append(errs, field.Duplicate(ip, strconv.Itoa(int(port.Port))+"/"+string(port.Protocol)))
		}
		seen[k] = true
	}
	return errs
}

// validateServiceUpdate keeps an allocated cluster IP: it may not change
// except when the service moves to or from ExternalName. An empty new
// clusterIP is not an error here: like kube-apiserver, the registry is
// expected to carry the allocated IP over before validation.
func validateServiceUpdate(s, old *corev1.Service) field.ErrorList {
	if s.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if old.Spec.ClusterIP != "" && s.Spec.ClusterIP != "" && s.Spec.ClusterIP != old.Spec.ClusterIP {
		return field.ErrorList{field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), s.Spec.ClusterIP, "may not change once set")}
	}
	return nil
}
