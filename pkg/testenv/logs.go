package testenv

import (
	"bytes"
	"io"
	"strings"
	"sync"
)

// logLines keeps the last max lines written to it, so a failure can show
// what the server said without keeping a long run's whole log, and
// optionally copies everything to out.
type logLines struct {
	mu      sync.Mutex
	out     io.Writer
	max     int
	lines   []string
	partial []byte
}

func newLogLines(max int, out io.Writer) *logLines { return &logLines{max: max, out: out} }

// Write implements io.Writer.
func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.out != nil {
		// The copy is best effort: a closed terminal must not stop the
		// server.
		_, _ = l.out.Write(p)
	}
	data := append(l.partial, p...)
	for {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			break
		}
		l.lines = append(l.lines, string(data[:nl]))
		data = data[nl+1:]
	}
	l.partial = append(l.partial[:0:0], data...)
	if over := len(l.lines) - l.max; over > 0 {
		l.lines = append(l.lines[:0:0], l.lines[over:]...)
	}
	return len(p), nil
}

// last returns the kept lines, oldest first, one per line.
func (l *logLines) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.Join(l.lines, "\n")
	if len(l.partial) > 0 {
		s += "\n" + string(l.partial)
	}
	return s
}
