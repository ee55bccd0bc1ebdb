package audit

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EventAPIVersion and EventKind identify an event line.
const (
	EventAPIVersion = "audit.k8s.io/v1"
	EventKind       = "Event"
)

// Event mirrors audit.k8s.io/v1 Event: one line of the audit log.
type Event struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Level      Level  `json:"level"`
	// AuditID is the same for every event of one request and is sent to
	// the client in the Audit-Id header.
	AuditID    string `json:"auditID"`
	Stage      Stage  `json:"stage"`
	RequestURI string `json:"requestURI"`
	Verb       string `json:"verb"`
	// User is the authenticated user.
	User UserInfo `json:"user"`
	// ImpersonatedUser is the user acted as, when the request impersonated.
	ImpersonatedUser *UserInfo        `json:"impersonatedUser,omitempty"`
	SourceIPs        []string         `json:"sourceIPs,omitempty"`
	UserAgent        string           `json:"userAgent,omitempty"`
	ObjectRef        *ObjectReference `json:"objectRef,omitempty"`
	// ResponseStatus is set at ResponseStarted, ResponseComplete and Panic.
	ResponseStatus *metav1.Status `json:"responseStatus,omitempty"`
	// RequestObject is the request body (JSON), at Request and above.
	RequestObject json.RawMessage `json:"requestObject,omitempty"`
	// ResponseObject is the response body (JSON), at RequestResponse.
	ResponseObject           json.RawMessage   `json:"responseObject,omitempty"`
	RequestReceivedTimestamp metav1.MicroTime  `json:"requestReceivedTimestamp"`
	StageTimestamp           metav1.MicroTime  `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations,omitempty"`
}

// UserInfo mirrors authentication.k8s.io/v1 UserInfo.
type UserInfo struct {
	Username string              `json:"username,omitempty"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

// ObjectReference names the object a resource request is about.
type ObjectReference struct {
	Resource        string `json:"resource,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	APIGroup        string `json:"apiGroup,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	Subresource     string `json:"subresource,omitempty"`
}
