package embedded

import (
	"fmt"
	"time"
)

// DefragPolicy says when the embedded member's database file is worth
// defragmenting. etcd never returns freed pages to the file system: after
// a burst of writes and deletes (and the compaction of their history) the
// file, and the part of it the process has mapped, stay at their peak
// until a defragmentation copies the live data into a new file.
type DefragPolicy struct {
	// FreeFraction is the share of the file that must be free pages
	// before a defragmentation runs, in (0, 1]; 0 disables it.
	FreeFraction float64
	// MinFreeBytes is the least free space worth the write pause of a
	// defragmentation; 0 means DefaultDefragMinFree.
	MinFreeBytes int64
}

// DefaultDefragMinFree is DefragPolicy's default MinFreeBytes: below it
// the file is small enough that its free pages cost little.
const DefaultDefragMinFree = 32 << 20

// DefragResult reports what MaybeDefragment found and did.
type DefragResult struct {
	// Size and InUse are the file size and the bytes of live pages
	// before; After is the file size afterwards (Size when skipped).
	Size, InUse, After int64
	// Defragmented says whether a defragmentation ran; Took is how long
	// it blocked the member's reads and writes.
	Defragmented bool
	Took         time.Duration
}

// MaybeDefragment defragments the member's database when p says that
// enough of the file is free space. A defragmentation blocks the member's
// writes and reads (not the API server's watch caches) while it copies the
// live data, which is fast when most of the file is free (see
// BenchmarkDefragment). Call it after a compaction, which is what frees
// pages.
func (s *Server) MaybeDefragment(p DefragPolicy) (DefragResult, error) {
	if p.FreeFraction <= 0 {
		return DefragResult{}, nil
	}
	minFree := p.MinFreeBytes
	if minFree == 0 {
		minFree = DefaultDefragMinFree
	}
	be := s.etcd.Server.Backend()
	// Pages a compaction freed become reusable, and are counted as free,
	// only once the write transactions after it commit and the read
	// transaction that could still see them is replaced: two commits.
	be.ForceCommit()
	be.ForceCommit()
	r := DefragResult{Size: be.Size(), InUse: be.SizeInUse()}
	r.After = r.Size
	free := r.Size - r.InUse
	if free < minFree || float64(free) < p.FreeFraction*float64(r.Size) {
		return r, nil
	}
	start := time.Now()
	// The member itself, not the maintenance API: the in-process
	// client's maintenance server lacks the health hooks it calls.
	if err := s.etcd.Server.Defragment(); err != nil {
		return r, fmt.Errorf("embedded etcd: defragment: %w", err)
	}
	r.Took = time.Since(start)
	r.Defragmented = true
	r.After = s.etcd.Server.Backend().Size()
	return r, nil
}
