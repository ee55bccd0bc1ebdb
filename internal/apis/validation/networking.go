package validation

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits of an EndpointSlice, as kube-apiserver enforces them.
const (
	maxSliceEndpoints = 1000
	maxSliceAddresses = 100
	maxSlicePorts     = 20000
)

var (
	sliceAddressTypes = []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6, discoveryv1.AddressTypeFQDN}
	portProtocols     = []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}
	pathTypes         = []networkingv1.PathType{networkingv1.PathTypeExact, networkingv1.PathTypeImplementationSpecific, networkingv1.PathTypePrefix}
	// ingressPath is what an Exact or Prefix path may contain.
	ingressPath = regexp.MustCompile(`^/[A-Za-z0-9/\-._~%!$&'()*+,;=:]*$`)
	// badPathParts may not appear in Exact or Prefix paths: proxies
	// normalise them differently.
	badPathParts = []string{"//", "/./", "/../", "%2f", "%2F"}
	badPathEnds  = []string{"/..", "/."}
)

func invalidMsgs(p *field.Path, v interface{}, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, m := range msgs {
		errs = append(errs, field.Invalid(p, v, m))
	}
	return errs
}

// validateEndpointSlice checks the address type, every endpoint's
// addresses against it, and the ports.
func validateEndpointSlice(s *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	at := field.NewPath("addressType")
	known := false
	for _, t := range sliceAddressTypes {
		known = known || s.AddressType == t
	}
	if s.AddressType == "" {
		errs = append(errs, field.Required(at, ""))
	} else if !known {
		errs = append(errs, field.NotSupported(at, s.AddressType, sliceAddressTypes))
	}
	ep := field.NewPath("endpoints")
	if len(s.Endpoints) > maxSliceEndpoints {
		errs = append(errs, field.TooMany(ep, len(s.Endpoints), maxSliceEndpoints))
	}
	for i, e := range s.Endpoints {
		p := ep.Index(i)
		ap := p.Child("addresses")
		switch {
		case len(e.Addresses) == 0:
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		case len(e.Addresses) > maxSliceAddresses:
			errs = append(errs, field.TooMany(ap, len(e.Addresses), maxSliceAddresses))
		}
		for j, a := range e.Addresses {
			if known {
				errs = append(errs, validateSliceAddress(s.AddressType, a, ap.Index(j))...)
			}
		}
		if e.NodeName != nil {
			errs = append(errs, invalidMsgs(p.Child("nodeName"), *e.NodeName, utilvalidation.IsDNS1123Subdomain(*e.NodeName))...)
		}
		if e.Hostname != nil {
			errs = append(errs, invalidMsgs(p.Child("hostname"), *e.Hostname, utilvalidation.IsDNS1123Label(*e.Hostname))...)
		}
		errs = append(errs, metav1validation.ValidateLabels(e.DeprecatedTopology, p.Child("deprecatedTopology"))...)
	}
	pp := field.NewPath("ports")
	if len(s.Ports) > maxSlicePorts {
		errs = append(errs, field.TooMany(pp, len(s.Ports), maxSlicePorts))
	}
	names := map[string]bool{}
	for i, port := range s.Ports {
		p := pp.Index(i)
		if port.Name == nil {
			errs = append(errs, field.Required(p.Child("name"), ""))
		} else {
			if *port.Name != "" {
				errs = append(errs, invalidMsgs(p.Child("name"), *port.Name, utilvalidation.IsDNS1123Label(*port.Name))...)
			}
			if names[*port.Name] {
				errs = append(errs, field.Duplicate(p.Child("name"), *port.Name))
			}
			names[*port.Name] = true
		}
		if port.Protocol == nil {
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		} else {
			errs = append(errs, validateProtocol(*port.Protocol, p.Child("protocol"))...)
		}
		if port.Port != nil && (*port.Port < 0 || *port.Port > 65535) {
			errs = append(errs, invalidMsgs(p.Child("port"), *port.Port, utilvalidation.IsValidPortNum(int(*port.Port)))...)
		}
		if port.AppProtocol != nil {
			errs = append(errs, validateQualifiedName(*port.AppProtocol, p.Child("appProtocol"))...)
		}
	}
	return errs
}

