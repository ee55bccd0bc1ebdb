package embedded

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ProgressNotifySafe reports whether every member of the etcd cluster c
// talks to sends watch progress notifications only after the events
// before them. Releases before 3.4.31 and 3.5.13 could notify a revision
// whose events were still on their way, so a watch cache trusting the
// notification could answer a consistent read without a write that
// finished before it (kube-apiserver also refuses consistent reads from
// its cache on those releases). It returns the oldest version seen.
func ProgressNotifySafe(ctx context.Context, c *clientv3.Client) (bool, string, error) {
	if len(c.Endpoints()) == 0 {
		return false, "", errors.New("etcd client without endpoints")
	}
	safe, oldest := true, ""
	for _, ep := range c.Endpoints() {
		st, err := c.Status(ctx, ep)
		if err != nil {
			return false, "", fmt.Errorf("etcd %s: %w", ep, err)
		}
		if !ProgressNotifyFixed(st.Version) {
			safe, oldest = false, st.Version
		} else if oldest == "" {
			oldest = st.Version
		}
	}
	return safe, oldest, nil
}

// ProgressNotifyFixed reports whether etcd version v (major.minor.patch,
// as `etcd --version` and the Status call give it) has the progress
// notification fix; unparsable versions are not trusted.
func ProgressNotifyFixed(v string) bool {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 3 {
		return false
	}
	var n [3]int
	for i, p := range parts {
		// A patch may carry a suffix ("3.5.13-rc.0"): its digits count.
		end := 0
		for end < len(p) && p[end] >= '0' && p[end] <= '9' {
			end++
		}
		x, err := strconv.Atoi(p[:end])
		if err != nil {
			return false
		}
		n[i] = x
	}
	switch {
	case n[0] != 3:
		return n[0] > 3
	case n[1] == 4:
		return n[2] >= 31
	case n[1] == 5:
		return n[2] >= 13
	default:
		return n[1] > 5
	}
}
