package endpoints

import (
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kastle-dev/kastle/internal/apis"
)

// defaultColumns are used for resources without their own printer.
var defaultColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name must be unique within a namespace."},
	{Name: "Age", Type: "string", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."},
}

// table renders obj (one object or a list) as a meta.k8s.io/v1 Table.
func (q *req) table(obj runtime.Object, list bool) (*metav1.Table, error) {
	include := q.r.URL.Query().Get("includeObject")
	switch include {
	case "", "Metadata", "None", "Object":
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("includeObject must be None, Metadata or Object, got %q", include))
	}
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"}}
	t.ColumnDefinitions = columns(q.res)
	items := []runtime.Object{obj}
	if list {
		var err error
		if items, err = meta.ExtractList(obj); err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		la, _ := meta.ListAccessor(obj)
		t.ResourceVersion, t.Continue, t.RemainingItemCount = la.GetResourceVersion(), la.GetContinue(), la.GetRemainingItemCount()
	} else if acc, err := meta.Accessor(obj); err == nil {
		t.ResourceVersion = acc.GetResourceVersion()
	}
	t.Rows = make([]metav1.TableRow, 0, len(items))
	for _, it := range items {
		row, err := tableRow(q.res, it, include)
		if err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, row)
	}
	if q.r.URL.Query().Get("noHeaders") == "true" {
		t.ColumnDefinitions = nil
	}
	return t, nil
}

func columns(r *apis.Resource) []metav1.TableColumnDefinition {
	if r.Row != nil && len(r.Columns) > 0 {
		return r.Columns
	}
	return defaultColumns
}

func tableRow(r *apis.Resource, obj runtime.Object, include string) (metav1.TableRow, error) {
	var row metav1.TableRow
	acc, err := meta.Accessor(obj)
	if err != nil {
		return row, apierrors.NewInternalError(err)
	}
	if r.Row != nil && len(r.Columns) > 0 {
		cells, err := r.Row(obj)
		if err != nil {
			return row, apierrors.NewInternalError(err)
		}
		row.Cells = cells
	} else {
		row.Cells = []interface{}{acc.GetName(), age(acc.GetCreationTimestamp())}
	}
	switch include {
	case "None":
	case "Object":
		raw, err := json.Marshal(obj)
		if err != nil {
			return row, apierrors.NewInternalError(err)
		}
		row.Object.Raw = raw
	default:
		pm := metav1.PartialObjectMetadata{
			TypeMeta:   metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadata"},
			ObjectMeta: *objectMetaOf(acc),
		}
		raw, err := json.Marshal(&pm)
		if err != nil {
			return row, apierrors.NewInternalError(err)
		}
		row.Object.Raw = raw
	}
	return row, nil
}

func age(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t.Time))
}
