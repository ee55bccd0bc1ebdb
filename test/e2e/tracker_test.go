package e2e

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// tracker is what a watcher's event handlers have told us: the live
// objects with their "v" value, and how often each name was deleted.
type tracker struct {
	mu      sync.Mutex
	live    map[string]string
	seen    map[string]bool // names ever added or updated
	deletes map[string]int
}

func newTracker() *tracker {
	return &tracker{live: map[string]string{}, seen: map[string]bool{}, deletes: map[string]int{}}
}

// set records an add or update.
// rootCAConfigMap is published into every namespace by the server (as in
// Kubernetes); tests that count their own ConfigMaps leave it out.
const rootCAConfigMap = "kube-root-ca.crt"

func (tr *tracker) set(cm *corev1.ConfigMap) {
	if cm.Name == rootCAConfigMap {
		return
	}
	tr.mu.Lock()
	tr.live[cm.Name] = cm.Data["v"]
	tr.seen[cm.Name] = true
	tr.mu.Unlock()
}

// del records a delete.
func (tr *tracker) del(name string) {
	if name == rootCAConfigMap {
		return
	}
	tr.mu.Lock()
	delete(tr.live, name)
	tr.deletes[name]++
	tr.mu.Unlock()
}

// diff compares the tracked state with the wanted live objects and the
// names that must have been deleted exactly once; "" means equal. With
// onlySeen, a deleted object the watcher never saw (created and deleted
// while it was relisting after a restart) needs no delete event: a relist
// cannot know of it. Every object it did see still needs exactly one.
func (tr *tracker) diff(want map[string]string, deleted []string, onlySeen bool) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var problems []string
	for name, v := range want {
		if got, ok := tr.live[name]; !ok {
			problems = append(problems, name+" missing")
		} else if got != v {
			problems = append(problems, fmt.Sprintf("%s v=%q want %q", name, got, v))
		}
	}
	for name := range tr.live {
		if _, ok := want[name]; !ok {
			problems = append(problems, name+" should not exist")
		}
	}
	for _, name := range deleted {
		if onlySeen && !tr.seen[name] {
			if n := tr.deletes[name]; n != 0 {
				problems = append(problems, fmt.Sprintf("%s never seen but its delete seen %d times", name, n))
			}
			continue
		}
		if n := tr.deletes[name]; n != 1 {
			problems = append(problems, fmt.Sprintf("%s delete seen %d times", name, n))
		}
	}
	for name, n := range tr.deletes {
		if _, ok := want[name]; ok {
			problems = append(problems, fmt.Sprintf("%s is live but a delete was seen %d times", name, n))
		}
	}
	if len(problems) == 0 {
		return ""
	}
	sort.Strings(problems)
	if len(problems) > 20 {
		problems = append(problems[:20], fmt.Sprintf("… %d more", len(problems)-20))
	}
	return fmt.Sprintf("%d differences: %s", len(problems), strings.Join(problems, "; "))
}
