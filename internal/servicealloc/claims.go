package servicealloc

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// claims is a set of allocated values under one etcd prefix: the key is
// the value (an IP or a port), the content its owner.
type claims struct {
	client *clientv3.Client
	prefix string // ends in "/"
}

// claim takes name for owner. It reports false when another owner holds
// it; holding it already is success.
func (c claims) claim(ctx context.Context, name, owner string) (bool, error) {
	key := c.prefix + name
	resp, err := c.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, owner)).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return false, fmt.Errorf("claiming %s: %w", key, err)
	}
	if resp.Succeeded {
		return true, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	return len(kvs) == 1 && string(kvs[0].Value) == owner, nil
}

// holder returns who holds name ("" when nobody does).
func (c claims) holder(ctx context.Context, name string) (string, error) {
	resp, err := c.client.Get(ctx, c.prefix+name)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", c.prefix+name, err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// release gives name back if owner still holds it.
func (c claims) release(ctx context.Context, name, owner string) error {
	key := c.prefix + name
	_, err := c.client.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", owner)).
		Then(clientv3.OpDelete(key)).
		Commit()
	if err != nil {
		return fmt.Errorf("releasing %s: %w", key, err)
	}
	return nil
}

// claimed is one stored claim.
type claimed struct {
	owner  string
	modRev int64
}

// list returns every claim by name.
func (c claims) list(ctx context.Context) (map[string]claimed, error) {
	resp, err := c.client.Get(ctx, c.prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", c.prefix, err)
	}
	out := make(map[string]claimed, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[string(kv.Key[len(c.prefix):])] = claimed{owner: string(kv.Value), modRev: kv.ModRevision}
	}
	return out, nil
}

// names returns the claimed names only (a cheaper listing for the scan of
// a nearly full range).
func (c claims) names(ctx context.Context) (map[string]bool, error) {
	resp, err := c.client.Get(ctx, c.prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", c.prefix, err)
	}
	out := make(map[string]bool, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[string(kv.Key[len(c.prefix):])] = true
	}
	return out, nil
}

// deleteIfUnchanged removes name when it was not written since modRev.
func (c claims) deleteIfUnchanged(ctx context.Context, name string, modRev int64) error {
	key := c.prefix + name
	_, err := c.client.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", modRev)).
		Then(clientv3.OpDelete(key)).
		Commit()
	return err
}

// restore claims name for owner only while nobody holds it and the
// object at guardKey is still at revision guardRev: a repair acting on a
// listing never resurrects the claim of a service deleted since.
func (c claims) restore(ctx context.Context, name, owner, guardKey string, guardRev int64) (bool, error) {
	key := c.prefix + name
	resp, err := c.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0),
			clientv3.Compare(clientv3.ModRevision(guardKey), "=", guardRev)).
		Then(clientv3.OpPut(key, owner)).
		Commit()
	if err != nil {
		return false, fmt.Errorf("restoring %s: %w", key, err)
	}
	return resp.Succeeded, nil
}
