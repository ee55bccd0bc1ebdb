package manager

import (
	"slices"
	"testing"
)

func TestSelectControllers(t *testing.T) {
	all := ControllerNames()
	without := func(names ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(n string) bool { return slices.Contains(names, n) })
	}
	for _, tc := range []struct {
		list    []string
		want    []string
		wantErr bool
	}{
		{nil, all, false},
		{[]string{"*"}, all, false},
		{[]string{"*", "-garbagecollector", "-namespace"}, without(GarbageCollector, Namespace), false},
		{[]string{"namespace", "serviceaccount-token"}, []string{Namespace, ServiceAccountToken}, false},
		{[]string{"-csrsigning", "*"}, without(CSRSigning), false},
		{[]string{"-namespace"}, nil, false},
		{[]string{"*", "nosuch"}, nil, true},
		{[]string{"-nosuch"}, nil, true},
	} {
		got, err := selectControllers(tc.list)
		if (err != nil) != tc.wantErr {
			t.Errorf("%v: error %v, want error %v", tc.list, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		var on []string
		for _, n := range all {
			if got[n] {
				on = append(on, n)
			}
		}
		slices.Sort(on)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(on, want) {
			t.Errorf("%v: %v, want %v", tc.list, on, want)
		}
	}
}
