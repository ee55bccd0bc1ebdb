package storage

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// APIObjectVersioner implements Versioner for every object with ObjectMeta
// (typed k8s.io/api objects and *unstructured.Unstructured). Its zero value
// is ready to use.
type APIObjectVersioner struct{}

var _ Versioner = APIObjectVersioner{}

// ObjectResourceVersion parses metadata.resourceVersion; "" is 0.
func (APIObjectVersioner) ObjectResourceVersion(obj runtime.Object) (int64, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return 0, err
	}
	return ParseResourceVersion(m.GetResourceVersion())
}

// UpdateObject sets metadata.resourceVersion ("" for 0).
func (APIObjectVersioner) UpdateObject(obj runtime.Object, rv int64) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	s := ""
	if rv != 0 {
		s = strconv.FormatInt(rv, 10)
	}
	m.SetResourceVersion(s)
	return nil
}

// ParseResourceVersion parses a resourceVersion as sent by clients: "" is
// 0; anything but a non-negative decimal integer is an
// ErrCodeInvalidResourceVersion error.
func ParseResourceVersion(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	rv, err := strconv.ParseInt(s, 10, 64)
	if err != nil || rv < 0 {
		return 0, &Error{Code: ErrCodeInvalidResourceVersion, Msg: fmt.Sprintf("invalid resource version %q", s)}
	}
	return rv, nil
}

// continueVersion is the only continue token version accepted, the one
// kube-apiserver writes, so tokens look the same to clients.
const continueVersion = "meta.k8s.io/v1"

// continueToken is the JSON inside a continue token.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

// EncodeContinue returns the continue token of a page whose last item has
// key lastKey relative to the list prefix (no leading "/"), read at
// revision rv. The next page starts just after lastKey (lastKey + "\x00").
func EncodeContinue(lastKey string, rv int64) string {
	b, err := json.Marshal(continueToken{APIVersion: continueVersion, ResourceVersion: rv, StartKey: lastKey + "\x00"})
	if err != nil {
		// Marshalling a struct of strings and ints cannot fail.
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeContinue parses a token made by EncodeContinue for a list under
// prefix (which should end in "/") and returns the full key to resume
// from (inclusive) and the revision of the first page. Malformed tokens
// and tokens whose key would leave prefix are ErrCodeInvalidContinue.
func DecodeContinue(token, prefix string) (fromKey string, rv int64, err error) {
	invalid := func(why string) error {
		return &Error{Code: ErrCodeInvalidContinue, Msg: "invalid continue token: " + why}
	}
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", 0, invalid("not base64url")
	}
	var c continueToken
	if err := json.Unmarshal(data, &c); err != nil {
		return "", 0, invalid("not JSON")
	}
	if c.APIVersion != continueVersion {
		return "", 0, invalid(fmt.Sprintf("unsupported version %q", c.APIVersion))
	}
	if c.ResourceVersion <= 0 {
		return "", 0, invalid(fmt.Sprintf("resource version %d", c.ResourceVersion))
	}
	if c.StartKey == "" || strings.HasPrefix(c.StartKey, "/") {
		return "", 0, invalid("start key must be relative")
	}
	// Reject anything path.Clean would rewrite ("..", ".", "//"), so a
	// token can never name a key outside prefix.
	if cleaned := path.Clean("/" + c.StartKey); cleaned != "/"+c.StartKey {
		return "", 0, invalid("start key is not a clean path")
	}
	for _, seg := range strings.Split(c.StartKey, "/") {
		if seg == ".." || seg == "." {
			return "", 0, invalid("start key is not a clean path")
		}
	}
	return prefix + c.StartKey, c.ResourceVersion, nil
}
