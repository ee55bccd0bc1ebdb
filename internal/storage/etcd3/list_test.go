package etcd3

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// listAll follows continue tokens, returning the names of every page.
func listAll(t *testing.T, s storage.Interface, prefix string, opts storage.ListOptions, between func(page int)) ([][]string, []*storage.ListResult) {
	t.Helper()
	var pages [][]string
	var results []*storage.ListResult
	for i := 0; ; i++ {
		res, err := s.GetList(context.Background(), prefix, opts)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		pages = append(pages, names(res.Items))
		results = append(results, res)
		if res.Continue == "" {
			return pages, results
		}
		if between != nil {
			between(i)
		}
		opts.Continue = res.Continue
		if i > 100 {
			t.Fatal("endless pagination")
		}
	}
}

// TestListPaginationSnapshot writes between pages: every page must still
// show the state of the first page's revision.
func TestListPaginationSnapshot(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	p := prefixFor(t)
	for i := range 8 {
		n := fmt.Sprintf("i%d", i)
		mustCreate(t, s, p+n, cm(n, nil, ""))
	}
	mustCreate(t, s, strings.TrimSuffix(p, "/")+"x/i0", cm("outside", nil, ""))
	pages, results := listAll(t, s, strings.TrimSuffix(p, "/"), storage.ListOptions{Limit: 3, Recursive: true}, func(page int) {
		mustCreate(t, s, p+fmt.Sprintf("i%dz", page), cm("new", nil, ""))
		if _, err := s.Delete(ctx, p+"i7", nil, nil); err != nil && !storage.IsNotFound(err) {
			t.Fatal(err)
		}
	})
	want := [][]string{{"i0", "i1", "i2"}, {"i3", "i4", "i5"}, {"i6", "i7"}}
	if !reflect.DeepEqual(pages, want) {
		t.Errorf("pages %v, want %v", pages, want)
	}
	for i, r := range results {
		if r.ResourceVersion != results[0].ResourceVersion {
			t.Errorf("page %d at rv %d, first at %d", i, r.ResourceVersion, results[0].ResourceVersion)
		}
	}
	if r := results[0].RemainingItemCount; r == nil || *r != 5 {
		t.Errorf("remaining after first page %v, want 5", r)
	}
	if results[2].RemainingItemCount != nil {
		t.Errorf("last page has remaining count %d", *results[2].RemainingItemCount)
	}
}

func TestListPredicate(t *testing.T) {
	s := newStore()
	p := prefixFor(t)
	for i := range 10 {
		n := fmt.Sprintf("i%d", i)
		mustCreate(t, s, p+n, cm(n, map[string]string{"even": strconv.FormatBool(i%2 == 0)}, ""))
	}
	tests := []struct {
		name  string
		opts  storage.ListOptions
		pages [][]string
	}{
		{"no limit", storage.ListOptions{Predicate: labelPredicate(t, "even=true")}, [][]string{{"i0", "i2", "i4", "i6", "i8"}}},
		{"limit 2", storage.ListOptions{Limit: 2, Predicate: labelPredicate(t, "even=true")}, [][]string{{"i0", "i2"}, {"i4", "i6"}, {"i8"}}},
		{"none match", storage.ListOptions{Limit: 2, Predicate: labelPredicate(t, "even=maybe")}, [][]string{nil}},
		{"limit above total", storage.ListOptions{Limit: 20}, [][]string{{"i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8", "i9"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Recursive = true
			pages, results := listAll(t, s, p, tc.opts, nil)
			if !reflect.DeepEqual(pages, tc.pages) {
				t.Errorf("pages %v, want %v", pages, tc.pages)
			}
			for _, r := range results {
				if !tc.opts.Predicate.Empty() && r.RemainingItemCount != nil {
					t.Errorf("filtered list has a remaining count")
				}
			}
		})
	}
}

func TestListSingleKey(t *testing.T) {
	s := newStore()
	p := prefixFor(t)
	mustCreate(t, s, p+"a", cm("a", nil, ""))
	mustCreate(t, s, p+"ab", cm("ab", nil, ""))
	for _, tc := range []struct {
		key  string
		want []string
	}{{p + "a", []string{"a"}}, {p + "b", nil}} {
		res, err := s.GetList(context.Background(), tc.key, storage.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res.Items); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("list %s: %v, want %v", tc.key, got, tc.want)
		}
		if res.ResourceVersion == 0 {
			t.Error("no resource version")
		}
	}
}

