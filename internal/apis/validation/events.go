package validation

import (
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Length limits of event fields, as in Kubernetes.
const (
	reportingInstanceMax = 128
	actionMax            = 128
	reasonMax            = 128
	noteMax              = 1024
)

// eventFields is the part of both event APIs that validation looks at;
// paths carries the field names of the API being validated.
type eventFields struct {
	namespace           string
	regarding           corev1.ObjectReference
	eventTime           metav1.MicroTime
	reportingController string
	reportingInstance   string
	action, reason, typ string
	note                string
	series              *eventsv1.EventSeries
}

type eventPaths struct {
	regarding, controller, note string
}

func validateEventFields(e eventFields, names eventPaths, requireNew bool) field.ErrorList {
	var errs field.ErrorList
	nsPath := field.NewPath(names.regarding, "namespace")
	if e.eventTime.IsZero() && !requireNew {
		// Legacy events: the involved object's namespace must be the
		// event's (cluster-scoped objects report in "default").
		if e.regarding.Namespace == "" {
			if e.namespace != metav1.NamespaceNone && e.namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(nsPath, e.regarding.Namespace, "does not match event.namespace"))
			}
		} else if e.regarding.Namespace != e.namespace {
			errs = append(errs, field.Invalid(nsPath, e.regarding.Namespace, "does not match event.namespace"))
		}
		return errs
	}
	if e.eventTime.IsZero() {
		errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
	}
	if e.regarding.Namespace == "" {
		if e.namespace != metav1.NamespaceDefault && e.namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(nsPath, e.regarding.Namespace, "does not match event.namespace"))
		}
	} else if e.regarding.Namespace != e.namespace {
		errs = append(errs, field.Invalid(nsPath, e.regarding.Namespace, "does not match event.namespace"))
	}
	cp := field.NewPath(names.controller)
	if e.reportingController == "" {
		errs = append(errs, field.Required(cp, ""))
	} else {
		errs = append(errs, validateQualifiedName(e.reportingController, cp)...)
	}
	limited := func(name, v string, max int) {
		p := field.NewPath(name)
		if v == "" {
			errs = append(errs, field.Required(p, ""))
		} else if len(v) > max {
			errs = append(errs, field.Invalid(p, "", fmt.Sprintf("can have at most %d characters", max)))
		}
	}
	limited("reportingInstance", e.reportingInstance, reportingInstanceMax)
	limited("action", e.action, actionMax)
	limited("reason", e.reason, reasonMax)
	if len(e.note) > noteMax {
		errs = append(errs, field.Invalid(field.NewPath(names.note), "", fmt.Sprintf("can have at most %d characters", noteMax)))
	}
	if e.typ != corev1.EventTypeNormal && e.typ != corev1.EventTypeWarning {
		errs = append(errs, field.NotSupported(field.NewPath("type"), e.typ, []string{corev1.EventTypeNormal, corev1.EventTypeWarning}))
	}
	if s := e.series; s != nil {
		if s.Count < 2 {
			errs = append(errs, field.Invalid(field.NewPath("series", "count"), s.Count, "should be at least 2"))
		}
		if s.LastObservedTime.IsZero() {
			errs = append(errs, field.Required(field.NewPath("series", "lastObservedTime"), ""))
		}
	}
	return errs
}

func validateCoreEvent(e *corev1.Event) field.ErrorList {
	f := eventFields{
		namespace: e.Namespace, regarding: e.InvolvedObject, eventTime: e.EventTime,
		reportingController: e.ReportingController, reportingInstance: e.ReportingInstance,
		action: e.Action, reason: e.Reason, typ: e.Type, note: e.Message,
	}
	if e.Series != nil {
		f.series = &eventsv1.EventSeries{Count: e.Series.Count, LastObservedTime: e.Series.LastObservedTime}
	}
	// core/v1 accepts events about nothing in particular (upstream's
	// legacy validation), unlike events.k8s.io/v1.
	return validateEventFields(f, eventPaths{regarding: "involvedObject", controller: "reportingComponent", note: "message"}, false)
}

func validateEventsEvent(e *eventsv1.Event) field.ErrorList {
	f := eventFields{
		namespace: e.Namespace, regarding: e.Regarding, eventTime: e.EventTime,
		reportingController: e.ReportingController, reportingInstance: e.ReportingInstance,
		action: e.Action, reason: e.Reason, typ: e.Type, note: e.Note, series: e.Series,
	}
	return validateEventFields(f, eventPaths{regarding: "regarding", controller: "reportingController", note: "note"}, true)
}

// validateEventsEventUpdate keeps what identifies an event fixed; only the
// series and the note of a recurring event change.
func validateEventsEventUpdate(e, old *eventsv1.Event) field.ErrorList {
	var errs field.ErrorList
	check := func(name string, n, o interface{}) {
		if !apiequality.Semantic.DeepEqual(n, o) {
			errs = append(errs, field.Invalid(field.NewPath(name), n, "field is immutable"))
		}
	}
	check("eventTime", e.EventTime, old.EventTime)
	check("reportingController", e.ReportingController, old.ReportingController)
	check("reportingInstance", e.ReportingInstance, old.ReportingInstance)
	check("action", e.Action, old.Action)
	check("reason", e.Reason, old.Reason)
	check("regarding", e.Regarding, old.Regarding)
	check("related", e.Related, old.Related)
	check("type", e.Type, old.Type)
	return errs
}

func validateLease(l *coordinationv1.Lease) field.ErrorList {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(spec.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if t := l.Spec.LeaseTransitions; t != nil && *t < 0 {
		errs = append(errs, field.Invalid(spec.Child("leaseTransitions"), *t, "must be greater than or equal to 0"))
	}
	if s := l.Spec.Strategy; s != nil && *s != coordinationv1.OldestEmulationVersion {
		errs = append(errs, field.NotSupported(spec.Child("strategy"), *s, []coordinationv1.CoordinatedLeaseStrategy{coordinationv1.OldestEmulationVersion}))
	}
	return errs
}
