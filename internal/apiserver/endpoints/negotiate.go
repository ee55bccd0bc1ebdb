package endpoints

import (
	"mime"
	"strings"
)

// Media types spoken on the wire.
const (
	mediaJSON     = "application/json"
	mediaYAML     = "application/yaml"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// Output is a negotiated response form.
type Output struct {
	// Media is the serialisation: mediaJSON, mediaYAML or mediaProtobuf.
	Media string
	// As is "", "Table", "PartialObjectMetadata" or
	// "PartialObjectMetadataList": a server-side transformation.
	As string
	// Version of the meta.k8s.io transformation (v1 or v1beta1).
	Version string
	// Pretty asks for indented JSON.
	Pretty bool
}

// negotiate picks the first Accept entry the server can produce. list says
// whether the response is a collection (PartialObjectMetadataList is
// only valid then). ok is false when nothing acceptable is offered.
func negotiate(accept string, list bool) (Output, bool) {
	if strings.TrimSpace(accept) == "" {
		return Output{Media: mediaJSON}, true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		var out Output
		switch mt {
		case mediaJSON, "*/*", "application/*":
			out.Media = mediaJSON
		case mediaYAML:
			out.Media = mediaYAML
		case mediaProtobuf:
			out.Media = mediaProtobuf
		default:
			continue
		}
		out.Pretty = params["pretty"] == "1" || params["pretty"] == "true"
		if as := params["as"]; as != "" {
			if params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			switch as {
			case "Table":
				if out.Media != mediaJSON && out.Media != mediaYAML {
					continue
				}
			case "PartialObjectMetadata":
				if list {
					continue
				}
			case "PartialObjectMetadataList":
				if !list {
					continue
				}
			default:
				continue
			}
			out.As, out.Version = as, params["v"]
		}
		return out, true
	}
	return Output{}, false
}

// bodyMedia classifies a request Content-Type.
func bodyMedia(contentType string) (string, bool) {
	if contentType == "" {
		return mediaJSON, true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false
	}
	switch mt {
	case mediaJSON, mediaYAML, mediaProtobuf:
		return mt, true
	case "application/x-yaml", "text/yaml":
		return mediaYAML, true
	}
	return mt, false
}
