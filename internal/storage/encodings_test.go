package storage

import (
	"errors"
	"sync"
	"testing"
)

func TestEncodingsGet(t *testing.T) {
	build := func(s string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(s), nil } }
	tests := []struct {
		name     string
		budget   *EncodingBudget
		nilEnc   bool
		wantKept int64
	}{
		{name: "kept", budget: NewEncodingBudget(100), wantKept: 3},
		{name: "over budget", budget: NewEncodingBudget(2), wantKept: 0},
		{name: "no budget", budget: nil, wantKept: 0},
		{name: "nil Encodings", budget: NewEncodingBudget(100), nilEnc: true, wantKept: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEncodings(tt.budget)
			if tt.nilEnc {
				e = nil
			}
			b, err := e.Get(1, build("abc"))
			if err != nil || string(b) != "abc" {
				t.Fatalf("Get = %q, %v", b, err)
			}
			b, _ = e.Get(1, build("xyz"))
			want := "abc"
			if tt.wantKept == 0 {
				want = "xyz"
			}
			if string(b) != want {
				t.Fatalf("second Get = %q, want %q", b, want)
			}
			if got := tt.budget.Used(); got != tt.wantKept {
				t.Fatalf("budget used %d, want %d", got, tt.wantKept)
			}
			e.Release()
			if got := tt.budget.Used(); got != 0 {
				t.Fatalf("budget used %d after Release, want 0", got)
			}
		})
	}
}

func TestEncodingsBuildError(t *testing.T) {
	e := NewEncodings(NewEncodingBudget(100))
	boom := errors.New("boom")
	if _, err := e.Get(0, func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the build error", err)
	}
	if b, err := e.Get(0, func() ([]byte, error) { return []byte("ok"), nil }); err != nil || string(b) != "ok" {
		t.Fatalf("after a failed build: %q, %v", b, err)
	}
}

// TestEncodingsReleaseRace runs Get and Release concurrently: whatever the
// interleaving, every byte taken from the budget is given back once.
func TestEncodingsReleaseRace(t *testing.T) {
	budget := NewEncodingBudget(1 << 30)
	for i := 0; i < 200; i++ {
		e := NewEncodings(budget)
		var wg sync.WaitGroup
		for s := 0; s < EncodingSlots; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = e.Get(s, func() ([]byte, error) { return make([]byte, 10), nil })
			}()
		}
		wg.Add(1)
		go func() { defer wg.Done(); e.Release() }()
		wg.Wait()
		if got := budget.Used(); got != 0 {
			t.Fatalf("iteration %d: budget used %d after Release, want 0", i, got)
		}
	}
}

// TestEncodingsLinked checks that a linked form is kept per predecessor:
// reused while the predecessor version is the same, rebuilt (and the
// budget moved to the new bytes) when it changes, never reused for a new
// version that happens to be allocated where an old one was.
func TestEncodingsLinked(t *testing.T) {
	budget := NewEncodingBudget(100)
	e := NewEncodings(budget)
	a, b := NewEncodings(budget), NewEncodings(budget)
	builds := 0
	build := func(s string) func() ([]byte, error) {
		return func() ([]byte, error) { builds++; return []byte(s), nil }
	}
	get := func(prev *Encodings, s string) string {
		t.Helper()
		got, err := e.Linked(0, prev, build(s))
		if err != nil {
			t.Fatal(err)
		}
		return string(got)
	}
	if got := get(a, "after-a"); got != "after-a" || builds != 1 {
		t.Fatalf("first: %q, %d builds", got, builds)
	}
	if got := get(a, "again"); got != "after-a" || builds != 1 {
		t.Fatalf("same predecessor: %q, %d builds; want the kept form", got, builds)
	}
	if got := get(b, "after-b"); got != "after-b" || builds != 2 || budget.Used() != int64(len("after-b")) {
		t.Fatalf("other predecessor: %q, %d builds, budget %d", got, builds, budget.Used())
	}
	if got := get(a, "after-a2"); got != "after-a2" {
		t.Fatalf("back to the first predecessor: %q; one form per slot is kept", got)
	}
	// A slot of its own is independent.
	if got, _ := e.Linked(1, a, build("slot1")); string(got) != "slot1" {
		t.Fatalf("slot 1: %q", got)
	}
	if got := get(nil, "no predecessor"); got != "no predecessor" {
		t.Fatalf("nil predecessor: %q", got)
	}
	// Versions never share an id, whatever their addresses.
	seen := map[uint64]bool{}
	for range 1000 {
		n := NewEncodings(nil)
		if seen[n.id] {
			t.Fatalf("id %d reused", n.id)
		}
		seen[n.id] = true
	}
	e.Release()
	if budget.Used() != 0 {
		t.Fatalf("budget used %d after Release", budget.Used())
	}
	if got := get(a, "released"); got != "released" || budget.Used() != 0 {
		t.Fatalf("after Release: %q, budget %d; nothing may be kept", got, budget.Used())
	}
	var nilEnc *Encodings
	if got, _ := nilEnc.Linked(0, a, build("nil")); string(got) != "nil" {
		t.Fatalf("nil Encodings: %q", got)
	}
}
