package manager

import (
	"io"
	"log/slog"
	"slices"
	"testing"

	"k8s.io/client-go/rest"
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

func TestClientDefaults(t *testing.T) {
	for _, tc := range []struct {
		name        string
		qps         float32
		burst       int
		contentType string
		wantQPS     float32
		wantBurst   int
		wantType    string
		wantErr     bool
	}{
		{name: "defaults", wantQPS: DefaultQPS, wantBurst: DefaultBurst, wantType: "application/vnd.kubernetes.protobuf"},
		{name: "set", qps: 1000, burst: 2000, contentType: "application/json", wantQPS: 1000, wantBurst: 2000, wantType: "application/json"},
		{name: "no limit", qps: -1, wantQPS: -1, wantBurst: DefaultBurst, wantType: "application/vnd.kubernetes.protobuf"},
		{name: "negative burst", burst: -1, wantErr: true},
		{name: "unknown content type", contentType: "application/yaml", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Client: &rest.Config{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), QPS: tc.qps, Burst: tc.burst, ContentType: tc.contentType}
			err := cfg.defaults()
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err == nil && (cfg.QPS != tc.wantQPS || cfg.Burst != tc.wantBurst || cfg.ContentType != tc.wantType) {
				t.Errorf("got QPS %v burst %d type %q, want %v %d %q", cfg.QPS, cfg.Burst, cfg.ContentType, tc.wantQPS, tc.wantBurst, tc.wantType)
			}
		})
	}
}
