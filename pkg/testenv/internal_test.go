package testenv

import (
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

func TestLogLinesKeepsTheLast(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		max    int
		want   string
	}{
		{"fewer than max", []string{"a\n", "b\n"}, 3, "a\nb"},
		{"more than max", []string{"a\nb\nc\nd\n"}, 2, "c\nd"},
		{"line split across writes", []string{"he", "llo\nwor", "ld\n"}, 5, "hello\nworld"},
		{"unfinished last line", []string{"a\nb"}, 5, "a\nb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var copied strings.Builder
			l := newLogLines(tc.max, &copied)
			for _, w := range tc.writes {
				if n, err := l.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := l.last(); got != tc.want {
				t.Errorf("last() = %q, want %q", got, tc.want)
			}
			if copied.String() != strings.Join(tc.writes, "") {
				t.Errorf("copy = %q", copied.String())
			}
		})
	}
}

func TestPointAt(t *testing.T) {
	ptr := func(s string) *string { return &s }
	tests := []struct {
		name string
		in   admissionregistrationv1.WebhookClientConfig
		want string
	}{
		{"service with path", admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "s", Namespace: "n", Path: ptr("/validate")}}, "https://127.0.0.1:9443/validate"},
		{"service without path", admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "s", Namespace: "n"}}, "https://127.0.0.1:9443"},
		{"URL keeps its path", admissionregistrationv1.WebhookClientConfig{URL: ptr("https://elsewhere.example.com:443/mutate")}, "https://127.0.0.1:9443/mutate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc := tc.in
			cc.CABundle = []byte("old")
			if err := pointAt(&cc, "https://127.0.0.1:9443", []byte("CA")); err != nil {
				t.Fatal(err)
			}
			if cc.Service != nil || cc.URL == nil || *cc.URL != tc.want || string(cc.CABundle) != "CA" {
				t.Errorf("got service %v URL %v CA %q, want URL %s", cc.Service, cc.URL, cc.CABundle, tc.want)
			}
		})
	}
}
