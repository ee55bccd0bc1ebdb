package crd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/util/jsonpath"
)

// buildColumns prepares the table columns as kube-apiserver does: Name
// first, then the CRD's additionalPrinterColumns; a CRD without any gets a
// single Age column (from metadata.creationTimestamp) instead.
func (s *Schema) buildColumns(cols []apiextensionsv1.CustomResourceColumnDefinition) error {
	docs := metav1.ObjectMeta{}.SwaggerDoc()
	s.headers = []metav1.TableColumnDefinition{{
		Name: "Name", Type: "string", Format: "name", Description: docs["name"],
	}}
	if len(cols) == 0 {
		cols = []apiextensionsv1.CustomResourceColumnDefinition{{
			Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp",
			Description: docs["creationTimestamp"],
		}}
	}
	for _, c := range cols {
		desc := c.Description
		if desc == "" {
			desc = fmt.Sprintf("Custom resource definition column (in JSONPath format): %s", c.JSONPath)
		}
		def := metav1.TableColumnDefinition{
			Name: c.Name, Type: c.Type, Format: c.Format, Description: desc, Priority: c.Priority,
		}
		col := &column{def: def, path: "{" + c.JSONPath + "}"}
		if _, err := col.parse(); err != nil {
			return fmt.Errorf("additionalPrinterColumns %q: unrecognized JSONPath %q: %w", c.Name, c.JSONPath, err)
		}
		s.headers = append(s.headers, def)
		s.columns = append(s.columns, col)
	}
	return nil
}

func (c *column) parse() (*jsonpath.JSONPath, error) {
	jp := jsonpath.New(c.def.Name).AllowMissingKeys(true)
	if err := jp.Parse(c.path); err != nil {
		return nil, err
	}
	return jp, nil
}

// PrinterColumns returns the table column definitions for this version:
// Name, then the CRD's additionalPrinterColumns (with their priority, 0 for
// the default view and above for -o wide), or Name and Age when the CRD
// defines none. The slice is fresh; the caller may keep it.
func (s *Schema) PrinterColumns() []metav1.TableColumnDefinition {
	return append([]metav1.TableColumnDefinition(nil), s.headers...)
}

// Row renders obj's cells in PrinterColumns order, with ages relative to
// the current time.
func (s *Schema) Row(obj *unstructured.Unstructured) ([]interface{}, error) {
	return s.RowAt(obj, time.Now())
}

// RowAt is Row with ages relative to now. Cells follow kube-apiserver: a
// missing value is nil (kubectl shows <none>), integer and number columns
// hold int64 and float64, boolean columns bool, date columns a
// human-readable age such as "5m" ("<invalid>" for an unparsable time), and
// string columns the value as JSONPath prints it.
func (s *Schema) RowAt(obj *unstructured.Unstructured, now time.Time) ([]interface{}, error) {
	if obj == nil || obj.Object == nil {
		return nil, fmt.Errorf("crd: nil object")
	}
	cells := make([]interface{}, 0, 1+len(s.columns))
	cells = append(cells, obj.GetName())
	var buf bytes.Buffer
	for _, c := range s.columns {
		cells = append(cells, c.cell(obj.Object, now, &buf))
	}
	return cells, nil
}

func (c *column) cell(obj map[string]interface{}, now time.Time, buf *bytes.Buffer) interface{} {
	jp, _ := c.pool.Get().(*jsonpath.JSONPath)
	if jp == nil {
		var err error
		if jp, err = c.parse(); err != nil {
			return nil // cannot happen: the path parsed at compile time
		}
	}
	defer c.pool.Put(jp)
	results, err := jp.FindResults(obj)
	if err != nil || len(results) == 0 || len(results[0]) == 0 {
		return nil
	}
	value := results[0][0].Interface()
	if c.def.Type == "string" {
		buf.Reset()
		if err := jp.PrintResults(buf, []reflect.Value{reflect.ValueOf(value)}); err != nil {
			return nil
		}
		return buf.String()
	}
	return typedCell(c.def.Type, value, now)
}

// typedCell converts a JSON value to the Go type the column type promises,
// or nil when it does not fit.
func typedCell(typ string, value interface{}, now time.Time) interface{} {
	switch typ {
	case "integer":
		switch v := value.(type) {
		case int64:
			return v
		case float64:
			return int64(v)
		case json.Number:
			if i, err := v.Int64(); err == nil {
				return i
			}
		}
	case "number":
		switch v := value.(type) {
		case int64:
			return float64(v)
		case float64:
			return v
		case json.Number:
			if f, err := v.Float64(); err == nil {
				return f
			}
		}
	case "boolean":
		if b, ok := value.(bool); ok {
			return b
		}
	case "date":
		str, ok := value.(string)
		if !ok {
			return nil
		}
		var t metav1.Time
		if err := t.UnmarshalQueryParameter(str); err != nil {
			return "<invalid>"
		}
		if t.IsZero() {
			return "<unknown>"
		}
		return duration.HumanDuration(now.Sub(t.Time))
	}
	return nil
}

// column is one additionalPrinterColumn with a pool of parsed JSONPath
// evaluators: client-go's JSONPath keeps state while evaluating, so each
// concurrent Row needs its own.
type column struct {
	def  metav1.TableColumnDefinition
	path string
	pool sync.Pool
}
