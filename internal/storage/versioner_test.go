package storage

import (
	"encoding/base64"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestAPIObjectVersioner(t *testing.T) {
	for _, obj := range []runtime.Object{&corev1.ConfigMap{}, &unstructured.Unstructured{Object: map[string]any{}}} {
		v := APIObjectVersioner{}
		if err := v.UpdateObject(obj, 17); err != nil {
			t.Fatal(err)
		}
		if rv, err := v.ObjectResourceVersion(obj); err != nil || rv != 17 {
			t.Errorf("%T: rv %d, %v", obj, rv, err)
		}
		if err := v.UpdateObject(obj, 0); err != nil {
			t.Fatal(err)
		}
		if rv, err := v.ObjectResourceVersion(obj); err != nil || rv != 0 {
			t.Errorf("%T: rv %d, %v after reset", obj, rv, err)
		}
	}
}

func TestParseResourceVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{{"", 0, false}, {"0", 0, false}, {"123", 123, false}, {"-1", 0, true}, {"abc", 0, true}, {"1.5", 0, true}}
	for _, tc := range tests {
		got, err := ParseResourceVersion(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseResourceVersion(%q) = %d, %v", tc.in, got, err)
		}
		if err != nil && CodeOf(err) != ErrCodeInvalidResourceVersion {
			t.Errorf("ParseResourceVersion(%q) error code %d", tc.in, CodeOf(err))
		}
	}
}

func TestContinueTokens(t *testing.T) {
	const prefix = "/registry/pods/"
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name    string
		token   string
		wantKey string
		wantRV  int64
	}{
		{name: "round trip", token: EncodeContinue("ns/a", 7), wantKey: prefix + "ns/a\x00", wantRV: 7},
		{name: "kube-apiserver token", token: raw(`{"v":"meta.k8s.io/v1","rv":9,"start":"b\u0000"}`), wantKey: prefix + "b\x00", wantRV: 9},
		{name: "not base64", token: "%%%"},
		{name: "padded base64", token: base64.URLEncoding.EncodeToString([]byte(`{"v":"meta.k8s.io/v1","rv":9,"start":"b"}`))},
		{name: "not json", token: raw("nope")},
		{name: "wrong version", token: raw(`{"v":"v2","rv":9,"start":"b"}`)},
		{name: "zero rv", token: raw(`{"v":"meta.k8s.io/v1","rv":0,"start":"b"}`)},
		{name: "empty start", token: raw(`{"v":"meta.k8s.io/v1","rv":9,"start":""}`)},
		{name: "absolute", token: raw(`{"v":"meta.k8s.io/v1","rv":9,"start":"/registry/secrets/x"}`)},
		{name: "dot dot", token: EncodeContinue("../secrets/x", 9)},
		{name: "inner dot dot", token: EncodeContinue("ns/../../secrets", 9)},
		{name: "double slash", token: EncodeContinue("ns//x", 9)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, rv, err := DecodeContinue(tc.token, prefix)
			if tc.wantKey == "" {
				if CodeOf(err) != ErrCodeInvalidContinue {
					t.Fatalf("got %q, %d, %v; want an invalid continue error", key, rv, err)
				}
				return
			}
			if err != nil || key != tc.wantKey || rv != tc.wantRV {
				t.Fatalf("got %q, %d, %v; want %q, %d", key, rv, err, tc.wantKey, tc.wantRV)
			}
		})
	}
}

func TestPreconditionsCheck(t *testing.T) {
	obj := &corev1.ConfigMap{}
	obj.UID, obj.ResourceVersion = "u1", "5"
	s := func(v string) *string { return &v }
	tests := []struct {
		p    *Preconditions
		want bool
	}{
		{nil, true},
		{&Preconditions{}, true},
		{&Preconditions{UID: s("u1"), ResourceVersion: s("5")}, true},
		{&Preconditions{UID: s("u2")}, false},
		{&Preconditions{ResourceVersion: s("4")}, false},
	}
	for i, tc := range tests {
		err := tc.p.Check("k", obj)
		if (err == nil) != tc.want || (err != nil && !IsConflict(err)) {
			t.Errorf("case %d: %v", i, err)
		}
	}
}
