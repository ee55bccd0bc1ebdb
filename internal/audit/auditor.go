package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kastle-dev/kastle/internal/apiserver/request"
	"github.com/kastle-dev/kastle/internal/auth/user"
)

// DefaultMaxBodyBytes is how much of a request or response body is kept
// for the event when Config.MaxBodyBytes is 0: kube-apiserver's 3 MiB
// request limit.
const DefaultMaxBodyBytes = 3 << 20

// Annotation keys kastle adds to events.
const (
	// AnnotationLevelCapped says the policy asked for more than Metadata
	// on a sensitive resource and was overruled.
	AnnotationLevelCapped = "audit.kastle.dev/level-capped"
	// AnnotationBodyOmitted says why a body the level asked for is absent
	// (too large, not JSON).
	AnnotationBodyOmitted = "audit.kastle.dev/body-omitted"
	// AnnotationError says the audit filter refused the request.
	AnnotationError = "audit.kastle.dev/error"
)

// Config is what an Auditor needs. Policy, Out, Now and Log are required.
type Config struct {
	// Policy decides the level of each request.
	Policy *Policy
	// Out receives one JSON line per event, each in one Write call. It
	// need not be safe for concurrent use: the Auditor serializes writes.
	Out io.Writer
	// Now is the clock for event timestamps.
	Now func() time.Time
	// Log receives errors writing events.
	Log *slog.Logger
	// LongRunning reports requests whose response streams (they get a
	// ResponseStarted event and their response body is never recorded).
	// nil means watch requests only.
	LongRunning func(r *http.Request) bool
	// MaxBodyBytes caps each recorded body; a larger body is omitted and
	// the event says so. 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// Auditor evaluates the policy and writes events. It is safe for
// concurrent use.
type Auditor struct {
	policy  *Policy
	now     func() time.Time
	log     *slog.Logger
	longRun func(r *http.Request) bool
	maxBody int64

	mu  sync.Mutex
	out io.Writer
}

// NewAuditor validates c and returns an Auditor. A missing policy,
// writer, clock or logger is an error.
func NewAuditor(c Config) (*Auditor, error) {
	switch {
	case c.Policy == nil:
		return nil, errors.New("audit: no policy")
	case c.Out == nil:
		return nil, errors.New("audit: no output writer")
	case c.Now == nil:
		return nil, errors.New("audit: no clock")
	case c.Log == nil:
		return nil, errors.New("audit: no logger")
	case c.MaxBodyBytes < 0:
		return nil, fmt.Errorf("audit: negative MaxBodyBytes %d", c.MaxBodyBytes)
	}
	if err := c.Policy.Validate(); err != nil {
		return nil, err
	}
	a := &Auditor{policy: c.Policy, out: c.Out, now: c.Now, log: c.Log, longRun: c.LongRunning, maxBody: c.MaxBodyBytes}
	if a.maxBody == 0 {
		a.maxBody = DefaultMaxBodyBytes
	}
	if a.longRun == nil {
		a.longRun = func(r *http.Request) bool {
			info, ok := request.InfoFrom(r.Context())
			return ok && info.Verb == "watch"
		}
	}
	return a, nil
}

// Attributes is what the policy is evaluated on.
type Attributes struct {
	User *user.Info
	Info *request.Info
}

// Evaluate returns the level the policy gives a request, capped at
// Metadata for sensitive resources. Attributes with a nil User or Info
// evaluate to Metadata: never unaudited, never with bodies.
func (a *Auditor) Evaluate(attrs Attributes) Level {
	return a.decide(attrs).level
}

// stageSet is a set of stages as bits.
type stageSet uint8

func stageBit(s Stage) stageSet {
	switch s {
	case StageRequestReceived:
		return 1
	case StageResponseStarted:
		return 2
	case StageResponseComplete:
		return 4
	case StagePanic:
		return 8
	}
	return 0
}

func stagesOf(stages []Stage) stageSet {
	var set stageSet
	for _, s := range stages {
		set |= stageBit(s)
	}
	return set
}

func (s stageSet) has(st Stage) bool { return s&stageBit(st) != 0 }

// decision is the outcome of evaluating the policy for one request.
type decision struct {
	level             Level
	omit              stageSet
	omitManagedFields bool
	capped            bool
}

func (a *Auditor) decide(attrs Attributes) decision {
	d := decision{level: LevelNone, omit: stagesOf(a.policy.OmitStages), omitManagedFields: a.policy.OmitManagedFields}
	if attrs.User == nil || attrs.Info == nil {
		d.level = LevelMetadata
		return d
	}
	for i := range a.policy.Rules {
		r := &a.policy.Rules[i]
		if !r.matches(attrs.User, attrs.Info) {
			continue
		}
		d.level = r.Level
		d.omit |= stagesOf(r.OmitStages)
		if r.OmitManagedFields != nil {
			d.omitManagedFields = *r.OmitManagedFields
		}
		break
	}
	if LevelMetadata.Less(d.level) && Sensitive(attrs.Info) {
		d.level, d.capped = LevelMetadata, true
	}
	return d
}

// Sensitive reports whether bodies of the request may hold credentials
// and so are never recorded: core Secrets, serviceaccounts/token
// (TokenRequest) and tokenreviews.
func Sensitive(info *request.Info) bool {
	if info == nil || !info.IsResourceRequest {
		return false
	}
	switch info.APIGroup {
	case "":
		return info.Resource == "secrets" || (info.Resource == "serviceaccounts" && info.Subresource == "token")
	case "authentication.k8s.io":
		return info.Resource == "tokenreviews"
	}
	return false
}

func (r *PolicyRule) matches(u *user.Info, info *request.Info) bool {
	if len(r.Users) > 0 && !contains(r.Users, u.Name) {
		return false
	}
	if len(r.UserGroups) > 0 && !anyIn(u.Groups, r.UserGroups) {
		return false
	}
	if len(r.Verbs) > 0 && !contains(r.Verbs, info.Verb) {
		return false
	}
	resourceRule := len(r.Resources) > 0 || len(r.Namespaces) > 0
	nonResourceRule := len(r.NonResourceURLs) > 0
	if info.IsResourceRequest {
		return !nonResourceRule && r.matchesResource(info)
	}
	if resourceRule {
		return false
	}
	return !nonResourceRule || matchesURL(r.NonResourceURLs, info.Path)
}

func (r *PolicyRule) matchesResource(info *request.Info) bool {
	if len(r.Namespaces) > 0 && !contains(r.Namespaces, info.Namespace) {
		return false
	}
	if len(r.Resources) == 0 {
		return true
	}
	full := info.Resource
	if info.Subresource != "" {
		full += "/" + info.Subresource
	}
	for _, gr := range r.Resources {
		if gr.Group != info.APIGroup {
			continue
		}
		if len(gr.ResourceNames) > 0 && !contains(gr.ResourceNames, info.Name) {
			continue
		}
		if len(gr.Resources) == 0 {
			return true
		}
		for _, res := range gr.Resources {
			switch {
			case res == "*" || res == full:
				return true
			case strings.HasPrefix(res, "*/") && info.Subresource != "" && res[2:] == info.Subresource:
				return true
			case strings.HasSuffix(res, "/*") && res[:len(res)-2] == info.Resource:
				return true
			}
		}
	}
	return false
}

func matchesURL(patterns []string, path string) bool {
	for _, p := range patterns {
		if p == path || p == "*" {
			return true
		}
		if strings.HasSuffix(p, "*") && strings.HasPrefix(path, p[:len(p)-1]) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func anyIn(have, want []string) bool {
	for _, h := range have {
		if contains(want, h) {
			return true
		}
	}
	return false
}

// write sends ev as one JSON line. Errors are returned and logged.
func (a *Auditor) write(ev *Event) error {
	line, err := json.Marshal(ev)
	if err != nil {
		a.log.Error("audit: encoding event", "auditID", ev.AuditID, "err", err)
		return err
	}
	line = append(line, '\n')
	a.mu.Lock()
	_, err = a.out.Write(line)
	a.mu.Unlock()
	if err != nil {
		a.log.Error("audit: writing event", "auditID", ev.AuditID, "stage", ev.Stage, "err", err)
	}
	return err
}
