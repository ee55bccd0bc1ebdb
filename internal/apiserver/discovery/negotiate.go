package discovery

import (
	"mime"
	"sort"
	"strconv"
	"strings"
)

// Content types of the responses.
const (
	// ContentTypeJSON is the type of the legacy documents.
	ContentTypeJSON = "application/json"
	// ContentTypeAggregatedV2 is the type of the aggregated document in
	// apidiscovery.k8s.io/v2, byte for byte what kube-apiserver sends.
	ContentTypeAggregatedV2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
	// ContentTypeAggregatedV2beta1 is the type of the aggregated document
	// in apidiscovery.k8s.io/v2beta1.
	ContentTypeAggregatedV2beta1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
)

// Accept headers of the common clients, recognised without parsing.
const (
	// acceptKubectl is what kubectl 1.32 (client-go 0.32) sends.
	acceptKubectl = ContentTypeAggregatedV2 + "," + ContentTypeAggregatedV2beta1 + "," + ContentTypeJSON
	// acceptClientGo is what newer client-go sends.
	acceptClientGo = ContentTypeAggregatedV2 + "," + ContentTypeJSON
	// acceptClientGoNoPeer is newer client-go asking for the
	// single-server document, which is all kastle has.
	acceptClientGoNoPeer = ContentTypeAggregatedV2 + ";profile=nopeer," + acceptClientGo
)

// format is a negotiated response form.
type format int

const (
	formatNone           format = iota // nothing acceptable
	formatLegacy                       // plain application/json
	formatAggregatedV2                 // apidiscovery.k8s.io/v2
	formatAggregatedV2b1               // apidiscovery.k8s.io/v2beta1
)

// mediaRange is one parsed entry of an Accept header.
type mediaRange struct {
	typ, sub string
	params   map[string]string
	q        float64
}

// parseAccept splits an Accept header into media ranges ordered by
// quality, keeping the client's order among equal qualities. Entries that
// do not parse are skipped, as HTTP servers conventionally do.
func parseAccept(accept string) []mediaRange {
	var out []mediaRange
	for _, part := range strings.Split(accept, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
			delete(params, "q")
		}
		out = append(out, mediaRange{typ: typ, sub: sub, params: params, q: q})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].q > out[j].q })
	return out
}

// negotiate picks the response form for accept. aggregated says whether
// the endpoint (/api, /apis) can serve the aggregated document. An empty
// Accept means plain JSON.
func negotiate(accept string, aggregated bool) format {
	switch accept {
	case "", ContentTypeJSON, "*/*":
		return formatLegacy
	case acceptKubectl, acceptClientGo, acceptClientGoNoPeer:
		// The headers real clients send, answered without parsing:
		// discovery is the hottest read path.
		if aggregated {
			return formatAggregatedV2
		}
		return formatLegacy
	}
	if strings.TrimSpace(accept) == "" {
		return formatLegacy
	}
	for _, m := range parseAccept(accept) {
		if m.q == 0 {
			continue
		}
		if f := m.format(aggregated); f != formatNone {
			return f
		}
	}
	return formatNone
}

// format says what m lets the server send, or formatNone.
func (m mediaRange) format(aggregated bool) format {
	g, hasG := m.params["g"]
	v, hasV := m.params["v"]
	as, hasAs := m.params["as"]
	if hasG || hasV || hasAs {
		// A request for a specific kind: only the aggregated list,
		// only as JSON, only where it is served, and only for the
		// profiles kastle satisfies (a single server has no peers, so
		// "nopeer" is the ordinary document).
		if !aggregated || m.typ != "application" || m.sub != "json" ||
			g != "apidiscovery.k8s.io" || as != "APIGroupDiscoveryList" {
			return formatNone
		}
		if p, ok := m.params["profile"]; ok && p != "nopeer" {
			return formatNone
		}
		switch v {
		case "v2":
			return formatAggregatedV2
		case "v2beta1":
			return formatAggregatedV2b1
		}
		return formatNone
	}
	switch {
	case m.typ == "application" && m.sub == "json",
		m.typ == "application" && m.sub == "*",
		m.typ == "*" && m.sub == "*":
		return formatLegacy
	}
	return formatNone
}
