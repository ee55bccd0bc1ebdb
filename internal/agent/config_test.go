package agent

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestParseLabels(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"", map[string]string{}, ""},
		{"a=1, example.com/rack=7", map[string]string{"a": "1", "example.com/rack": "7"}, ""},
		{"a=", map[string]string{"a": ""}, ""},
		{"novalue", nil, `"novalue" is not key=value`},
		{"=x", nil, "is not key=value"},
	} {
		got, err := ParseLabels(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseLabels(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseLabels(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseTaints(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []corev1.Taint
		err  string
	}{
		{"", nil, ""},
		{"dedicated=infra:NoSchedule,gpu:PreferNoSchedule", []corev1.Taint{
			{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule},
			{Key: "gpu", Effect: corev1.TaintEffectPreferNoSchedule}}, ""},
		{"a=b", nil, "has no effect"},
		{"a=b:Sometimes", nil, `unknown effect "Sometimes"`},
		{"bad key:NoExecute", nil, `key "bad key"`},
	} {
		got, err := ParseTaints(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTaints(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseTaints(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestConfigComplete(t *testing.T) {
	host := func() (string, error) { return "Worker-1", nil }
	c := Config{DataDir: "/d"}
	if err := c.Complete(host); err != nil {
		t.Fatal(err)
	}
	if c.NodeName != "worker-1" || c.NodeIP != DefaultNodeIP || c.Kubeconfig != filepath.Join("/d", "kubelet.conf") ||
		c.BootstrapKubeconfig != filepath.Join("/d", "bootstrap-kubelet.conf") || c.LeaseDurationSeconds != 40 ||
		c.NodeStatusUpdateFrequency != DefaultNodeStatusUpdateFrequency || c.PKIDir() != filepath.Join("/d", "pki") {
		t.Errorf("defaults: %+v", c)
	}
	for _, tc := range []struct {
		c   Config
		err string
	}{
		{Config{}, "--data-dir is required"},
		{Config{DataDir: "/d", NodeName: "Bad_Name"}, `node name "Bad_Name"`},
		{Config{DataDir: "/d", NodeIP: "localhost"}, `--node-ip "localhost" is not an IP address`},
		{Config{DataDir: "/d", Port: 70000}, "--port 70000"},
		{Config{DataDir: "/d", NodeLabels: map[string]string{"a b": "c"}}, `node label key "a b"`},
		{Config{DataDir: "/d", NodeLabels: map[string]string{"node-role.kubernetes.io/control-plane": ""}}, `"node-role.kubernetes.io/control-plane" is in a kubernetes.io`},
		{Config{DataDir: "/d", NodeLabels: map[string]string{"node-restriction.kubernetes.io/pool": "a"}}, "may not set on itself"},
	} {
		err := tc.c.Complete(host)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Complete(%+v) = %v, want %q", tc.c, err, tc.err)
		}
	}
	ok := Config{DataDir: "/d", NodeLabels: map[string]string{"topology.kubernetes.io/zone": "z", "node.kubernetes.io/pool": "p",
		"kubelet.kubernetes.io/x": "y", "example.com/rack": "7"}}
	if err := ok.Complete(host); err != nil {
		t.Errorf("allowed labels: %v", err)
	}
	c = Config{DataDir: "/d"}
	if err := c.Complete(func() (string, error) { return "", errors.New("no uname") }); err == nil || !strings.Contains(err.Error(), "no uname") {
		t.Errorf("unknown host name: %v", err)
	}
}
