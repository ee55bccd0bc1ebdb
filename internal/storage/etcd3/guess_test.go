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
	"github.com/kastle-dev/kastle/internal/storage/etcdtest"
)

// TestGuaranteedUpdateFrom starts updates from a guess that is current,
// stale, or useless, and checks that the answer is always the one a read
// of etcd gives, with the etcd calls each case should cost: a current
// guess one transaction and no read.
func TestGuaranteedUpdateFrom(t *testing.T) {
	ctx := context.Background()
	client, counts := etcdtest.Counting(testClient)
	s := New(client, newCodec(), storage.APIObjectVersioner{}, WithNewFunc(newConfigMap))
	set := func(v string) storage.UpdateFunc {
		return func(cur runtime.Object) (runtime.Object, error) {
			cur.(*corev1.ConfigMap).Data["v"] = v
			return cur, nil
		}
	}
	strRV := func(rv int64) *string { v := strconv.FormatInt(rv, 10); return &v }
	errTry := errors.New("refused")
	tests := []struct {
		name   string
		stale  bool // guess the first state (data "1") instead of the current one ("2")
		noRV   bool // guess without a resourceVersion
		delete bool // delete the key before the update
		pre    func(rv2 int64) *storage.Preconditions
		// try makes the update from the current state's revision.
		try      func(rv2 int64) storage.UpdateFunc
		wantData string // "" when an error is expected
		wantErr  func(rv2 int64, err error) bool
		wantNoOp bool // the answer is the current state, nothing written
		gets     int64
		txns     int64
		tries    int
	}{
		{name: "current guess: one transaction, no read", try: updateTo("3"), wantData: "3", txns: 1, tries: 1},
		{name: "stale guess: the failed transaction's read", stale: true, try: updateTo("3"), wantData: "3", txns: 2, tries: 2},
		{name: "guess without resourceVersion: read first", noRV: true, try: updateTo("3"), wantData: "3", gets: 1, txns: 1, tries: 1},
		{
			name: "preconditions fail on a stale guess, hold on etcd's state", stale: true,
			pre: func(rv2 int64) *storage.Preconditions { return &storage.Preconditions{ResourceVersion: strRV(rv2)} },
			try: updateTo("3"), wantData: "3", gets: 1, txns: 1, tries: 1,
		},
		{
			name: "preconditions fail on both: etcd's state in the error", stale: true,
			pre: func(rv2 int64) *storage.Preconditions {
				return &storage.Preconditions{ResourceVersion: strRV(rv2 + 1000)}
			},
			try: updateTo("3"), gets: 1,
			wantErr: func(rv2 int64, err error) bool {
				return storage.IsConflict(err) && strings.Contains(err.Error(), "object meta: "+strconv.FormatInt(rv2, 10))
			},
		},
		{
			name: "update refuses a stale guess (a resourceVersion conflict), accepts etcd's state", stale: true,
			try: func(rv2 int64) storage.UpdateFunc {
				return func(cur runtime.Object) (runtime.Object, error) {
					if rv, _ := (storage.APIObjectVersioner{}).ObjectResourceVersion(cur); rv != rv2 {
						return nil, fmt.Errorf("%w: resourceVersion %d", errTry, rv)
					}
					return set("3")(cur)
				}
			},
			wantData: "3", gets: 1, txns: 1, tries: 2,
		},
		{
			name: "update refuses both: the error is etcd's state's",
			try: func(int64) storage.UpdateFunc {
				return func(cur runtime.Object) (runtime.Object, error) {
					return nil, fmt.Errorf("%w: data %s", errTry, cur.(*corev1.ConfigMap).Data["v"])
				}
			},
			stale: true, gets: 1, tries: 2,
			wantErr: func(_ int64, err error) bool {
				return errors.Is(err, errTry) && strings.HasSuffix(err.Error(), "data 2")
			},
		},
		{
			name: "no-op on a stale guess is a change on etcd's state", stale: true,
			try: updateTo("1"), wantData: "1", gets: 1, txns: 1, tries: 2,
		},
		{
			name: "no-op on the current guess is confirmed by a read",
			try:  updateTo("2"), wantData: "2", wantNoOp: true, gets: 1, tries: 2,
		},
		{
			name: "deleted key", delete: true, try: updateTo("3"), txns: 1, tries: 1,
			wantErr: func(_ int64, err error) bool { return storage.IsNotFound(err) },
		},
		{
			name: "deleted key, update refuses the guess", delete: true, gets: 1, tries: 1,
			try: func(int64) storage.UpdateFunc {
				return func(runtime.Object) (runtime.Object, error) { return nil, errTry }
			},
			wantErr: func(_ int64, err error) bool { return storage.IsNotFound(err) },
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := prefixFor(t) + strconv.Itoa(i)
			first := mustCreate(t, s, key, cm("a", nil, "1"))
			second, err := s.GuaranteedUpdate(ctx, key, nil, set("2"))
			if err != nil {
				t.Fatal(err)
			}
			rv2 := rvOf(t, second)
			guess := second
			if tc.stale {
				guess = first
			}
			if tc.noRV {
				guess = second.DeepCopyObject()
				guess.(*corev1.ConfigMap).ResourceVersion = ""
			}
			if tc.delete {
				if _, err := s.Delete(ctx, key, nil, nil); err != nil {
					t.Fatal(err)
				}
			}
			pristine := guess.DeepCopyObject()
			var pre *storage.Preconditions
			if tc.pre != nil {
				pre = tc.pre(rv2)
			}
			inner := tc.try(rv2)
			tries := 0
			try := func(cur runtime.Object) (runtime.Object, error) {
				tries++
				if cur == guess {
					t.Error("tryUpdate got the shared guess itself")
				}
				cur.(*corev1.ConfigMap).Labels = map[string]string{"mutated": "by tryUpdate"}
				out, err := inner(cur)
				if out != nil {
					out.(*corev1.ConfigMap).Labels = nil
				}
				return out, err
			}
			counts.Reset()
			out, err := s.GuaranteedUpdateFrom(ctx, key, guess, pre, try)
			gets, txns := counts.Gets.Load(), counts.Txns.Load()
			if !reflect.DeepEqual(guess, pristine) {
				t.Errorf("the guess was modified: %+v", guess)
			}
			if tc.wantErr != nil {
				if err == nil || !tc.wantErr(rv2, err) {
					t.Fatalf("error %v, not the expected one", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if got := out.(*corev1.ConfigMap).Data["v"]; got != tc.wantData {
					t.Errorf("answer has data %q, want %q", got, tc.wantData)
				}
				resp, err := testClient.Get(ctx, key)
				if err != nil || len(resp.Kvs) != 1 {
					t.Fatalf("reading %s: %v", key, err)
				}
				if got, want := rvOf(t, out), resp.Kvs[0].ModRevision; got != want {
					t.Errorf("answer's resourceVersion %d, ModRevision %d", got, want)
				}
				if noOp := resp.Kvs[0].ModRevision == rv2; noOp != tc.wantNoOp {
					t.Errorf("no-op %v, want %v", noOp, tc.wantNoOp)
				}
				if stored, _ := s.Get(ctx, key, storage.GetOptions{}); stored.(*corev1.ConfigMap).Data["v"] != tc.wantData {
					t.Errorf("stored %v, want data %q", stored, tc.wantData)
				}
			}
			if gets != tc.gets || txns != tc.txns || tries != tc.tries {
				t.Errorf("%d reads, %d transactions, %d tries; want %d, %d, %d", gets, txns, tries, tc.gets, tc.txns, tc.tries)
			}
		})
	}
}

// updateTo is a tryUpdate that sets data v.
func updateTo(v string) func(int64) storage.UpdateFunc {
	return func(int64) storage.UpdateFunc {
		return func(cur runtime.Object) (runtime.Object, error) {
			cur.(*corev1.ConfigMap).Data["v"] = v
			return cur, nil
		}
	}
}
