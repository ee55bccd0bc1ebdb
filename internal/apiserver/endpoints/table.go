package endpoints

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kastle-dev/kastle/internal/apis"
	"github.com/kastle-dev/kastle/internal/storage"
)

// defaultColumns are used for resources without their own printer.
var defaultColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name must be unique within a namespace."},
	{Name: "Age", Type: "string", Description: "CreationTimestamp is a timestamp representing the server time when this object was created."},
}

// table renders obj (one object or a list) as a meta.k8s.io/v1 Table.
func (q *req) table(obj runtime.Object, list bool) (*metav1.Table, error) {
	if !list {
		return q.tableOf([]runtime.Object{obj}, nil, false, metav1.ListMeta{ResourceVersion: resourceVersionOf(obj)})
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	la, _ := meta.ListAccessor(obj)
	lm := metav1.ListMeta{ResourceVersion: la.GetResourceVersion(), Continue: la.GetContinue(), RemainingItemCount: la.GetRemainingItemCount()}
	return q.tableOf(items, nil, list, lm)
}

// resourceVersionOf returns obj's resourceVersion, "" without metadata.
func resourceVersionOf(obj runtime.Object) string {
	if acc, err := meta.Accessor(obj); err == nil {
		return acc.GetResourceVersion()
	}
	return ""
}

// tableOf renders items as a Table. encs, when not nil, has the cached
// forms of each item (nil elements where there are none), which the rows'
// objects reuse; list says whether the items are a list's (their full form
// then has no apiVersion and kind, as in the list).
func (q *req) tableOf(items []runtime.Object, encs []*storage.Encodings, list bool, lm metav1.ListMeta) (*metav1.Table, error) {
	include := q.r.URL.Query().Get("includeObject")
	switch include {
	case "", "Metadata", "None", "Object":
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("includeObject must be None, Metadata or Object, got %q", include))
	}
	t := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"}}
	t.ColumnDefinitions = columns(q.res)
	t.ResourceVersion = lm.ResourceVersion
	if list {
		t.Continue, t.RemainingItemCount = lm.Continue, lm.RemainingItemCount
	}
	t.Rows = make([]metav1.TableRow, 0, len(items))
	for i, it := range items {
		var enc *storage.Encodings
		if encs != nil {
			enc = encs[i]
		}
		row, err := tableRow(q.res, it, include, rowObject(it, enc, list))
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

// rowObject returns how a row's object is encoded: from the item's cached
// forms when it has them, else by marshalling it as the Table did.
func rowObject(obj runtime.Object, enc *storage.Encodings, list bool) func(include string) ([]byte, error) {
	return func(include string) ([]byte, error) {
		if include != "Object" {
			return metaJSON(obj, enc, "v1")
		}
		if enc == nil {
			return json.Marshal(obj)
		}
		if list {
			return enc.Get(slotJSONItem, func() ([]byte, error) { return itemJSON(obj) })
		}
		b, err := enc.Get(slotJSON, func() ([]byte, error) {
			b, err := json.Marshal(obj)
			return append(b, '\n'), err
		})
		return bytes.TrimSuffix(b, []byte("\n")), err
	}
}

func columns(r *apis.Resource) []metav1.TableColumnDefinition {
	if r.Row != nil && len(r.Columns) > 0 {
		return r.Columns
	}
	return defaultColumns
}

func tableRow(r *apis.Resource, obj runtime.Object, include string, encode func(include string) ([]byte, error)) (metav1.TableRow, error) {
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
	if include != "None" {
		raw, err := encode(include)
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