func validateSliceAddress(t discoveryv1.AddressType, a string, p *field.Path) field.ErrorList {
	switch t {
	case discoveryv1.AddressTypeIPv4:
		if ip, err := netip.ParseAddr(a); err != nil || !ip.Is4() {
			return field.ErrorList{field.Invalid(p, a, "must be a valid IPv4 address")}
		}
	case discoveryv1.AddressTypeIPv6:
		if ip, err := netip.ParseAddr(a); err != nil || !ip.Is6() {
			return field.ErrorList{field.Invalid(p, a, "must be a valid IPv6 address")}
		}
	case discoveryv1.AddressTypeFQDN:
		return utilvalidation.IsFullyQualifiedDomainName(p, a)
	}
	return nil
}

func validateEndpointSliceUpdate(s, old *discoveryv1.EndpointSlice) field.ErrorList {
	return apivalidation.ValidateImmutableField(s.AddressType, old.AddressType, field.NewPath("addressType"))
}

// validateIngress checks the spec: a default backend or rules, each
// backend a service (name and port) or a resource, each path with a
// pathType, hosts as DNS names.
func validateIngress(in *networkingv1.Ingress) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if len(in.Spec.Rules) == 0 && in.Spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(spec, in.Spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if in.Spec.DefaultBackend != nil {
		errs = append(errs, validateIngressBackend(in.Spec.DefaultBackend, spec.Child("defaultBackend"))...)
	}
	for i, r := range in.Spec.Rules {
		rp := spec.Child("rules").Index(i)
		if r.Host != "" {
			errs = append(errs, validateIngressHost(r.Host, rp.Child("host"))...)
		}
		if r.HTTP == nil {
			continue
		}
		hp := rp.Child("http", "paths")
		if len(r.HTTP.Paths) == 0 {
			errs = append(errs, field.Required(hp, ""))
		}
		for j, path := range r.HTTP.Paths {
			pp := hp.Index(j)
			errs = append(errs, validateIngressPath(path.Path, path.PathType, pp)...)
			errs = append(errs, validateIngressBackend(&path.Backend, pp.Child("backend"))...)
		}
	}
	for i, tls := range in.Spec.TLS {
		for j, h := range tls.Hosts {
			errs = append(errs, validateIngressHost(h, spec.Child("tls").Index(i).Child("hosts").Index(j))...)
		}
		if tls.SecretName != "" {
			errs = append(errs, invalidMsgs(spec.Child("tls").Index(i).Child("secretName"), tls.SecretName, utilvalidation.IsDNS1123Subdomain(tls.SecretName))...)
		}
	}
	if c := in.Spec.IngressClassName; c != nil {
		errs = append(errs, invalidMsgs(spec.Child("ingressClassName"), *c, utilvalidation.IsDNS1123Subdomain(*c))...)
	}
	return errs
}

// validateIngressHost accepts DNS names, with a leading "*." wildcard,
// never IP addresses.
func validateIngressHost(h string, p *field.Path) field.ErrorList {
	if _, err := netip.ParseAddr(h); err == nil {
		return field.ErrorList{field.Invalid(p, h, "must be a DNS name, not an IP address")}
	}
	if strings.Contains(h, "*") {
		return invalidMsgs(p, h, utilvalidation.IsWildcardDNS1123Subdomain(h))
	}
	return invalidMsgs(p, h, utilvalidation.IsDNS1123Subdomain(h))
}

