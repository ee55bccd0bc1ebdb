package caserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// JournalFile is the issuance journal's name inside the service directory.
const JournalFile = "issued.jsonl"

// Record is what the service remembers about one issued certificate.
type Record struct {
	// ID identifies the certificate in the API: its serial in lower-case hex.
	ID        string    `json:"id"`
	Subject   string    `json:"subject"`
	SANs      []string  `json:"sans,omitempty"`
	NotAfter  time.Time `json:"notAfter"`
	Requester string    `json:"requester"`
	Profile   string    `json:"profile"`
	IssuedAt  time.Time `json:"issuedAt"`
	// RevokedAt is set once the certificate is revoked.
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	// Reason is the RFC 5280 revocation reason code.
	Reason int `json:"reason,omitempty"`
	// CertPEM is the certificate itself.
	CertPEM string `json:"cert"`
}

// journalEntry is one line of the journal: an issuance or a revocation.
type journalEntry struct {
	Type string `json:"type"` // "issued" or "revoked"
	*Record
	Serial    string     `json:"serial,omitempty"`
	RevokedAt *time.Time `json:"revokedAtTime,omitempty"`
	Reason    int        `json:"revocationReason,omitempty"`
	By        string     `json:"by,omitempty"`
}

// Store keeps the issuance records in memory and in an append-only
// journal. Appends are group-committed: concurrent writers share one
// fsync, so durability does not serialise the signing path.
type Store struct {
	path string

	mu      sync.RWMutex
	records map[string]*Record
	revoked int // number of revocations, to know when a cached CRL is stale

	writes chan write
	done   chan struct{}
	// expected counts appends announced by expect and not yet queued:
	// issuances being signed. The writer waits for them (up to
	// groupCommitWait) so that one fsync covers them too.
	expected atomic.Int64
	// closeMu orders appends before Close: appends hold it shared, Close
	// exclusively, so no append can send on the closed channel.
	closeMu sync.RWMutex
	closed  bool
}

// ErrClosed means the store was closed (the service is shutting down).
var ErrClosed = errors.New("issuance journal is closed")

// groupCommitWait bounds how long the writer holds a batch for announced
// appends: about as long as one fsync on a busy disk, and far below the
// HTTP answer's own latency under load.
const groupCommitWait = time.Millisecond

// write is one journal line waiting for its fsync.
type write struct {
	line []byte
	errc chan error
}

// ErrNotFound means no certificate with that id was issued.
var ErrNotFound = errors.New("no such certificate")

// OpenStore loads the journal at path (creating it with mode 0600 if
// absent). A torn last line, left by a crash during a write, is dropped;
// any other unparsable line is an error naming its number.
func OpenStore(path string) (*Store, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("caserver: open journal: %w", err)
	}
	s := &Store{path: path, records: map[string]*Record{}, writes: make(chan write, 256), done: make(chan struct{})}
	good, err := s.load(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("caserver: journal %s: drop torn tail: %w", path, err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	go s.writer(f)
	return s, nil
}

// load replays the journal and returns the length of its valid prefix.
func (s *Store) load(f *os.File) (int64, error) {
	r := bufio.NewReader(f)
	var off int64
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			// A line without its newline was never acknowledged.
			return off, nil
		}
		if err != nil {
			return 0, fmt.Errorf("caserver: read journal %s: %w", s.path, err)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var e journalEntry
			if err := json.Unmarshal(line, &e); err != nil {
				return 0, fmt.Errorf("caserver: journal %s line %d: %w", s.path, n, err)
			}
			if err := s.apply(e); err != nil {
				return 0, fmt.Errorf("caserver: journal %s line %d: %w", s.path, n, err)
			}
		}
		off += int64(len(line))
	}
}

// apply updates the in-memory index with one entry; s.mu must be held or
// the store not yet shared.
func (s *Store) apply(e journalEntry) error {
	switch e.Type {
	case "issued":
		if e.Record == nil || e.ID == "" {
			return errors.New("issued entry without id")
		}
		r := *e.Record
		s.records[r.ID] = &r
	case "revoked":
		r, ok := s.records[e.Serial]
		if !ok {
			return fmt.Errorf("revocation of unknown certificate %s", e.Serial)
		}
		if r.RevokedAt == nil {
			t := e.RevokedAt.UTC()
			r.RevokedAt, r.Reason = &t, e.Reason
			s.revoked++
		}
	default:
		return fmt.Errorf("unknown entry type %q", e.Type)
	}
	return nil
}

