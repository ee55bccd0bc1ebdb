package caserver

import (
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStoreSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 1; i <= 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := big.NewInt(int64(i)).Text(16)
			if err := s.Add(Record{ID: id, Subject: "CN=x", Requester: "r"}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if _, err := s.Revoke("a", time.Now(), 1, "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke("nope", time.Now(), 1, "r"); err == nil {
		t.Error("revoked an unknown id")
	}
	s.Close()
	if err := s.Add(Record{ID: "ff"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close: %v", err)
	}
	s.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v", fi.Mode().Perm())
	}
	// A torn last line (crash mid-write) is dropped, the rest kept.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"type":"issued","id":"ff"`)
	f.Close()

	s2, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for i := 1; i <= 20; i++ {
		if _, err := s2.Get(big.NewInt(int64(i)).Text(16)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s2.Get("ff"); err == nil {
		t.Error("torn record loaded")
	}
	revs, n := s2.Revocations()
	if n != 1 || len(revs) != 1 || revs[0].Serial.Int64() != 10 || revs[0].Reason != 1 {
		t.Fatalf("revocations %+v", revs)
	}
	if !s2.IsRevoked(big.NewInt(10)) || s2.IsRevoked(big.NewInt(11)) {
		t.Error("IsRevoked")
	}
	if st, _ := s2.Status(big.NewInt(999)); st.Known {
		t.Error("unknown serial reported known")
	}
}

func TestStoreRejectsCorruptJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	os.WriteFile(path, []byte("{\"type\":\"issued\",\"id\":\"1\"}\nnot json\n"), 0o600)
	if _, err := OpenStore(path); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("corrupt journal: %v", err)
	}
}

// TestStoreGroupCommitAnnouncements checks the writer's waiting for
// announced appends: announced appends are durable and consume their
// announcement, an announcement never followed by an append only delays
// the batch (bounded), and appends after Close withdraw theirs.
func TestStoreGroupCommitAnnouncements(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 1; i <= 16; i++ {
		s.expect(1)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := s.add(Record{ID: big.NewInt(int64(i)).Text(16), Subject: "CN=x", Requester: "r"}, true); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if n := s.expected.Load(); n != 0 {
		t.Errorf("%d announcements left after their appends", n)
	}
	// A stray announcement (a signing that failed without withdrawing)
	// must not block appends.
	s.expect(1)
	if err := s.Add(Record{ID: "100", Subject: "CN=y", Requester: "r"}); err != nil {
		t.Fatal(err)
	}
	s.expect(-1)
	s.Close()
	s.expect(1)
	if err := s.add(Record{ID: "101"}, true); !errors.Is(err, ErrClosed) {
		t.Errorf("add after Close: %v", err)
	}
	if n := s.expected.Load(); n != 0 {
		t.Errorf("a refused append left %d announcements", n)
	}
	s2, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for i := 1; i <= 16; i++ {
		if _, err := s2.Get(big.NewInt(int64(i)).Text(16)); err != nil {
			t.Errorf("after reopen: %v", err)
		}
	}
}
