package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat. Linux exports
// them in USER_HZ, which is 100 on every architecture we run on; reading
// sysconf(_SC_CLK_TCK) would need cgo for no practical gain.
const clockTick = 10 * time.Millisecond

// errNoRSS reports a status file without a VmRSS line (kernel threads, zombies).
var errNoRSS = errors.New("no VmRSS line")

// procStat is the part of /proc/<pid>/stat that loadgen needs.
type procStat struct {
	PPID         int
	UTime, STime uint64 // clock ticks
}

// parseStat parses the contents of /proc/<pid>/stat. The command name (field
// 2) is in parentheses and may itself contain spaces and parentheses, so the
// fixed fields are counted from the last ')'.
func parseStat(s string) (procStat, error) {
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return procStat{}, fmt.Errorf("stat %q: no ')' after the command name", trunc(s))
	}
	// Fields after the name: state(3) ppid(4) ... utime(14) stime(15).
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("stat %q: %d fields after the name, want at least 13", trunc(s), len(f))
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, fmt.Errorf("stat ppid %q: %w", f[1], err)
	}
	ut, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("stat utime %q: %w", f[11], err)
	}
	st, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("stat stime %q: %w", f[12], err)
	}
	return procStat{PPID: ppid, UTime: ut, STime: st}, nil
}

// parseVmRSS returns the VmRSS value, in KiB, from the contents of
// /proc/<pid>/status, or errNoRSS when the line is absent.
func parseVmRSS(status string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q: want \"<n> kB\"", rest)
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, errNoRSS
}

// descendants returns root followed by all its descendants, given each
// process's parent. The order is breadth-first; cycles (impossible in /proc,
// but cheap to guard against) are ignored.
func descendants(root int, parent map[int]int) []int {
	children := make(map[int][]int, len(parent))
	for pid, pp := range parent {
		children[pp] = append(children[pp], pid)
	}
	out := []int{root}
	seen := map[int]bool{root: true}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i]] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// procFS reads process information from a proc file system mounted at Root
// (normally "/proc"); tests point it at the real /proc too.
type procFS struct {
	Root string
}

// stat reads and parses /proc/<pid>/stat.
func (p procFS) stat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join(p.Root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(string(b))
}

// tree returns pid and its live descendants. Processes that exit while the
// table is read are skipped.
func (p procFS) tree(pid int) ([]int, error) {
	if _, err := p.stat(pid); err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	ents, err := os.ReadDir(p.Root)
	if err != nil {
		return nil, err
	}
	parent := make(map[int]int, len(ents))
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil || n == pid {
			continue
		}
		if st, err := p.stat(n); err == nil {
			parent[n] = st.PPID
		}
	}
	return descendants(pid, parent), nil
}

// treeRSS returns the summed VmRSS (KiB) of pid and its descendants. Pages
// shared between processes are counted once per process, as ps does.
func (p procFS) treeRSS(pid int) (int64, error) {
	pids, err := p.tree(pid)
	if err != nil {
		return 0, err
	}
	var sum int64
	for i, q := range pids {
		b, err := os.ReadFile(filepath.Join(p.Root, strconv.Itoa(q), "status"))
		if err == nil {
			var kb int64
			kb, err = parseVmRSS(string(b))
			sum += kb
		}
		if err != nil && i == 0 && !errors.Is(err, errNoRSS) {
			return 0, fmt.Errorf("process %d status: %w", q, err)
		}
	}
	return sum, nil
}

// treeCPU returns the user+system CPU time consumed so far by pid and its
// live descendants.
func (p procFS) treeCPU(pid int) (time.Duration, error) {
	pids, err := p.tree(pid)
	if err != nil {
		return 0, err
	}
	var ticks uint64
	for i, q := range pids {
		st, err := p.stat(q)
		if err != nil {
			if i == 0 {
				return 0, fmt.Errorf("process %d: %w", q, err)
			}
			continue
		}
		ticks += st.UTime + st.STime
	}
	return time.Duration(ticks) * clockTick, nil
}

// trunc shortens s for error messages.
func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
