package servicealloc

import (
	"context"
	"errors"
	"math/rand/v2"
)

// errFull is returned when a pool has no free value left.
var errFull = errors.New("range is full")

// pool hands out the values at offsets 1..size of a range. The lowest
// static offsets are left to requested values while the rest has room.
type pool struct {
	claims claims
	size   int64
	static int64
	nameAt func(offset int64) string
}

func newPool(c claims, size int64, nameAt func(int64) string) *pool {
	return &pool{claims: c, size: size, static: staticBand(size), nameAt: nameAt}
}

// next claims a free value for owner (dry run: finds one and claims
// nothing).
func (p *pool) next(ctx context.Context, owner string, dryRun bool) (string, error) {
	if dyn := p.size - p.static; dyn > 0 {
		for i := 0; i < probesBeforeFullScan; i++ {
			name := p.nameAt(p.static + 1 + rand.Int64N(dyn))
			ok, err := p.try(ctx, name, owner, dryRun)
			if err != nil || ok {
				return name, err
			}
		}
	}
	// Random probes keep missing: the range is nearly full, so look at
	// what is taken, upper band first.
	taken, err := p.claims.names(ctx)
	if err != nil {
		return "", err
	}
	scan := func(from, to int64) (string, bool, error) {
		for o := from; o <= to; o++ {
			name := p.nameAt(o)
			if taken[name] {
				continue
			}
			ok, err := p.try(ctx, name, owner, dryRun)
			if err != nil || ok {
				return name, true, err
			}
		}
		return "", false, nil
	}
	if name, found, err := scan(p.static+1, p.size); found || err != nil {
		return name, err
	}
	if name, found, err := scan(1, p.static); found || err != nil {
		return name, err
	}
	return "", errFull
}

func (p *pool) try(ctx context.Context, name, owner string, dryRun bool) (bool, error) {
	if dryRun {
		h, err := p.claims.holder(ctx, name)
		return h == "" || h == owner, err
	}
	return p.claims.claim(ctx, name, owner)
}

// take claims a requested value; false means another owner holds it.
func (p *pool) take(ctx context.Context, name, owner string, dryRun bool) (bool, error) {
	return p.try(ctx, name, owner, dryRun)
}
