package garbagecollector

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func obj(uid, ns string, owners ...metav1.OwnerReference) *node {
	return &node{uid: types.UID(uid), name: uid, namespace: ns, owners: owners}
}

func owned(uid string, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{UID: types.UID(uid), Name: uid, BlockOwnerDeletion: &block}
}

func foreground(n *node) *node { n.deleting, n.foreground = true, true; return n }

func orphaning(n *node) *node { n.deleting, n.orphan = true, true; return n }

func TestGraphActions(t *testing.T) {
	type step struct {
		observe *node
		forget  string
	}
	for _, tc := range []struct {
		name          string
		steps         []step // the last one's actions are checked
		examine, orph []string
	}{
		{"owner never seen", []step{{observe: obj("d", "ns", owned("o", false))}}, []string{"d"}, nil},
		{"owner present", []step{{observe: obj("o", "ns")}, {observe: obj("d", "ns", owned("o", false))}}, nil, nil},
		{"cluster-scoped owner of a namespaced dependent", []step{{observe: obj("o", "")}, {observe: obj("d", "ns", owned("o", false))}}, nil, nil},
		{"owner in another namespace", []step{{observe: obj("o", "other")}, {observe: obj("d", "ns", owned("o", false))}}, []string{"d"}, nil},
		{"owner gone", []step{{observe: obj("o", "ns")}, {observe: obj("d", "ns", owned("o", false))}, {forget: "o"}}, []string{"d"}, nil},
		{"owner enters foreground deletion", []step{{observe: obj("o", "ns")}, {observe: obj("d", "ns", owned("o", true))},
			{observe: foreground(obj("o", "ns"))}}, []string{"d", "o"}, nil},
		{"owner orphans", []step{{observe: obj("o", "ns")}, {observe: orphaning(obj("o", "ns"))}}, nil, []string{"o"}},
		{"blocking dependent gone", []step{{observe: foreground(obj("o", "ns"))}, {observe: obj("d", "ns", owned("o", true))}, {forget: "d"}},
			[]string{"o"}, nil},
		{"dependent stops blocking", []step{{observe: foreground(obj("o", "ns"))}, {observe: obj("d", "ns", owned("o", true))},
			{observe: obj("d", "ns", owned("o", false))}}, []string{"d", "o"}, nil},
		{"unchanged dependent", []step{{observe: obj("d", "ns", owned("o", false))}, {observe: obj("d", "ns", owned("o", false))}}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph()
			var a actions
			for _, s := range tc.steps {
				if s.observe != nil {
					a = g.observe(s.observe)
				} else {
					a = g.forget(types.UID(s.forget))
				}
			}
			if got := uids(a.examine); !slices.Equal(got, tc.examine) {
				t.Errorf("examine %v, want %v", got, tc.examine)
			}
			if got := uids(a.orphan); !slices.Equal(got, tc.orph) {
				t.Errorf("orphan %v, want %v", got, tc.orph)
			}
		})
	}
}

func uids(us []types.UID) []string {
	var out []string
	for _, u := range us {
		if !slices.Contains(out, string(u)) {
			out = append(out, string(u))
		}
	}
	slices.Sort(out)
	return out
}

func TestGraphBlocking(t *testing.T) {
	g := newGraph()
	g.observe(obj("o", "ns"))
	g.observe(obj("a", "ns", owned("o", true)))
	g.observe(obj("b", "ns", owned("o", false)))
	g.observe(obj("c", "ns", owned("x", true), owned("o", true)))
	var got []string
	for _, n := range g.blocking("o") {
		got = append(got, string(n.uid))
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("blocking %v, want [a c]", got)
	}
	g.forget("a")
	if n := len(g.dependentsOf("o")); n != 2 {
		t.Errorf("%d dependents after one is gone, want 2", n)
	}
}
