package etcd3

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

func TestCreate(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	key := prefixFor(t) + "a"
	in := cm("a", nil, "1")
	in.ResourceVersion = "42" // must not be stored
	out, err := s.Create(ctx, key, in)
	if err != nil {
		t.Fatal(err)
	}
	if in.ResourceVersion != "42" {
		t.Errorf("Create modified its argument: resourceVersion %q", in.ResourceVersion)
	}
	raw, err := testClient.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rvOf(t, out), raw.Kvs[0].ModRevision; got != want {
		t.Errorf("resourceVersion %d, want ModRevision %d", got, want)
	}
	if strings.Contains(string(raw.Kvs[0].Value), "resourceVersion") {
		t.Errorf("stored bytes carry a resourceVersion: %s", raw.Kvs[0].Value)
	}
	if _, err := s.Create(ctx, key, cm("a", nil, "2")); !storage.IsExists(err) {
		t.Errorf("second create: %v, want exists", err)
	}
}

func TestGet(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	p := prefixFor(t)
	created := mustCreate(t, s, p+"a", cm("a", nil, "1"))
	rv := rvOf(t, created)
	tests := []struct {
		name     string
		key      string
		opts     storage.GetOptions
		wantCode storage.ErrorCode
		wantData string
	}{
		{name: "latest", key: p + "a", wantData: "1"},
		{name: "any", key: p + "a", opts: storage.GetOptions{ResourceVersion: "0"}, wantData: "1"},
		{name: "not older than", key: p + "a", opts: storage.GetOptions{ResourceVersion: strconv.FormatInt(rv, 10)}, wantData: "1"},
		{name: "future", key: p + "a", opts: storage.GetOptions{ResourceVersion: strconv.FormatInt(rv+1000, 10)}, wantCode: storage.ErrCodeTimeout},
		{name: "invalid rv", key: p + "a", opts: storage.GetOptions{ResourceVersion: "x"}, wantCode: storage.ErrCodeInvalidResourceVersion},
		{name: "missing", key: p + "b", wantCode: storage.ErrCodeKeyNotFound},
		{name: "prefix is not a key", key: p, wantCode: storage.ErrCodeKeyNotFound},
		{name: "ignore not found", key: p + "b", opts: storage.GetOptions{IgnoreNotFound: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj, err := s.Get(ctx, tc.key, tc.opts)
			if got := storage.CodeOf(err); got != tc.wantCode {
				t.Fatalf("error %v (code %d), want code %d", err, got, tc.wantCode)
			}
			if err != nil {
				return
			}
			if got := obj.(*corev1.ConfigMap).Data["v"]; got != tc.wantData {
				t.Errorf("data %q, want %q", got, tc.wantData)
			}
		})
	}
}

func TestGuaranteedUpdate(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	p := prefixFor(t)
	setData := func(v string) storage.UpdateFunc {
		return func(cur runtime.Object) (runtime.Object, error) {
			c := cur.(*corev1.ConfigMap)
			c.Data["v"] = v
			return c, nil
		}
	}
	strp := func(s string) *string { return &s }
	tests := []struct {
		name     string
		pre      *storage.Preconditions
		update   storage.UpdateFunc
		wantCode storage.ErrorCode
		wantData string
		noWrite  bool
	}{
		{name: "update", update: setData("2"), wantData: "2"},
		{name: "no-op writes nothing", update: setData("1"), wantData: "1", noWrite: true},
		{name: "uid precondition holds", pre: &storage.Preconditions{UID: strp("uid-a")}, update: setData("3"), wantData: "3"},
		{name: "uid precondition fails", pre: &storage.Preconditions{UID: strp("other")}, update: setData("3"), wantCode: storage.ErrCodeConflict},
		{name: "rv precondition fails", pre: &storage.Preconditions{ResourceVersion: strp("1")}, update: setData("3"), wantCode: storage.ErrCodeConflict},
		{name: "update error", update: func(runtime.Object) (runtime.Object, error) { return nil, errors.New("boom") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := p + strings.ReplaceAll(tc.name, " ", "-")
			before := rvOf(t, mustCreate(t, s, key, cm("a", nil, "1")))
			out, err := s.GuaranteedUpdate(ctx, key, tc.pre, tc.update)
			if got := storage.CodeOf(err); got != tc.wantCode {
				t.Fatalf("error %v, want code %d", err, tc.wantCode)
			}
			if tc.name == "update error" {
				if err == nil || err.Error() != "boom" {
					t.Fatalf("error %v, want boom", err)
				}
				return
			}
			if err != nil {
				if tc.wantCode == storage.ErrCodeConflict && !strings.Contains(err.Error(), "Precondition failed") {
					t.Errorf("unclear conflict message %q", err)
				}
				return
			}
			if got := out.(*corev1.ConfigMap).Data["v"]; got != tc.wantData {
				t.Errorf("data %q, want %q", got, tc.wantData)
			}
			raw, err := testClient.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if wrote := raw.Kvs[0].ModRevision != before; wrote == tc.noWrite {
				t.Errorf("wrote=%v, want %v", wrote, !tc.noWrite)
			}
			if rvOf(t, out) != raw.Kvs[0].ModRevision {
				t.Errorf("returned rv %d, stored %d", rvOf(t, out), raw.Kvs[0].ModRevision)
			}
		})
	}
	if _, err := s.GuaranteedUpdate(ctx, p+"missing", nil, setData("1")); !storage.IsNotFound(err) {
		t.Errorf("update of missing key: %v", err)
	}
}

