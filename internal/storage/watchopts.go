package storage

import "strings"

// InitialEventsEndAnnotation marks the BOOKMARK that ends the initial
// state of a watch asked for with SendInitialEvents (client-go WatchList).
const InitialEventsEndAnnotation = "k8s.io/initial-events-end"

// WantsInitialEvents reports whether a watch must start with the current
// state as ADDED events: when the client asked for it explicitly, or by
// default when it gave no resourceVersion ("" or "0").
func (o WatchOptions) WantsInitialEvents() bool {
	if o.SendInitialEvents != nil {
		return *o.SendInitialEvents
	}
	return o.ResourceVersion == "" || o.ResourceVersion == "0"
}

// PrefixOf returns key as a list prefix: ending in "/" so that
// "/registry/pods/a" does not also select "/registry/pods/ab".
func PrefixOf(key string) string {
	if strings.HasSuffix(key, "/") {
		return key
	}
	return key + "/"
}
