package printers

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// eventColumns serve both core/v1 and events.k8s.io/v1 events, which
// kube-apiserver prints through the same (internal) printer.
func eventColumns() []metav1.TableColumnDefinition {
	doc := corev1.Event{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		col("Last Seen", "string", 0, doc["lastTimestamp"]),
		col("Type", "string", 0, doc["type"]),
		col("Reason", "string", 0, doc["reason"]),
		col("Object", "string", 0, doc["involvedObject"]),
		col("Subobject", "string", 1, corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]),
		col("Source", "string", 1, doc["source"]),
		col("Message", "string", 0, doc["message"]),
		col("First Seen", "string", 1, doc["firstTimestamp"]),
		col("Count", "string", 1, doc["count"]),
		{Name: "Name", Type: "string", Format: "name", Priority: 1, Description: objectMetaDoc("name")},
	}
}

// eventView is the common shape of both event APIs that the row needs.
type eventView struct {
	name, typ, reason, message    string
	regarding                     corev1.ObjectReference
	component, host               string
	firstSeen, lastSeen           metav1.Time
	eventTime                     metav1.MicroTime
	count                         int32
	series                        bool
	seriesCount                   int32
	seriesLast                    metav1.MicroTime
	reportingController, reporter string
}

func eventRow(e eventView, now time.Time) []interface{} {
	first := age(e.firstSeen, now)
	if e.firstSeen.IsZero() {
		first = microAge(e.eventTime, now)
	}
	last := age(e.lastSeen, now)
	if e.lastSeen.IsZero() {
		last = first
	}
	count := e.count
	if e.series {
		last = microAge(e.seriesLast, now)
		count = e.seriesCount
	} else if count == 0 {
		// New-style singleton events carry no count.
		count = 1
	}
	object := strings.ToLower(e.regarding.Kind)
	if e.regarding.Name != "" {
		object += "/" + e.regarding.Name
	}
	component := e.component
	if component == "" {
		component = e.reportingController
	}
	host := e.host
	if host == "" {
		host = e.reporter
	}
	source := "<unknown>"
	if component != "" {
		source = joinNonEmpty([]string{component, host}, ", ")
	}
	return []interface{}{
		last, e.typ, e.reason, object, e.regarding.FieldPath, source,
		strings.TrimSpace(e.message), first, int64(count), e.name,
	}
}

func printCoreEvent(e *corev1.Event, now time.Time) []interface{} {
	v := eventView{
		name: e.Name, typ: e.Type, reason: e.Reason, message: e.Message,
		regarding: e.InvolvedObject, component: e.Source.Component, host: e.Source.Host,
		firstSeen: e.FirstTimestamp, lastSeen: e.LastTimestamp, eventTime: e.EventTime,
		count: e.Count, reportingController: e.ReportingController, reporter: e.ReportingInstance,
	}
	if e.Series != nil {
		v.series, v.seriesCount, v.seriesLast = true, e.Series.Count, e.Series.LastObservedTime
	}
	return eventRow(v, now)
}

func printEventsEvent(e *eventsv1.Event, now time.Time) []interface{} {
	v := eventView{
		name: e.Name, typ: e.Type, reason: e.Reason, message: e.Note,
		regarding: e.Regarding, component: e.DeprecatedSource.Component, host: e.DeprecatedSource.Host,
		firstSeen: e.DeprecatedFirstTimestamp, lastSeen: e.DeprecatedLastTimestamp, eventTime: e.EventTime,
		count: e.DeprecatedCount, reportingController: e.ReportingController, reporter: e.ReportingInstance,
	}
	if e.Series != nil {
		v.series, v.seriesCount, v.seriesLast = true, e.Series.Count, e.Series.LastObservedTime
	}
	return eventRow(v, now)
}
