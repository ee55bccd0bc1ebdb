package embedded

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// compactRevKey records the last compaction so that several API servers
// sharing one etcd compact once per interval between them: only the one
// whose transaction bumps the key's version compacts.
const compactRevKey = "compact_rev_key"

// StartCompactor compacts etcd every interval to the revision seen one
// interval earlier, so clients always have at least one interval of
// history to resume watches and paginated lists from (kube-apiserver uses
// 5 minutes); an interval of 0 or less compacts nothing. After each
// interval this process claimed (its compaction done, physically), after
// runs if not nil: e.g. an embedded member's MaybeDefragment, which then
// sees the pages the compaction freed. It returns at once; the work stops
// when ctx is cancelled. Failures are logged to logger (nil:
// slog.Default) and retried next tick.
func StartCompactor(ctx context.Context, client *clientv3.Client, interval time.Duration, logger *slog.Logger, after func(context.Context)) {
	if interval <= 0 {
		return
	}
	if logger == nil {
		logger = slog.Default()
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		var version, rev int64
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			prev := version
			var err error
			version, rev, err = compactOnce(ctx, client, version, rev)
			if err != nil && ctx.Err() == nil {
				logger.Warn("etcd compaction failed", "revision", rev, "err", err)
			}
			if err == nil && after != nil && version == prev+1 {
				after(ctx)
			}
		}
	}()
}

// compactOnce claims this interval's compaction by moving compactRevKey
// from version seenVersion to the next one, and if it won, compacts to
// prevRev (the revision seen at the previous claim). It returns the key's
// version and the current revision for the next round.
func compactOnce(ctx context.Context, client *clientv3.Client, seenVersion, prevRev int64) (int64, int64, error) {
	resp, err := client.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(compactRevKey), "=", seenVersion)).
		Then(clientv3.OpPut(compactRevKey, strconv.FormatInt(prevRev, 10))).
		Else(clientv3.OpGet(compactRevKey)).
		Commit()
	if err != nil {
		return seenVersion, prevRev, err
	}
	cur := resp.Header.Revision
	if !resp.Succeeded {
		// Someone else compacted in this interval; follow their version.
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return 0, cur, nil
		}
		return kvs[0].Version, cur, nil
	}
	if prevRev == 0 {
		return seenVersion + 1, cur, nil
	}
	// Physical: wait until the history is gone from the database, so
	// that what runs after a compaction sees the pages it freed.
	if _, err := client.Compact(ctx, prevRev, clientv3.WithCompactPhysical()); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return seenVersion + 1, cur, err
	}
	return seenVersion + 1, cur, nil
}
