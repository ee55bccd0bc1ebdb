package etcd3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kastle-dev/kastle/internal/storage"
)

// maxListBatch caps how many keys one etcd range read of a filtered list
// fetches; batches double from the page limit up to it.
const maxListBatch = 10000

// Option configures a Store.
type Option func(*Store)

// WithNewFunc gives the store a constructor of empty objects of its
// resource, used for BOOKMARK events and for Get with IgnoreNotFound.
// Without it watches send no bookmarks and IgnoreNotFound has no effect.
func WithNewFunc(f func() runtime.Object) Option {
	return func(s *Store) { s.newFunc = f }
}

// WithWaitTimeout sets how long a read asking for a resourceVersion newer
// than etcd's current revision waits before failing with ErrCodeTimeout
// (default 3 s).
func WithWaitTimeout(d time.Duration) Option {
	return func(s *Store) { s.waitTimeout = d }
}

// WithTransformer stores values through t (encryption at rest): values
// are transformed after encoding and before decoding, with the etcd key
// as context.
func WithTransformer(t storage.ValueTransformer) Option {
	return func(s *Store) { s.transformer = t }
}

// Store is a storage.Interface on one etcd client. It is safe for
// concurrent use; objects it returns are freshly decoded and owned by
// the caller.
type Store struct {
	client      *clientv3.Client
	codec       storage.Codec
	versioner   storage.Versioner
	newFunc     func() runtime.Object
	waitTimeout time.Duration
	transformer storage.ValueTransformer // nil: values stored as encoded
}

var _ storage.Interface = (*Store)(nil)

// New returns a store that keeps objects encoded with codec in etcd
// through client.
func New(client *clientv3.Client, codec storage.Codec, versioner storage.Versioner, opts ...Option) *Store {
	s := &Store{client: client, codec: codec, versioner: versioner, waitTimeout: 3 * time.Second}
	for _, o := range opts {
		o(s)
	}
	return s
}

// CurrentRevision returns etcd's current revision with one linearizable
// read of a key that does not exist, so a cache can tell how fresh it
// must be to answer a consistent read.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, "\x00", clientv3.WithCountOnly())
	if err != nil {
		return 0, mapErr(err, "", 0)
	}
	return resp.Header.Revision, nil
}

// RequestWatchProgress asks etcd to send a progress notification (a
// bookmark at the current revision) to this client's watches, so an idle
// watch learns that nothing changed up to now.
func (s *Store) RequestWatchProgress(ctx context.Context) error {
	return mapErr(s.client.RequestProgress(ctx), "", 0)
}

// Create stores obj at key unless the key exists (ErrCodeKeyExists). The
// returned object carries the creation revision as resourceVersion.
func (s *Store) Create(ctx context.Context, key string, obj runtime.Object) (runtime.Object, error) {
	data, err := s.encode(obj)
	if err != nil {
		return nil, err
	}
	stored, err := s.toStorage(ctx, key, data)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(stored))).
		Commit()
	if err != nil {
		return nil, mapErr(err, key, 0)
	}
	if !resp.Succeeded {
		return nil, &storage.Error{Code: storage.ErrCodeKeyExists, Key: key}
	}
	return s.decode(data, resp.Header.Revision)
}

// Get reads key. With ResourceVersion "N" it fails with ErrCodeTimeout if
// etcd does not reach revision N within the wait timeout.
func (s *Store) Get(ctx context.Context, key string, opts storage.GetOptions) (runtime.Object, error) {
	minRV, err := storage.ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	resp, err := s.get(ctx, key, minRV)
	if err != nil {
		return nil, err
	}
	if len(resp.Kvs) == 0 {
		if opts.IgnoreNotFound && s.newFunc != nil {
			return s.newFunc(), nil
		}
		return nil, &storage.Error{Code: storage.ErrCodeKeyNotFound, Key: key}
	}
	return s.decodeKV(ctx, resp.Kvs[0])
}

