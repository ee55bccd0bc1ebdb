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