// writer appends lines, one fsync per batch of waiting writers.
func (s *Store) writer(f *os.File) {
	defer close(s.done)
	defer f.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var buf []byte // reused: one batch at a time
	for w := range s.writes {
		batch := []write{w}
		var deadline time.Time
	drain:
		for {
			select {
			case w2, ok := <-s.writes:
				if !ok {
					break drain
				}
				batch = append(batch, w2)
				continue
			default:
			}
			// Nothing queued: wait a little for issuances being signed,
			// one fsync for all instead of one each.
			if s.expected.Load() <= 0 {
				break drain
			}
			if deadline.IsZero() {
				deadline = time.Now().Add(groupCommitWait)
			}
			wait := time.Until(deadline)
			if wait <= 0 {
				break drain
			}
			timer.Reset(wait)
			select {
			case w2, ok := <-s.writes:
				timer.Stop()
				if !ok {
					break drain
				}
				batch = append(batch, w2)
			case <-timer.C:
				break drain
			}
		}
		buf = buf[:0]
		for _, b := range batch {
			buf = append(buf, b.line...)
		}
		_, err := f.Write(buf)
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			err = fmt.Errorf("caserver: write journal %s: %w", s.path, err)
		}
		for _, b := range batch {
			b.errc <- err
		}
	}
}

// expect announces (n = 1) or withdraws (n = -1) an append about to come,
// for the writer's group commit; addExpected consumes the announcement.
func (s *Store) expect(n int64) { s.expected.Add(n) }

// append writes one entry durably; expected says whether expect(1)
// announced it.
func (s *Store) append(e journalEntry, expected bool) error {
	queued := func() {
		if expected {
			s.expected.Add(-1)
		}
	}
	line, err := json.Marshal(e)
	if err != nil {
		queued()
		return err
	}
	errc := make(chan error, 1)
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		queued()
		return ErrClosed
	}
	s.writes <- write{line: append(line, '\n'), errc: errc}
	s.closeMu.RUnlock()
	queued()
	return <-errc
}

// Close stops the writer after pending appends; later appends fail with
// ErrClosed. Closing twice is harmless.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if !s.closed {
		s.closed = true
		close(s.writes)
	}
	s.closeMu.Unlock()
	<-s.done
	return nil
}

// Add records an issued certificate once it is durable.
func (s *Store) Add(r Record) error { return s.add(r, false) }

// add is Add for an append announced with expect(1) when expected.
func (s *Store) add(r Record, expected bool) error {
	if err := s.append(journalEntry{Type: "issued", Record: &r}, expected); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[r.ID] = &r
	return nil
}

// Get returns a copy of the record with id, or ErrNotFound.
func (s *Store) Get(id string) (Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.records[id]
	if !ok {
		return Record{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return *r, nil
}

// Revoke marks id revoked at time at with reason. Revoking twice keeps
// the first time and is not an error. It returns the updated record.
func (s *Store) Revoke(id string, at time.Time, reason int, by string) (Record, error) {
	r, err := s.Get(id)
	if err != nil {
		return Record{}, err
	}
	if r.RevokedAt != nil {
		return r, nil
	}
	at = at.UTC().Truncate(time.Second)
	if err := s.append(journalEntry{Type: "revoked", Serial: id, RevokedAt: &at, Reason: reason, By: by}, false); err != nil {
		return Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.records[id]
	if rec.RevokedAt == nil {
		rec.RevokedAt, rec.Reason = &at, reason
		s.revoked++
	}
	return *rec, nil
}

// Revocations lists every revoked certificate, oldest first, and the
// revocation count (which changes whenever the list does).
func (s *Store) Revocations() ([]pki.Revocation, int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []pki.Revocation
	for id, r := range s.records {
		if r.RevokedAt == nil {
			continue
		}
		serial, ok := new(big.Int).SetString(id, 16)
		if !ok {
			continue
		}
		out = append(out, pki.Revocation{Serial: serial, RevokedAt: *r.RevokedAt, Reason: r.Reason})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RevokedAt.Before(out[j].RevokedAt) })
	return out, s.revoked
}

// Status answers OCSP lookups from the records.
func (s *Store) Status(serial *big.Int) (pki.OCSPStatus, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.records[serialID(serial)]
	if !ok {
		return pki.OCSPStatus{}, nil
	}
	st := pki.OCSPStatus{Known: true}
	if r.RevokedAt != nil {
		st.Revoked, st.RevokedAt, st.Reason = true, *r.RevokedAt, r.Reason
	}
	return st, nil
}

// IsRevoked reports whether the certificate with this serial is revoked.
func (s *Store) IsRevoked(serial *big.Int) bool {
	st, _ := s.Status(serial)
	return st.Revoked
}

// serialID renders a serial as a record id.
func serialID(serial *big.Int) string { return serial.Text(16) }