// get reads with ops, re-reading until the response revision is at least
// minRV or the wait timeout passes.
func (s *Store) get(ctx context.Context, key string, minRV int64, ops ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	deadline := time.Now().Add(s.waitTimeout)
	for {
		resp, err := s.client.Get(ctx, key, ops...)
		if err != nil {
			return nil, mapErr(err, key, minRV)
		}
		if resp.Header.Revision >= minRV {
			return resp, nil
		}
		if time.Now().After(deadline) {
			return nil, &storage.Error{Code: storage.ErrCodeTimeout, Key: key, ResourceVersion: minRV,
				Msg: fmt.Sprintf("Too large resource version: %d, current: %d", minRV, resp.Header.Revision)}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// GetList reads a page of the keys under prefix (or the single key when
// !opts.Recursive). All pages of one list come from the revision of the
// first: later pages read that revision, and fail with
// ErrCodeResourceVersionTooOld once it is compacted.
func (s *Store) GetList(ctx context.Context, key string, opts storage.ListOptions) (*storage.ListResult, error) {
	rv, err := storage.ParseResourceVersion(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	prefix := key
	if opts.Recursive {
		prefix = storage.PrefixOf(key)
	}
	start := prefix
	var withRev, minRV int64
	switch {
	case opts.Continue != "":
		start, withRev, err = storage.DecodeContinue(opts.Continue, prefix)
		if err != nil {
			return nil, err
		}
	case opts.ResourceVersionMatch == storage.MatchExact:
		if rv == 0 {
			return nil, &storage.Error{Code: storage.ErrCodeInvalidResourceVersion,
				Msg: "resourceVersionMatch=Exact requires a non-zero resourceVersion"}
		}
		withRev = rv
	case opts.ResourceVersionMatch == storage.MatchDefault && opts.Limit > 0 && rv > 0:
		// Kubernetes' legacy rule: a paged list at "N" is an exact read.
		withRev = rv
	default:
		minRV = rv
	}

	if !opts.Recursive {
		var ops []clientv3.OpOption
		if withRev > 0 {
			ops = append(ops, clientv3.WithRev(withRev))
		}
		resp, err := s.get(ctx, key, minRV, ops...)
		if err != nil {
			return nil, err
		}
		res := &storage.ListResult{ResourceVersion: resp.Header.Revision, Items: []runtime.Object{}}
		if withRev > 0 {
			res.ResourceVersion = withRev
		}
		for _, kv := range resp.Kvs {
			obj, err := s.decodeKV(ctx, kv)
			if err != nil {
				return nil, err
			}
			if ok, err := opts.Predicate.Matches(obj); err != nil {
				return nil, err
			} else if ok {
				res.Items = append(res.Items, obj)
			}
		}
		return res, nil
	}

	end := clientv3.GetPrefixRangeEnd(prefix)
	filtered := !opts.Predicate.Empty()
	batch := opts.Limit
	if filtered && batch > 0 && batch < 100 {
		// Few keys match a selector; read a little more per round trip.
		batch = 100
	}
	res := &storage.ListResult{Items: []runtime.Object{}}
	var (
		firstCount int64
		lastKey    string
		hasMore    bool
		first      = true
	)
	for {
		ops := []clientv3.OpOption{clientv3.WithRange(end)}
		if batch > 0 {
			ops = append(ops, clientv3.WithLimit(batch))
		}
		if withRev > 0 {
			ops = append(ops, clientv3.WithRev(withRev))
		}
		resp, err := s.get(ctx, start, minRV, ops...)
		if err != nil {
			if storage.CodeOf(err) == storage.ErrCodeResourceVersionTooOld {
				e := tooOldList(key, withRev, opts.Continue != "")
				if opts.Continue != "" {
					if latest, lerr := s.client.Get(ctx, prefix, clientv3.WithCountOnly()); lerr == nil {
						rel := strings.TrimSuffix(strings.TrimPrefix(start, prefix), "\x00")
						e.Continue = storage.EncodeContinue(rel, latest.Header.Revision)
					}
				}
				return nil, e
			}
			return nil, err
		}
		if first {
			firstCount = resp.Count
			if withRev == 0 {
				withRev = resp.Header.Revision
			}
			minRV, first = 0, false
		}
		full := false
		for i, kv := range resp.Kvs {
			if opts.Limit > 0 && int64(len(res.Items)) == opts.Limit {
				full, hasMore = true, true
				break
			}
			obj, err := s.decodeKV(ctx, kv)
			if err != nil {
				return nil, err
			}
			ok, err := opts.Predicate.Matches(obj)
			if err != nil {
				return nil, err
			}
			if ok {
				res.Items = append(res.Items, obj)
				lastKey = string(kv.Key)
			}
			if i == len(resp.Kvs)-1 {
				start = string(kv.Key) + "\x00"
			}
		}
		if full || !resp.More {
			break
		}
		if opts.Limit > 0 && int64(len(res.Items)) == opts.Limit {
			hasMore = true
			break
		}
		if batch > 0 && batch < maxListBatch {
			batch = min(batch*2, maxListBatch)
		}
	}
	res.ResourceVersion = withRev
	if hasMore {
		res.Continue = storage.EncodeContinue(strings.TrimPrefix(lastKey, prefix), withRev)
		if !filtered {
			remaining := firstCount - int64(len(res.Items))
			res.RemainingItemCount = &remaining
		}
	}
	return res, nil
}

// tooOldList is the error of a list at a compacted revision.
func tooOldList(key string, rev int64, continuing bool) *storage.Error {
	msg := fmt.Sprintf("The resourceVersion for the provided list is too old: revision %d has been compacted", rev)
	if continuing {
		msg = "The provided continue parameter is too old to display a consistent list result. " +
			"You can start a new list without the continue parameter, or use the continue token in this response to " +
			"retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - " +
			"objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."
	}
	return &storage.Error{Code: storage.ErrCodeResourceVersionTooOld, Key: key, ResourceVersion: rev, Msg: msg}
}

// objState is the decoded current value of a key with its revision.
type objState struct {
	obj  runtime.Object
	data []byte // as encoded, before any transformation
	// stale values were not written by the current transformation (an
	// old key): an update rewrites them even when nothing changed.
	stale bool
	rev   int64
	// guessed states are the caller's (GuaranteedUpdateFrom), not read
	// from etcd: obj is shared, data is obj's encoding rather than the
	// stored bytes, and only a write may be decided on them.
	guessed bool
}

func (s *Store) state(ctx context.Context, kv *mvccpb.KeyValue) (*objState, error) {
	data, stale, err := s.fromStorage(ctx, kv)
	if err != nil {
		return nil, err
	}
	obj, err := s.decode(data, kv.ModRevision)
	if err != nil {
		return nil, err
	}
	return &objState{obj: obj, data: data, stale: stale, rev: kv.ModRevision}, nil
}

// current reads key's state; ErrCodeKeyNotFound when absent.
func (s *Store) current(ctx context.Context, key string) (*objState, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return nil, mapErr(err, key, 0)
	}
	if len(resp.Kvs) == 0 {
		return nil, &storage.Error{Code: storage.ErrCodeKeyNotFound, Key: key}
	}
	return s.state(ctx, resp.Kvs[0])
}

// fromElse returns the state read by a failed transaction's Else(OpGet).
func (s *Store) fromElse(ctx context.Context, key string, resp *clientv3.TxnResponse) (*objState, error) {
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return nil, &storage.Error{Code: storage.ErrCodeKeyNotFound, Key: key}
	}
	return s.state(ctx, kvs[0])
}

// GuaranteedUpdate implements storage.Interface. A missing key is
// ErrCodeKeyNotFound; failed preconditions are ErrCodeConflict.
func (s *Store) GuaranteedUpdate(ctx context.Context, key string, preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc) (runtime.Object, error) {
	st, err := s.current(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.update(ctx, key, st, preconditions, tryUpdate)
}

var _ storage.GuessUpdater = (*Store)(nil)

// GuaranteedUpdateFrom implements storage.GuessUpdater: the first
// transaction is conditioned on guess's resourceVersion, which saves the
// read of the key when the guess is current. A guess without a
// resourceVersion is ignored.
func (s *Store) GuaranteedUpdateFrom(ctx context.Context, key string, guess runtime.Object, preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc) (runtime.Object, error) {
	if guess == nil {
		return s.GuaranteedUpdate(ctx, key, preconditions, tryUpdate)
	}
	rev, err := s.versioner.ObjectResourceVersion(guess)
	if err != nil || rev <= 0 {
		return s.GuaranteedUpdate(ctx, key, preconditions, tryUpdate)
	}
	return s.update(ctx, key, &objState{obj: guess, rev: rev, guessed: true}, preconditions, tryUpdate)
}

// update runs tryUpdate on st and writes the result conditioned on st's
// revision, again on the state a failed transaction returns, until a
// write succeeds or the answer is an error or a no-op.
func (s *Store) update(ctx context.Context, key string, st *objState, preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc) (runtime.Object, error) {
	for {
		data, write, err := s.attempt(key, st, preconditions, tryUpdate)
		if st.guessed && (err != nil || !write) {
			// The guess may be stale: only the key's state in etcd may
			// decide an error or a no-op.
			if st, err = s.current(ctx, key); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if !write {
			return st.obj, nil
		}
		stored, err := s.toStorage(ctx, key, data)
		if err != nil {
			return nil, err
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", st.rev)).
			Then(clientv3.OpPut(key, string(stored))).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return nil, mapErr(err, key, 0)
		}
		if resp.Succeeded {
			return s.decode(data, resp.Header.Revision)
		}
		if st, err = s.fromElse(ctx, key, resp); err != nil {
			return nil, err
		}
	}
}

// attempt checks preconditions on st and applies tryUpdate to a copy of
// its object; write is false when the result encodes to st's bytes (and
// st is not stale): there is nothing to write.
func (s *Store) attempt(key string, st *objState, preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc) (data []byte, write bool, err error) {
	if err := preconditions.Check(key, st.obj); err != nil {
		return nil, false, err
	}
	updated, err := tryUpdate(st.obj.DeepCopyObject())
	if err != nil {
		return nil, false, err
	}
	if data, err = s.encode(updated); err != nil {
		return nil, false, err
	}
	if st.guessed && st.data == nil {
		// A guess comes without its stored bytes: compare with its
		// encoding (a no-op found so is then checked on a read).
		if st.data, err = s.encode(st.obj); err != nil {
			return nil, false, err
		}
	}
	return data, st.stale || !bytes.Equal(data, st.data), nil
}

// Delete implements storage.Interface. It returns the last state with the
// deletion's revision as resourceVersion.
func (s *Store) Delete(ctx context.Context, key string, preconditions *storage.Preconditions, validate storage.ValidateDeleteFunc) (runtime.Object, error) {
	st, err := s.current(ctx, key)
	if err != nil {
		return nil, err
	}
	for {
		if err := preconditions.Check(key, st.obj); err != nil {
			return nil, err
		}
		if validate != nil {
			if err := validate(st.obj); err != nil {
				return nil, err
			}
		}
		resp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", st.rev)).
			Then(clientv3.OpDelete(key)).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return nil, mapErr(err, key, 0)
		}
		if resp.Succeeded {
			if err := s.versioner.UpdateObject(st.obj, resp.Header.Revision); err != nil {
				return nil, err
			}
			return st.obj, nil
		}
		if st, err = s.fromElse(ctx, key, resp); err != nil {
			return nil, err
		}
	}
}

// Count returns the number of keys under prefix.
func (s *Store) Count(ctx context.Context, key string) (int64, error) {
	prefix := storage.PrefixOf(key)
	resp, err := s.client.Get(ctx, prefix, clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)), clientv3.WithCountOnly())
	if err != nil {
		return 0, mapErr(err, key, 0)
	}
	return resp.Count, nil
}

// encode returns the bytes to store for obj: never with a resourceVersion,
// which lives in the key's ModRevision. obj itself is not modified.
func (s *Store) encode(obj runtime.Object) ([]byte, error) {
	if rv, err := s.versioner.ObjectResourceVersion(obj); err != nil || rv != 0 {
		obj = obj.DeepCopyObject()
		if err := s.versioner.UpdateObject(obj, 0); err != nil {
			return nil, err
		}
	}
	return s.codec.Encode(obj)
}

// toStorage transforms encoded bytes into the value kept at key.
func (s *Store) toStorage(ctx context.Context, key string, data []byte) ([]byte, error) {
	if s.transformer == nil {
		return data, nil
	}
	out, err := s.transformer.TransformToStorage(ctx, data, key)
	if err != nil {
		return nil, fmt.Errorf("transforming the value of %s for storage: %w", key, err)
	}
	return out, nil
}

// fromStorage undoes toStorage on a stored value.
func (s *Store) fromStorage(ctx context.Context, kv *mvccpb.KeyValue) ([]byte, bool, error) {
	if s.transformer == nil {
		return kv.Value, false, nil
	}
	out, stale, err := s.transformer.TransformFromStorage(ctx, kv.Value, string(kv.Key))
	if err != nil {
		return nil, false, fmt.Errorf("reading the stored value of %s: %w", kv.Key, err)
	}
	return out, stale, nil
}

// decodeKV decodes a stored key-value.
func (s *Store) decodeKV(ctx context.Context, kv *mvccpb.KeyValue) (runtime.Object, error) {
	return s.decodeAt(ctx, kv.Key, kv.Value, kv.ModRevision)
}

// decodeAt decodes the stored value of key with resourceVersion rev.
func (s *Store) decodeAt(ctx context.Context, key, value []byte, rev int64) (runtime.Object, error) {
	data, _, err := s.fromStorage(ctx, &mvccpb.KeyValue{Key: key, Value: value})
	if err != nil {
		return nil, err
	}
	return s.decode(data, rev)
}

// decode returns the object in data with resourceVersion rev.
func (s *Store) decode(data []byte, rev int64) (runtime.Object, error) {
	obj, err := s.codec.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("decoding stored object: %w", err)
	}
	if err := s.versioner.UpdateObject(obj, rev); err != nil {
		return nil, err
	}
	return obj, nil
}

// mapErr turns etcd errors into storage errors where they have a meaning
// for the API (compacted → 410, future revision → 504, unavailable → 503).
func mapErr(err error, key string, rv int64) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rpctypes.ErrCompacted):
		return &storage.Error{Code: storage.ErrCodeResourceVersionTooOld, Key: key, ResourceVersion: rv,
			Msg: fmt.Sprintf("The resourceVersion for the provided list is too old: revision %d has been compacted", rv)}
	case errors.Is(err, rpctypes.ErrFutureRev):
		return &storage.Error{Code: storage.ErrCodeTimeout, Key: key, ResourceVersion: rv,
			Msg: fmt.Sprintf("Too large resource version: %d", rv)}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	if c := status.Code(err); c == codes.Unavailable || errors.Is(err, rpctypes.ErrNoLeader) || errors.Is(err, rpctypes.ErrTimeout) {
		return &storage.Error{Code: storage.ErrCodeUnreachable, Key: key, Msg: "etcd unreachable: " + err.Error()}
	}
	return err
}
