package serviceaccount

import (
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Names Kubernetes gives service-account identities and token claims.
const (
	// UserPrefix prefixes "<namespace>:<name>" in a service account's user
	// name (and its tokens' "sub").
	UserPrefix = "system:serviceaccount:"
	// AllGroup is the group of every service account.
	AllGroup = "system:serviceaccounts"
	// GroupPrefix prefixes the namespace in a service account's
	// per-namespace group.
	GroupPrefix = "system:serviceaccounts:"

	// LegacyIssuer is the "iss" of legacy Secret-based tokens.
	LegacyIssuer = "kubernetes/serviceaccount"

	// Keys of user.Info.Extra set for service-account tokens.
	ExtraPodName      = "authentication.kubernetes.io/pod-name"
	ExtraPodUID       = "authentication.kubernetes.io/pod-uid"
	ExtraNodeName     = "authentication.kubernetes.io/node-name"
	ExtraNodeUID      = "authentication.kubernetes.io/node-uid"
	ExtraCredentialID = "authentication.kubernetes.io/credential-id"

	// LegacyTokenInvalidSinceLabel on a legacy token Secret invalidates
	// its token.
	LegacyTokenInvalidSinceLabel = "kubernetes.io/legacy-token-invalid-since"
)

// UserName returns "system:serviceaccount:<namespace>:<name>".
func UserName(namespace, name string) string {
	return UserPrefix + namespace + ":" + name
}

// SplitUserName is the inverse of UserName; ok is false for a user name
// that is not a service account's.
func SplitUserName(user string) (namespace, name string, ok bool) {
	rest, found := strings.CutPrefix(user, UserPrefix)
	if !found {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	if !ok || namespace == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return namespace, name, true
}

// Groups returns a service account's groups: system:serviceaccounts and
// system:serviceaccounts:<namespace>.
func Groups(namespace string) []string {
	return []string{AllGroup, GroupPrefix + namespace}
}

// Ref names an object a token is bound to.
type Ref struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// KubernetesClaims is the private claim "kubernetes.io" of bound tokens.
type KubernetesClaims struct {
	Namespace      string           `json:"namespace,omitempty"`
	ServiceAccount Ref              `json:"serviceaccount"`
	Pod            *Ref             `json:"pod,omitempty"`
	Secret         *Ref             `json:"secret,omitempty"`
	Node           *Ref             `json:"node,omitempty"`
	WarnAfter      *jwt.NumericDate `json:"warnafter,omitempty"`
}

// privateClaims is the private part of a bound token.
type privateClaims struct {
	Kubernetes *KubernetesClaims `json:"kubernetes.io,omitempty"`
}

// legacyClaims are the private claims of a legacy Secret-based token.
type legacyClaims struct {
	Namespace          string `json:"kubernetes.io/serviceaccount/namespace,omitempty"`
	SecretName         string `json:"kubernetes.io/serviceaccount/secret.name,omitempty"`
	ServiceAccountName string `json:"kubernetes.io/serviceaccount/service-account.name,omitempty"`
	ServiceAccountUID  string `json:"kubernetes.io/serviceaccount/service-account.uid,omitempty"`
}

// checkNames refuses empty names and names that would make the user name
// ambiguous.
func checkNames(kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			return fmt.Errorf("serviceaccount: empty %s", kv[i])
		}
		if strings.ContainsAny(kv[i+1], ": /") {
			return fmt.Errorf("serviceaccount: bad %s %q", kv[i], kv[i+1])
		}
	}
	return nil
}