// TestGuaranteedUpdateRetries races a concurrent write against the first
// attempt: the update must be retried on the new state, not lost.
func TestGuaranteedUpdateRetries(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	key := prefixFor(t) + "a"
	mustCreate(t, s, key, cm("a", nil, "1"))
	calls := 0
	out, err := s.GuaranteedUpdate(ctx, key, nil, func(cur runtime.Object) (runtime.Object, error) {
		calls++
		if calls == 1 {
			if _, err := s.GuaranteedUpdate(ctx, key, nil, func(o runtime.Object) (runtime.Object, error) {
				o.(*corev1.ConfigMap).Data["other"] = "x"
				return o, nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		c := cur.(*corev1.ConfigMap)
		c.Data["v"] = "2"
		return c, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Errorf("tryUpdate called %d times, want 2", calls)
	}
	if want := map[string]string{"v": "2", "other": "x"}; !reflect.DeepEqual(out.(*corev1.ConfigMap).Data, want) {
		t.Errorf("data %v, want %v", out.(*corev1.ConfigMap).Data, want)
	}
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	p := prefixFor(t)
	strp := func(s string) *string { return &s }
	veto := errors.New("veto")
	tests := []struct {
		name     string
		pre      *storage.Preconditions
		validate storage.ValidateDeleteFunc
		wantErr  error
		wantCode storage.ErrorCode
	}{
		{name: "delete"},
		{name: "uid holds", pre: &storage.Preconditions{UID: strp("uid-a")}},
		{name: "uid fails", pre: &storage.Preconditions{UID: strp("x")}, wantCode: storage.ErrCodeConflict},
		{name: "rv fails", pre: &storage.Preconditions{ResourceVersion: strp("1")}, wantCode: storage.ErrCodeConflict},
		{name: "validate vetoes", validate: func(runtime.Object) error { return veto }, wantErr: veto},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := p + strings.ReplaceAll(tc.name, " ", "-")
			created := rvOf(t, mustCreate(t, s, key, cm("a", nil, "1")))
			out, err := s.Delete(ctx, key, tc.pre, tc.validate)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
			} else if got := storage.CodeOf(err); got != tc.wantCode {
				t.Fatalf("error %v, want code %d", err, tc.wantCode)
			}
			raw, gerr := testClient.Get(ctx, key)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if deleted := len(raw.Kvs) == 0; deleted != (err == nil) {
				t.Fatalf("deleted=%v with error %v", deleted, err)
			}
			if err == nil && rvOf(t, out) <= created {
				t.Errorf("deleted object rv %d, want the delete's revision > %d", rvOf(t, out), created)
			}
		})
	}
	if _, err := s.Delete(ctx, p+"missing", nil, nil); !storage.IsNotFound(err) {
		t.Errorf("delete of missing key: %v", err)
	}
}

// TestDeleteRetries changes the object while validate runs: the delete
// must re-check the new state.
func TestDeleteRetries(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	key := prefixFor(t) + "a"
	mustCreate(t, s, key, cm("a", nil, "1"))
	var seen []string
	out, err := s.Delete(ctx, key, nil, func(cur runtime.Object) error {
		seen = append(seen, cur.(*corev1.ConfigMap).Data["v"])
		if len(seen) == 1 {
			_, err := s.GuaranteedUpdate(ctx, key, nil, func(o runtime.Object) (runtime.Object, error) {
				o.(*corev1.ConfigMap).Data["v"] = "2"
				return o, nil
			})
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seen, []string{"1", "2"}) || out.(*corev1.ConfigMap).Data["v"] != "2" {
		t.Errorf("validate saw %v, returned %v", seen, out.(*corev1.ConfigMap).Data)
	}
}

func TestCount(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	p := prefixFor(t)
	for _, n := range []string{"a", "b", "c"} {
		mustCreate(t, s, p+n, cm(n, nil, ""))
	}
	mustCreate(t, s, strings.TrimSuffix(p, "/")+"x/a", cm("a", nil, "")) // sibling prefix
	if n, err := s.Count(ctx, strings.TrimSuffix(p, "/")); err != nil || n != 3 {
		t.Errorf("count %d, %v; want 3", n, err)
	}
}
