package pki_test

import (
	"strings"
	"testing"

	"github.com/kastle-dev/kastle/internal/pki"
)

func TestLayoutIsValid(t *testing.T) {
	if err := pki.Layout().Validate(pki.Profiles()); err != nil {
		t.Fatal(err)
	}
	for name, p := range pki.Profiles() {
		if err := p.Validate(); err != nil {
			t.Errorf("profile %q: %v", name, err)
		}
	}
}

func TestLayoutValidateRejects(t *testing.T) {
	ca := pki.CertFile{Name: "ca", Base: "ca", CommonName: "kubernetes", Profile: pki.ProfileCA}
	leaf := pki.CertFile{Name: "leaf", Base: "leaf", CA: "ca", CommonName: "x", Profile: pki.ProfileClient}
	mod := func(f pki.CertFile, m func(*pki.CertFile)) pki.CertFile { m(&f); return f }
	tests := []struct {
		name  string
		table pki.LayoutTable
		want  string
	}{
		{"duplicate name", pki.LayoutTable{ca, mod(leaf, func(f *pki.CertFile) { f.Name = "ca" })}, "duplicate name"},
		{"shared file", pki.LayoutTable{ca, mod(leaf, func(f *pki.CertFile) { f.Base = "ca" })}, "share file"},
		{"no place", pki.LayoutTable{ca, mod(leaf, func(f *pki.CertFile) { f.Base = "" })}, "exactly one of"},
		{"two places", pki.LayoutTable{ca, mod(leaf, func(f *pki.CertFile) { f.Kubeconfig = "x.conf" })}, "exactly one of"},
		{"escaping path", pki.LayoutTable{ca, mod(leaf, func(f *pki.CertFile) { f.Base = "../leaf" })}, "clean and relative"},
		{"absolute path", pki.LayoutTable{ca, mod(leaf, func(f *pki.CertFile) { f.Base = "/leaf" })}, "clean and relative"},
		{"unknown profile", pki.LayoutTable{ca, mod(leaf, func(f *pki.CertFile) { f.Profile = "nope" })}, "unknown profile"},
		{"unknown CA", pki.LayoutTable{ca, mod(leaf, func(f *pki.CertFile) { f.CA = "etcd-ca" })}, "unknown CA"},
		{"signer not a CA", pki.LayoutTable{ca, leaf, mod(leaf, func(f *pki.CertFile) { f.Name, f.Base, f.CA = "l2", "l2", "leaf" })},
			"not a CA"},
		{"leaf without CA", pki.LayoutTable{mod(leaf, func(f *pki.CertFile) { f.CA = "" })}, "self-signed exactly"},
		{"CA in kubeconfig", pki.LayoutTable{mod(ca, func(f *pki.CertFile) { f.Base, f.Kubeconfig = "", "ca.conf" })}, "pki files"},
		{"no CN", pki.LayoutTable{mod(ca, func(f *pki.CertFile) { f.CommonName = "" })}, "no common name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.table.Validate(pki.Profiles())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLayoutRows(t *testing.T) {
	l := pki.Layout()
	admin, err := l.Get(pki.CertAdmin)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := admin.Spec(pki.Profiles(), pki.SANs{})
	if err != nil {
		t.Fatal(err)
	}
	if spec.CommonName != "kubernetes-admin" || len(spec.Organization) != 1 || spec.Organization[0] != "system:masters" ||
		admin.Kubeconfig != "admin.conf" {
		t.Errorf("admin row: %+v", admin)
	}
	api, _ := l.Get(pki.CertAPIServer)
	if got := api.CertPath("/d/pki"); got != "/d/pki/apiserver.crt" {
		t.Errorf("CertPath = %s", got)
	}
	if got := api.KeyPath("/d/pki"); got != "/d/pki/apiserver.key" {
		t.Errorf("KeyPath = %s", got)
	}
	if etcd, _ := l.Get(pki.CertEtcdServer); etcd.CA != pki.CertEtcdCA || etcd.CertPath("/d/pki") != "/d/pki/etcd/server.crt" {
		t.Errorf("etcd server row: %+v", etcd)
	}
	if _, err := l.Get("no-such-row"); err == nil {
		t.Error("Get of an unknown row succeeded")
	}
}