func validateIngressPath(path string, pt *networkingv1.PathType, p *field.Path) field.ErrorList {
	if pt == nil {
		return field.ErrorList{field.Required(p.Child("pathType"), "pathType must be specified")}
	}
	switch *pt {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(path, "/") {
			return field.ErrorList{field.Invalid(p.Child("path"), path, "must be an absolute path")}
		}
		for _, bad := range badPathParts {
			if strings.Contains(path, bad) {
				return field.ErrorList{field.Invalid(p.Child("path"), path, fmt.Sprintf("must not contain '%s'", bad))}
			}
		}
		for _, bad := range badPathEnds {
			if strings.HasSuffix(path, bad) {
				return field.ErrorList{field.Invalid(p.Child("path"), path, fmt.Sprintf("cannot end with '%s'", bad))}
			}
		}
		if !ingressPath.MatchString(path) {
			return field.ErrorList{field.Invalid(p.Child("path"), path, "must match the regex "+ingressPath.String())}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if path != "" && !strings.HasPrefix(path, "/") {
			return field.ErrorList{field.Invalid(p.Child("path"), path, "must be an absolute path")}
		}
	default:
		return field.ErrorList{field.NotSupported(p.Child("pathType"), *pt, pathTypes)}
	}
	return nil
}

// validateIngressBackend: exactly one of service and resource; a service
// backend names a service and one port, by name or number.
func validateIngressBackend(b *networkingv1.IngressBackend, p *field.Path) field.ErrorList {
	switch {
	case b.Service != nil && b.Resource != nil:
		return field.ErrorList{field.Invalid(p, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateTypedRef(b.Resource, p.Child("resource"))
	case b.Service != nil:
		var errs field.ErrorList
		sp := p.Child("service")
		if b.Service.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), ""))
		} else {
			errs = append(errs, invalidMsgs(sp.Child("name"), b.Service.Name, utilvalidation.IsDNS1035Label(b.Service.Name))...)
		}
		port := b.Service.Port
		switch {
		case port.Name != "" && port.Number != 0:
			errs = append(errs, field.Invalid(sp.Child("port"), port, "cannot set both port name & port number"))
		case port.Name != "":
			errs = append(errs, invalidMsgs(sp.Child("port", "name"), port.Name, utilvalidation.IsValidPortName(port.Name))...)
		case port.Number != 0:
			errs = append(errs, invalidMsgs(sp.Child("port", "number"), port.Number, utilvalidation.IsValidPortNum(int(port.Number)))...)
		default:
			errs = append(errs, field.Required(sp.Child("port"), "port name or number is required"))
		}
		return errs
	}
	return field.ErrorList{field.Invalid(p, "", "resource or service backend is required")}
}

func validateTypedRef(r *corev1.TypedLocalObjectReference, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if r.Kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), "kind is required"))
	}
	if r.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), "name is required"))
	}
	if r.APIGroup != nil && *r.APIGroup != "" {
		errs = append(errs, invalidMsgs(p.Child("apiGroup"), *r.APIGroup, utilvalidation.IsDNS1123Subdomain(*r.APIGroup))...)
	}
	return errs
}

