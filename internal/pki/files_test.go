package pki_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kastle-dev/kastle/internal/pki"
)

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name      string
		existing  []byte // nil: absent
		overwrite bool
		mode      fs.FileMode
		wantErr   string
		want      string
	}{
		{name: "new key file", mode: pki.KeyFileMode, want: "new"},
		{name: "new cert file", mode: pki.CertFileMode, want: "new"},
		{name: "refuses to clobber", existing: []byte("old"), mode: pki.KeyFileMode, wantErr: "refusing to overwrite", want: "old"},
		{name: "overwrite replaces", existing: []byte("old"), overwrite: true, mode: pki.KubeconfigFileMode, want: "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a", "b")
			path := filepath.Join(dir, "f")
			if tt.existing != nil {
				os.MkdirAll(dir, 0o755)
				writeFile(t, path, tt.existing)
			}
			err := pki.WriteFileAtomic(path, []byte("new"), tt.mode, tt.overwrite)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(path); string(got) != tt.want {
				t.Errorf("content = %q, want %q", got, tt.want)
			}
			if tt.wantErr == "" {
				if fi, _ := os.Stat(path); fi.Mode() != tt.mode {
					t.Errorf("mode = %v, want %v", fi.Mode(), tt.mode)
				}
			}
			if tt.existing == nil {
				if fi, _ := os.Stat(dir); fi.Mode().Perm() != pki.DirMode {
					t.Errorf("dir mode = %v", fi.Mode())
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("%d entries left in dir, want 1 (temp file leaked?)", len(entries))
			}
		})
	}
}

func TestParseCertsPEM(t *testing.T) {
	a, b := newCA(t, "a"), newCA(t, "b")
	bundle := pki.EncodeCertPEM(a.Cert, b.Cert)
	tests := []struct {
		name    string
		data    []byte
		n       int
		wantErr string
	}{
		{"bundle", bundle, 2, ""},
		{"with comments and a key", append([]byte("# comment\n"), append(bundle, encodeKey(t, a.Key)...)...), 2, ""},
		{"empty", nil, 0, "no CERTIFICATE"},
		{"truncated", bundle[:len(bundle)-40], 0, "truncated"},
		{"bad DER", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0, "certificate 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := pki.ParseCertsPEM(tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(certs) != tt.n {
				t.Fatalf("got %d certs, error %v", len(certs), err)
			}
		})
	}
}
