package apiserver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/kastle-dev/kastle/internal/pki"
)

// TestLayoutItems: the front proxy and etcd certificates present in the
// pki directory are looked after — CAs watched, leaves renewed alike.
func TestLayoutItems(t *testing.T) {
	dir := t.TempDir()
	store := pki.Store{Dir: dir}
	ca, err := store.EnsureCA("front-proxy-ca", pki.CertSpec{CommonName: "front-proxy-ca", Validity: pki.CAValidity, IsCA: true})
	if err != nil {
		t.Fatal(err)
	}
	row, _ := pki.Layout().Get(pki.CertFrontProxyClient)
	spec, _ := row.Spec(pki.Profiles(), pki.SANs{})
	old, err := store.EnsureLeaf(row.Base, ca, spec)
	if err != nil {
		t.Fatal(err)
	}
	items := layoutItems(dir, time.Hour)
	byName := map[string]int{}
	for i, it := range items {
		byName[it.Name] = i
	}
	if len(items) != 2 {
		t.Fatalf("items %v, want the front proxy CA and client only (nothing else exists)", byName)
	}
	if items[byName[pki.CertFrontProxyCA]].Renew != nil {
		t.Errorf("a CA would be renewed")
	}
	client := items[byName[pki.CertFrontProxyClient]]
	fresh, err := client.Renew()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.SerialNumber.Cmp(old.Cert.SerialNumber) == 0 || fresh.Subject.CommonName != "front-proxy-client" || fresh.NotAfter.After(time.Now().Add(time.Hour+time.Minute)) {
		t.Errorf("renewed %v until %v", fresh.Subject, fresh.NotAfter)
	}
	if got, err := client.Load(); err != nil || got.SerialNumber.Cmp(fresh.SerialNumber) != 0 {
		t.Errorf("the new certificate is not on disk: %v", err)
	}
	if _, err := (pki.Store{Dir: dir}).EnsureLeaf(row.Base, ca, spec); err != nil {
		t.Errorf("the renewed pair does not check out: %v (%s)", err, filepath.Join(dir, row.Base))
	}
}
