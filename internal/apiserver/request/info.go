package request

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
)

// Info describes what a request asks for, parsed from its method, path and
// query as kube-apiserver does.
type Info struct {
	// IsResourceRequest is true for /api/... and /apis/... paths naming a
	// resource; false for everything else (discovery, health, openapi).
	IsResourceRequest bool
	// Path is the URL path.
	Path string
	// Verb is the Kubernetes verb (get, list, watch, create, update,
	// patch, delete, deletecollection) for resource requests, else the
	// lower-case HTTP method.
	Verb       string
	APIPrefix  string // "api" or "apis"
	APIGroup   string
	APIVersion string
	Namespace  string
	Resource   string
	// Subresource is the part after the name, e.g. "status".
	Subresource string
	Name        string
	// FieldSelector is the raw field selector of a list or watch.
	FieldSelector string
	// ProxyPath is the path after .../<name>/proxy of a proxy request
	// ("/" when there is none).
	ProxyPath string
}

// ParseInfo parses r. Malformed resource paths yield an error so the
// caller can answer 404 without guessing.
func ParseInfo(r *http.Request) (*Info, error) {
	info := &Info{Path: r.URL.Path, Verb: strings.ToLower(r.Method)}
	parts := splitPath(r.URL.Path)
	if len(parts) == 0 || (parts[0] != "api" && parts[0] != "apis") {
		return info, nil
	}
	info.APIPrefix = parts[0]
	parts = parts[1:]
	if info.APIPrefix == "apis" {
		if len(parts) < 2 {
			// /apis or /apis/<group>: discovery.
			if len(parts) == 1 {
				info.APIGroup = parts[0]
			}
			return info, nil
		}
		info.APIGroup, parts = parts[0], parts[1:]
	}
	if len(parts) == 0 {
		return info, nil
	}
	info.APIVersion, parts = parts[0], parts[1:]
	if len(parts) == 0 {
		return info, nil
	}
	info.IsResourceRequest = true
	if parts[0] == "namespaces" && len(parts) > 1 {
		info.Namespace = parts[1]
		// /namespaces/<ns>/<resource>/... unless the third segment is a
		// subresource of the namespace itself.
		if len(parts) > 2 && parts[2] != "status" && parts[2] != "finalize" {
			parts = parts[2:]
		}
	}
	switch len(parts) {
	case 1:
		info.Resource = parts[0]
	case 2:
		info.Resource, info.Name = parts[0], parts[1]
	case 3:
		info.Resource, info.Name, info.Subresource = parts[0], parts[1], parts[2]
		if info.Subresource == "proxy" {
			info.ProxyPath = "/"
		}
	default:
		if len(parts) > 3 && parts[2] == "proxy" {
			// <resource>/<name>/proxy/<any path>
			info.Resource, info.Name, info.Subresource = parts[0], parts[1], parts[2]
			info.ProxyPath = "/" + strings.Join(parts[3:], "/")
			break
		}
		return info, fmt.Errorf("the path %q names no resource", r.URL.Path)
	}
	info.Verb = verb(r, info)
	switch info.Verb {
	case "list", "watch", "deletecollection":
		// A list narrowed to one name is authorized as that name, as in
		// Kubernetes (RBAC resourceNames apply to it).
		info.FieldSelector = r.URL.Query().Get("fieldSelector")
		if sel, err := fields.ParseSelector(info.FieldSelector); err == nil {
			if name, ok := sel.RequiresExactMatch("metadata.name"); ok && info.Name == "" {
				info.Name = name
			}
		}
	}
	return info, nil
}

func verb(r *http.Request, info *Info) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if info.Name == "" && info.Subresource == "" {
			if q := r.URL.Query().Get("watch"); q == "1" || q == "true" {
				return "watch"
			}
			return "list"
		}
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if info.Name == "" {
			return "deletecollection"
		}
		return "delete"
	}
	return strings.ToLower(r.Method)
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

type ctxKey int

const (
	infoKey ctxKey = iota
	userKey
)

// WithInfo returns a context carrying info.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey, info)
}

// InfoFrom returns the request's Info, if the chain parsed it.
func InfoFrom(ctx context.Context) (*Info, bool) {
	info, ok := ctx.Value(infoKey).(*Info)
	return info, ok && info != nil
}
