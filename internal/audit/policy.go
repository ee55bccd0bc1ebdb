package audit

import (
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// Level says how much of a request is recorded. Levels are ordered:
// None < Metadata < Request < RequestResponse.
type Level string

// The audit levels of audit.k8s.io/v1.
const (
	// LevelNone records nothing.
	LevelNone Level = "None"
	// LevelMetadata records who asked what and the response status, no bodies.
	LevelMetadata Level = "Metadata"
	// LevelRequest adds the request body.
	LevelRequest Level = "Request"
	// LevelRequestResponse adds the request and the response bodies.
	LevelRequestResponse Level = "RequestResponse"
)

// rank orders levels; unknown levels rank -1.
func (l Level) rank() int {
	switch l {
	case LevelNone:
		return 0
	case LevelMetadata:
		return 1
	case LevelRequest:
		return 2
	case LevelRequestResponse:
		return 3
	}
	return -1
}

// Less reports whether l records less than o.
func (l Level) Less(o Level) bool { return l.rank() < o.rank() }

// AtLeast reports whether l records at least as much as o.
func (l Level) AtLeast(o Level) bool { return l.rank() >= o.rank() }

// Stage is the point in a request's life an event was written at.
type Stage string

// The stages of audit.k8s.io/v1.
const (
	// StageRequestReceived is written as soon as the request is received,
	// before the handler runs.
	StageRequestReceived Stage = "RequestReceived"
	// StageResponseStarted is written when the response headers are sent,
	// for long-running requests (watch) only.
	StageResponseStarted Stage = "ResponseStarted"
	// StageResponseComplete is written when the response is complete.
	StageResponseComplete Stage = "ResponseComplete"
	// StagePanic is written when the handler panicked.
	StagePanic Stage = "Panic"
)

func (s Stage) valid() bool {
	switch s {
	case StageRequestReceived, StageResponseStarted, StageResponseComplete, StagePanic:
		return true
	}
	return false
}

// PolicyAPIVersion and PolicyKind identify a policy document.
const (
	PolicyAPIVersion = "audit.k8s.io/v1"
	PolicyKind       = "Policy"
)

// Policy mirrors audit.k8s.io/v1 Policy: rules evaluated in order, the
// first that matches decides the level. A request no rule matches gets
// LevelNone.
type Policy struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	// Metadata is accepted and ignored, as in Kubernetes policy files.
	Metadata map[string]any `json:"metadata,omitempty"`
	Rules    []PolicyRule   `json:"rules"`
	// OmitStages are never written, for any rule.
	OmitStages []Stage `json:"omitStages,omitempty"`
	// OmitManagedFields drops metadata.managedFields from recorded
	// bodies unless a rule says otherwise.
	OmitManagedFields bool `json:"omitManagedFields,omitempty"`
}

// PolicyRule maps requests to a level. Every non-empty selector must
// match; an empty selector matches everything.
type PolicyRule struct {
	Level Level `json:"level"`
	// Users matches the user name.
	Users []string `json:"users,omitempty"`
	// UserGroups matches when the user is in any of the groups.
	UserGroups []string `json:"userGroups,omitempty"`
	// Verbs matches the request verb (get, list, watch, create, ... for
	// resources; the lower-case HTTP method otherwise).
	Verbs []string `json:"verbs,omitempty"`
	// Resources restricts the rule to resource requests of these
	// groups/resources.
	Resources []GroupResources `json:"resources,omitempty"`
	// Namespaces restricts the rule to resource requests in these
	// namespaces; "" is cluster-scoped resources.
	Namespaces []string `json:"namespaces,omitempty"`
	// NonResourceURLs restricts the rule to non-resource requests whose
	// path is listed; a trailing "*" matches a prefix.
	NonResourceURLs []string `json:"nonResourceURLs,omitempty"`
	// OmitStages are added to the policy's.
	OmitStages []Stage `json:"omitStages,omitempty"`
	// OmitManagedFields overrides the policy's value when set.
	OmitManagedFields *bool `json:"omitManagedFields,omitempty"`
}

// GroupResources selects resources of one API group ("" is core).
// Resources may be "pods", "pods/log" (a subresource), "pods/*",
// "*/scale" or "*"; empty means every resource of the group.
// ResourceNames, when set, restricts to those object names.
type GroupResources struct {
	Group         string   `json:"group,omitempty"`
	Resources     []string `json:"resources,omitempty"`
	ResourceNames []string `json:"resourceNames,omitempty"`
}

// LoadPolicy reads and validates the policy file at path (YAML or JSON).
func LoadPolicy(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit policy: %w", err)
	}
	p, err := ParsePolicy(data)
	if err != nil {
		return nil, fmt.Errorf("audit policy %s: %w", path, err)
	}
	return p, nil
}

// ParsePolicy decodes a YAML or JSON policy strictly (unknown fields are
// errors) and validates it.
func ParsePolicy(data []byte) (*Policy, error) {
	var p Policy
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		return nil, fmt.Errorf("decoding audit policy: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks the kind, the apiVersion, every level and stage, and
// that no rule mixes resource and non-resource selectors. Errors name
// the rule and the offending value.
func (p *Policy) Validate() error {
	if p.Kind != PolicyKind {
		return fmt.Errorf("audit policy: kind %q, want %q", p.Kind, PolicyKind)
	}
	if p.APIVersion != PolicyAPIVersion {
		return fmt.Errorf("audit policy: apiVersion %q, want %q", p.APIVersion, PolicyAPIVersion)
	}
	if err := validStages(p.OmitStages); err != nil {
		return fmt.Errorf("audit policy omitStages: %w", err)
	}
	for i, r := range p.Rules {
		if err := r.validate(); err != nil {
			return fmt.Errorf("audit policy rules[%d]: %w", i, err)
		}
	}
	return nil
}

func (r *PolicyRule) validate() error {
	if r.Level.rank() < 0 {
		return fmt.Errorf("unknown level %q (want None, Metadata, Request or RequestResponse)", r.Level)
	}
	if err := validStages(r.OmitStages); err != nil {
		return fmt.Errorf("omitStages: %w", err)
	}
	if len(r.NonResourceURLs) > 0 && (len(r.Resources) > 0 || len(r.Namespaces) > 0) {
		return fmt.Errorf("a rule cannot have both nonResourceURLs and resources or namespaces")
	}
	for _, u := range r.NonResourceURLs {
		if !strings.HasPrefix(u, "/") && u != "*" {
			return fmt.Errorf("nonResourceURL %q must start with /", u)
		}
		if i := strings.Index(u, "*"); i >= 0 && i != len(u)-1 {
			return fmt.Errorf("nonResourceURL %q: * is only allowed at the end", u)
		}
	}
	for _, gr := range r.Resources {
		for _, res := range gr.Resources {
			if res == "" {
				return fmt.Errorf("group %q: empty resource", gr.Group)
			}
		}
	}
	return nil
}

func validStages(stages []Stage) error {
	for _, s := range stages {
		if !s.valid() {
			return fmt.Errorf("unknown stage %q", s)
		}
	}
	return nil
}