func TestListResourceVersions(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	p := prefixFor(t)
	first := rvOf(t, mustCreate(t, s, p+"a", cm("a", nil, "")))
	mustCreate(t, s, p+"b", cm("b", nil, ""))
	rv := func(n int64) string { return strconv.FormatInt(n, 10) }
	tests := []struct {
		name     string
		opts     storage.ListOptions
		want     []string
		wantCode storage.ErrorCode
	}{
		{name: "consistent", want: []string{"a", "b"}},
		{name: "any", opts: storage.ListOptions{ResourceVersion: "0"}, want: []string{"a", "b"}},
		{name: "exact old", opts: storage.ListOptions{ResourceVersion: rv(first), ResourceVersionMatch: storage.MatchExact}, want: []string{"a"}},
		{name: "legacy exact with limit", opts: storage.ListOptions{ResourceVersion: rv(first), Limit: 5}, want: []string{"a"}},
		{name: "not older than", opts: storage.ListOptions{ResourceVersion: rv(first), ResourceVersionMatch: storage.MatchNotOlderThan}, want: []string{"a", "b"}},
		{name: "not older than future", opts: storage.ListOptions{ResourceVersion: rv(first + 1000), ResourceVersionMatch: storage.MatchNotOlderThan}, wantCode: storage.ErrCodeTimeout},
		{name: "exact future", opts: storage.ListOptions{ResourceVersion: rv(first + 1000), ResourceVersionMatch: storage.MatchExact}, wantCode: storage.ErrCodeTimeout},
		{name: "bad continue", opts: storage.ListOptions{Continue: "!!"}, wantCode: storage.ErrCodeInvalidContinue},
		{name: "escaping continue", opts: storage.ListOptions{Continue: storage.EncodeContinue("../secrets/x", first)}, wantCode: storage.ErrCodeInvalidContinue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Recursive = true
			res, err := s.GetList(ctx, p, tc.opts)
			if got := storage.CodeOf(err); got != tc.wantCode {
				t.Fatalf("error %v, want code %d", err, tc.wantCode)
			}
			if err == nil && !reflect.DeepEqual(names(res.Items), tc.want) {
				t.Errorf("items %v, want %v", names(res.Items), tc.want)
			}
		})
	}
}

// TestListCompacted checks that an exact read and a continue token at a
// compacted revision fail with ErrCodeResourceVersionTooOld (410).
func TestListCompacted(t *testing.T) {
	ctx := context.Background()
	s := newStore()
	p := prefixFor(t)
	for _, n := range []string{"a", "b", "c"} {
		mustCreate(t, s, p+n, cm(n, nil, ""))
	}
	page, err := s.GetList(ctx, p, storage.ListOptions{Limit: 1, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GuaranteedUpdate(ctx, p+"a", nil, func(o runtime.Object) (runtime.Object, error) {
		o.(*corev1.ConfigMap).Data["v"] = "changed"
		return o, nil
	}); err != nil {
		t.Fatal(err)
	}
	compactNow(t)
	_, err = s.GetList(ctx, p, storage.ListOptions{Limit: 1, Recursive: true, Continue: page.Continue})
	if storage.CodeOf(err) != storage.ErrCodeResourceVersionTooOld {
		t.Errorf("continue after compaction: %v, want too old", err)
	}
	// The error carries a token for the rest of the list at the latest
	// revision (inconsistent with the first page: it shows the change).
	var serr *storage.Error
	if !errors.As(err, &serr) || serr.Continue == "" {
		t.Fatalf("no inconsistent continue token in %#v", err)
	}
	rest, err := s.GetList(ctx, p, storage.ListOptions{Recursive: true, Continue: serr.Continue})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Items) != 2 || rest.Items[0].(*corev1.ConfigMap).Name != "b" || rest.ResourceVersion <= page.ResourceVersion {
		t.Errorf("inconsistent continuation: %d items at %d", len(rest.Items), rest.ResourceVersion)
	}
	_, err = s.GetList(ctx, p, storage.ListOptions{Recursive: true, ResourceVersion: strconv.FormatInt(page.ResourceVersion, 10), ResourceVersionMatch: storage.MatchExact})
	if storage.CodeOf(err) != storage.ErrCodeResourceVersionTooOld {
		t.Errorf("exact list after compaction: %v, want too old", err)
	}
}
