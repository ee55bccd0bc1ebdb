package main

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"testing"
)

// A /proc/<pid>/status excerpt as Linux 6.x prints it.
const statusFixture = `Name:	kastle
Umask:	0022
State:	S (sleeping)
Tgid:	4242
Pid:	4242
PPid:	1
VmPeak:	 1300000 kB
VmSize:	 1299000 kB
VmHWM:	   61000 kB
VmRSS:	   52344 kB
RssAnon:	   30000 kB
Threads:	12
`

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
		noRSS   bool
	}{
		{"fixture", statusFixture, 52344, false, false},
		{"kernel thread has none", "Name:\tkthreadd\nState:\tS (sleeping)\n", 0, true, true},
		{"empty", "", 0, true, true},
		{"bad unit", "VmRSS:\t 12 MB\n", 0, true, false},
		{"bad number", "VmRSS:\t x kB\n", 0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVmRSS(tt.status)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseVmRSS = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
			if errors.Is(err, errNoRSS) != tt.noRSS {
				t.Errorf("errors.Is(%v, errNoRSS) = %v, want %v", err, !tt.noRSS, tt.noRSS)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    procStat
		wantErr bool
	}{
		{
			name: "plain",
			stat: "4242 (kastle) S 1 4242 4242 0 -1 4194560 9000 0 3 0 250 75 0 0 20 0 12 0 100 1300000000 13086 18446744073709551615",
			want: procStat{PPID: 1, UTime: 250, STime: 75},
		},
		{
			name: "name with spaces and parens",
			stat: "77 (my (odd) srv) R 42 77 77 0 -1 0 0 0 0 0 9 1 0 0 20 0 1 0 5 100 10 0",
			want: procStat{PPID: 42, UTime: 9, STime: 1},
		},
		{name: "no parens", stat: "1 init S 0", wantErr: true},
		{name: "too short", stat: "1 (init) S 0 1 1", wantErr: true},
		{name: "bad utime", stat: "1 (a) S 0 1 1 0 -1 0 0 0 0 0 x 1 0 0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat(tt.stat)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseStat = %+v, %v; want %+v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDescendants(t *testing.T) {
	tests := []struct {
		name   string
		root   int
		parent map[int]int
		want   []int
	}{
		{"alone", 10, map[int]int{11: 1, 12: 1}, []int{10}},
		{"children and grandchildren", 10, map[int]int{11: 10, 12: 11, 13: 1, 14: 10}, []int{10, 11, 12, 14}},
		{"cycle is cut", 10, map[int]int{11: 10, 10: 11}, []int{10, 11}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := descendants(tt.root, tt.parent)
			slices.Sort(got[1:]) // breadth-first order within a level follows map order
			want := slices.Clone(tt.want)
			slices.Sort(want[1:])
			if !slices.Equal(got, want) {
				t.Errorf("descendants = %v, want %v", got, want)
			}
		})
	}
}

// TestProcFSReal reads the real /proc for this test process and a child it
// starts: the tree must contain the child and have a positive RSS.
func TestProcFSReal(t *testing.T) {
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })

	p := procFS{Root: "/proc"}
	self := os.Getpid()
	pids, err := p.tree(self)
	if err != nil {
		t.Fatal(err)
	}
	if pids[0] != self || !slices.Contains(pids, child.Process.Pid) {
		t.Errorf("tree(%d) = %v, want self first and child %d in it", self, pids, child.Process.Pid)
	}
	rss, err := p.treeRSS(self)
	if err != nil || rss <= 0 {
		t.Errorf("treeRSS = %d, %v; want > 0", rss, err)
	}
	if _, err := p.treeCPU(self); err != nil {
		t.Errorf("treeCPU: %v", err)
	}
	if _, err := p.treeRSS(1 << 30); err == nil {
		t.Error("treeRSS of a pid that cannot exist: want an error")
	}
}
