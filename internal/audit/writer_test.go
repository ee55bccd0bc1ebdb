package audit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// stepClock returns a clock that starts at start and advances step per call.
func stepClock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(step)
		return t
	}
}

func TestFileWriterRotation(t *testing.T) {
	start := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	line := []byte(strings.Repeat("x", 99) + "\n") // 100 bytes
	tests := []struct {
		name        string
		cfg         FileConfig
		writes      int
		wantBackups int
		wantLive    int64
	}{
		{"no rotation under the limit", FileConfig{MaxSize: 1000}, 10, 0, 1000},
		{"rotates by size", FileConfig{MaxSize: 250}, 10, 4, 200},
		{"keeps maxbackup", FileConfig{MaxSize: 250, MaxBackups: 2}, 10, 2, 200},
		{"oversized write gets its own file", FileConfig{MaxSize: 50}, 3, 2, 100},
		// Each rotation advances the clock an hour: with a 90 min max
		// age only the newest backup survives.
		{"maxage", FileConfig{MaxSize: 250, MaxAge: 90 * time.Minute}, 10, 1, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.cfg.Path = filepath.Join(dir, "logs", "audit.log")
			tt.cfg.Now = stepClock(start, time.Hour)
			w, err := OpenFile(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tt.writes; i++ {
				if _, err := w.Write(line); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			backups, err := w.Backups()
			if err != nil {
				t.Fatal(err)
			}
			if len(backups) != tt.wantBackups {
				t.Fatalf("backups %v, want %d", backups, tt.wantBackups)
			}
			st, err := os.Stat(tt.cfg.Path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() != tt.wantLive || st.Mode().Perm() != 0o600 {
				t.Errorf("live file size %d mode %v, want %d 0600", st.Size(), st.Mode().Perm(), tt.wantLive)
			}
			if di, _ := os.Stat(filepath.Dir(tt.cfg.Path)); di.Mode().Perm() != 0o700 {
				t.Errorf("dir mode %v", di.Mode().Perm())
			}
			var total int64 = st.Size()
			for _, b := range backups {
				if !strings.HasPrefix(filepath.Base(b), "audit-2026-11-") || !strings.HasSuffix(b, ".log") {
					t.Errorf("backup name %s", b)
				}
				bst, _ := os.Stat(b)
				if bst.Mode().Perm() != 0o600 || bst.Size()%100 != 0 {
					t.Errorf("backup %s mode %v size %d", b, bst.Mode().Perm(), bst.Size())
				}
				total += bst.Size()
			}
			if tt.cfg.MaxBackups == 0 && tt.cfg.MaxAge == 0 && total != int64(tt.writes)*100 {
				t.Errorf("%d bytes kept, want %d: lines lost", total, tt.writes*100)
			}
		})
	}
}

func TestFileWriterSameTimestamp(t *testing.T) {
	now := time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC)
	w, err := OpenFile(FileConfig{Path: filepath.Join(t.TempDir(), "audit.log"), MaxSize: 10, MaxBackups: 2, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < 5; i++ {
		fmt.Fprintf(w, "line %d\n", i)
	}
	backups, _ := w.Backups()
	if len(backups) != 2 {
		t.Fatalf("backups %v", backups)
	}
	// The newest two backups hold lines 2 and 3, in order.
	for i, b := range backups {
		data, _ := os.ReadFile(b)
		if want := fmt.Sprintf("line %d\n", i+2); string(data) != want {
			t.Errorf("%s holds %q, want %q", b, data, want)
		}
	}
}

func TestFileWriterTightensMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := OpenFile(FileConfig{Path: path, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write([]byte("new\n"))
	st, _ := os.Stat(path)
	data, _ := os.ReadFile(path)
	if st.Mode().Perm() != 0o600 || string(data) != "old\nnew\n" {
		t.Errorf("mode %v content %q", st.Mode().Perm(), data)
	}
}

func TestFileWriterConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := OpenFile(FileConfig{Path: path, MaxSize: 4096, Now: stepClock(time.Now(), time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				fmt.Fprintf(w, "{\"g\":%d,\"i\":%03d}\n", g, i)
			}
		}(g)
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("late\n")); err == nil {
		t.Error("write after close succeeded")
	}
	backups, _ := w.Backups()
	lines := 0
	for _, f := range append(backups, path) {
		data, _ := os.ReadFile(f)
		for _, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			if !bytes.HasPrefix(l, []byte(`{"g":`)) || !bytes.HasSuffix(l, []byte("}")) {
				t.Fatalf("torn line %q in %s", l, f)
			}
			lines++
		}
	}
	if lines != 1600 || len(backups) == 0 {
		t.Errorf("%d lines in %d backups + live, want 1600 lines and some rotation", lines, len(backups))
	}
}

func TestOpenFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []FileConfig{
		{Now: time.Now},
		{Path: filepath.Join(dir, "a.log")},
		{Path: filepath.Join(dir, "a.log"), Now: time.Now, MaxSize: -1},
		{Path: filepath.Join(dir, "a.log"), Now: time.Now, MaxBackups: -1},
	}
	for i, c := range tests {
		if _, err := OpenFile(c); err == nil {
			t.Errorf("config %d: want error", i)
		}
	}
}

// TestAuditorToFile runs the filter against a rotating file: every line
// is a whole event.
func TestAuditorToFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := OpenFile(FileConfig{Path: path, MaxSize: 2000, MaxBackups: 100, Now: stepClock(time.Now(), time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAuditor(t, policyAll(LevelMetadata), w)
	h := withContext(WithAudit(echo(200), a), alice)
	for i := 0; i < 20; i++ {
		h.ServeHTTP(nopWriter{}, mustRequest("GET", "/api/v1/namespaces/x/pods"))
	}
	w.Close()
	backups, _ := w.Backups()
	if len(backups) < 5 {
		t.Fatalf("%d backups, want rotation", len(backups))
	}
	n := 0
	for _, f := range append(backups, path) {
		data, _ := os.ReadFile(f)
		var sb syncBuffer
		sb.Write(data)
		n += len(sb.events(t))
	}
	if n != 40 {
		t.Errorf("%d events, want 40", n)
	}
}