// validateIngressStatus checks the load balancer addresses a controller
// reports.
func validateIngressStatus(st *networkingv1.IngressStatus) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("status", "loadBalancer", "ingress")
	for i, lb := range st.LoadBalancer.Ingress {
		if lb.IP != "" {
			if _, err := netip.ParseAddr(lb.IP); err != nil {
				errs = append(errs, field.Invalid(p.Index(i).Child("ip"), lb.IP, "must be a valid IP address"))
			}
		}
		if lb.Hostname != "" {
			errs = append(errs, invalidMsgs(p.Index(i).Child("hostname"), lb.Hostname, utilvalidation.IsDNS1123Subdomain(lb.Hostname))...)
			if _, err := netip.ParseAddr(lb.Hostname); err == nil {
				errs = append(errs, field.Invalid(p.Index(i).Child("hostname"), lb.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

// validateIngressClass: a domain-prefixed controller name and, when
// given, a parameters reference whose namespace matches its scope.
func validateIngressClass(c *networkingv1.IngressClass) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	cp := spec.Child("controller")
	switch {
	case c.Spec.Controller == "":
		errs = append(errs, field.Required(cp, ""))
	case len(c.Spec.Controller) > 250:
		errs = append(errs, field.TooLong(cp, "", 250))
	default:
		errs = append(errs, utilvalidation.IsDomainPrefixedPath(cp, c.Spec.Controller)...)
	}
	if pr := c.Spec.Parameters; pr != nil {
		pp := spec.Child("parameters")
		errs = append(errs, validateTypedRef(&corev1.TypedLocalObjectReference{APIGroup: pr.APIGroup, Kind: pr.Kind, Name: pr.Name}, pp)...)
		scopes := []string{networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace}
		switch {
		case pr.Scope == nil:
			errs = append(errs, field.Required(pp.Child("scope"), ""))
		case *pr.Scope == networkingv1.IngressClassParametersReferenceScopeNamespace:
			if pr.Namespace == nil {
				errs = append(errs, field.Required(pp.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
			} else {
				errs = append(errs, invalidMsgs(pp.Child("namespace"), *pr.Namespace, utilvalidation.IsDNS1123Label(*pr.Namespace))...)
			}
		case *pr.Scope == networkingv1.IngressClassParametersReferenceScopeCluster:
			if pr.Namespace != nil {
				errs = append(errs, field.Forbidden(pp.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
			}
		default:
			errs = append(errs, field.NotSupported(pp.Child("scope"), *pr.Scope, scopes))
		}
	}
	return errs
}

func validateIngressClassUpdate(c, old *networkingv1.IngressClass) field.ErrorList {
	return apivalidation.ValidateImmutableField(c.Spec.Controller, old.Spec.Controller, field.NewPath("spec", "controller"))
}

// validateNetworkPolicy checks selectors, peers, ports and policy types.
func validateNetworkPolicy(np *networkingv1.NetworkPolicy) field.ErrorList {
	spec := field.NewPath("spec")
	opts := metav1validation.LabelSelectorValidationOptions{}
	errs := metav1validation.ValidateLabelSelector(&np.Spec.PodSelector, opts, spec.Child("podSelector"))
	for i, r := range np.Spec.Ingress {
		p := spec.Child("ingress").Index(i)
		errs = append(errs, validatePolicyPorts(r.Ports, p.Child("ports"))...)
		for j, peer := range r.From {
			errs = append(errs, validatePolicyPeer(&peer, p.Child("from").Index(j))...)
		}
	}
	for i, r := range np.Spec.Egress {
		p := spec.Child("egress").Index(i)
		errs = append(errs, validatePolicyPorts(r.Ports, p.Child("ports"))...)
		for j, peer := range r.To {
			errs = append(errs, validatePolicyPeer(&peer, p.Child("to").Index(j))...)
		}
	}
	allowed := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	tp := spec.Child("policyTypes")
	for i, t := range np.Spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(tp.Index(i), t, allowed))
		}
	}
	if len(np.Spec.PolicyTypes) > len(allowed) {
		errs = append(errs, field.Invalid(tp, np.Spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	return errs
}

func validatePolicyPorts(ports []networkingv1.NetworkPolicyPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, port := range ports {
		pp := p.Index(i)
		if port.Protocol != nil {
			if !knownProtocol(*port.Protocol) {
				errs = append(errs, field.NotSupported(pp.Child("protocol"), *port.Protocol, portProtocols))
			}
		}
		if port.Port != nil {
			if port.Port.Type == intstr.Int {
				errs = append(errs, invalidMsgs(pp.Child("port"), port.Port.IntVal, utilvalidation.IsValidPortNum(int(port.Port.IntVal)))...)
				if port.EndPort != nil {
					if *port.EndPort < port.Port.IntVal {
						errs = append(errs, field.Invalid(pp.Child("endPort"), *port.EndPort, "must be greater than or equal to `port`"))
					}
					errs = append(errs, invalidMsgs(pp.Child("endPort"), *port.EndPort, utilvalidation.IsValidPortNum(int(*port.EndPort)))...)
				}
			} else {
				if port.EndPort != nil {
					errs = append(errs, field.Invalid(pp.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
				}
				errs = append(errs, invalidMsgs(pp.Child("port"), port.Port.StrVal, utilvalidation.IsValidPortName(port.Port.StrVal))...)
			}
		} else if port.EndPort != nil {
			errs = append(errs, field.Invalid(pp.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	}
	return errs
}

func knownProtocol(p corev1.Protocol) bool {
	for _, k := range portProtocols {
		if p == k {
			return true
		}
	}
	return false
}

// validatePolicyPeer: pod and namespace selectors may go together, an
// ipBlock stands alone, and a peer must say something.
func validatePolicyPeer(peer *networkingv1.NetworkPolicyPeer, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	opts := metav1validation.LabelSelectorValidationOptions{}
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, opts, p.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, opts, p.Child("namespaceSelector"))...)
	}
	if b := peer.IPBlock; b != nil {
		if n > 0 {
			errs = append(errs, field.Forbidden(p, "may not specify both ipBlock and another peer"))
		}
		n++
		errs = append(errs, validateIPBlock(b, p.Child("ipBlock"))...)
	}
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a peer"))
	}
	return errs
}

func validateIPBlock(b *networkingv1.IPBlock, p *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(p.Child("cidr"), "")}
	}
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return field.ErrorList{field.Invalid(p.Child("cidr"), b.CIDR, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")}
	}
	var errs field.ErrorList
	for i, ex := range b.Except {
		ep := p.Child("except").Index(i)
		e, err := netip.ParsePrefix(ex)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(ep, ex, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
		case e.Addr().Is4() != cidr.Addr().Is4() || e.Bits() <= cidr.Bits() || !cidr.Contains(e.Addr()):
			errs = append(errs, field.Invalid(ep, ex, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}
