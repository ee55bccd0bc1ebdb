package pki_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os/exec"
	"strings"
	"testing"

	"github.com/kastle-dev/kastle/internal/pki"
)

func TestGenerateKeyRoundTrip(t *testing.T) {
	tests := []struct {
		alg     pki.KeyAlgorithm
		pemType string
		bits    int
		slow    bool
	}{
		{"", pki.PEMTypeECPrivateKey, 256, false},
		{pki.ECDSAP256, pki.PEMTypeECPrivateKey, 256, false},
		{pki.ECDSAP384, pki.PEMTypeECPrivateKey, 384, false},
		{pki.RSA2048, pki.PEMTypeRSAPrivateKey, 2048, false},
		{pki.RSA3072, pki.PEMTypeRSAPrivateKey, 3072, true},
		{pki.RSA4096, pki.PEMTypeRSAPrivateKey, 4096, true},
		{pki.Ed25519, pki.PEMTypePrivateKey, 0, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			if tt.slow && testing.Short() {
				t.Skip("slow RSA key generation in -short mode")
			}
			key, err := pki.GenerateKey(tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			switch k := key.(type) {
			case *ecdsa.PrivateKey:
				if k.Curve.Params().BitSize != tt.bits {
					t.Errorf("curve bits = %d, want %d", k.Curve.Params().BitSize, tt.bits)
				}
			case *rsa.PrivateKey:
				if k.N.BitLen() != tt.bits {
					t.Errorf("modulus bits = %d, want %d", k.N.BitLen(), tt.bits)
				}
			}
			data, err := pki.EncodeKeyPEM(key)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := pem.Decode(data); b == nil || b.Type != tt.pemType {
				t.Fatalf("PEM type: got %v, want %q", b, tt.pemType)
			}
			back, err := pki.ParseKeyPEM(data)
			if err != nil {
				t.Fatal(err)
			}
			if !back.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
				t.Error("parsed key differs from generated key")
			}
		})
	}
}

func TestKeyAlgorithmValidate(t *testing.T) {
	for _, alg := range append(pki.KeyAlgorithms(), "") {
		if err := alg.Validate(); err != nil {
			t.Errorf("%q: %v", alg, err)
		}
	}
	for _, alg := range []pki.KeyAlgorithm{"RSA-1024", "ecdsa-p256", "ed25519", "ECDSA-P521"} {
		if err := alg.Validate(); err == nil {
			t.Errorf("%q: want error", alg)
		}
		if _, err := pki.GenerateKey(alg); err == nil {
			t.Errorf("GenerateKey(%q): want error", alg)
		}
	}
}

func TestParseKeyPEMForms(t *testing.T) {
	ec, _ := pki.GenerateKey(pki.ECDSAP256)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalECPrivateKey(ec.(*ecdsa.PrivateKey))
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"pkcs8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), ""},
		{"ec params first", append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})...), ""},
		{"empty", nil, "no private key"},
		{"garbage", []byte("hello"), "no private key"},
		{"certificate only", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), "no private key"},
		{"bad DER", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1, 2, 3}}), "parse"},
		{"encrypted pkcs8", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), "unencrypted"},
		{"legacy encrypted", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
			Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}}), "encrypted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pki.ParseKeyPEM(tt.data)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestParseOpenSSLKeys reads keys made by openssl itself, in every form
// operators are likely to bring.
func TestParseOpenSSLKeys(t *testing.T) {
	requireOpenSSL(t)
	tests := []struct {
		name string
		args []string
	}{
		{"ecparam genkey (with EC PARAMETERS)", []string{"ecparam", "-name", "prime256v1", "-genkey"}},
		{"genpkey ec (PKCS#8)", []string{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"}},
		{"genpkey rsa (PKCS#8)", []string{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}},
		{"genpkey ed25519", []string{"genpkey", "-algorithm", "ED25519"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command("openssl", tt.args...).Output()
			if err != nil {
				t.Fatalf("openssl %v: %v", tt.args, err)
			}
			if _, err := pki.ParseKeyPEM(out); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPublicKeyPEM(t *testing.T) {
	key, _ := pki.GenerateKey(pki.RSA2048)
	data, err := pki.EncodePublicKeyPEM(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pki.ParsePublicKeysPEM(data)
	if err != nil || len(keys) != 1 || !key.Public().(*rsa.PublicKey).Equal(keys[0]) {
		t.Fatalf("round trip: %v %v", keys, err)
	}
	if _, err := pki.ParsePublicKeysPEM([]byte("nope")); err == nil {
		t.Fatal("want error for non-PEM")
	}
}

// requireOpenSSL skips the test when the openssl binary is missing.
func requireOpenSSL(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
}

// TestKeyFormsReadByOpenSSL writes every key type in each unencrypted
// output form (traditional, PKCS #8) and has openssl read it back; the
// encrypted form is TestEncryptedPKCS8's.
func TestKeyFormsReadByOpenSSL(t *testing.T) {
	for _, alg := range []pki.KeyAlgorithm{pki.ECDSAP256, pki.ECDSAP384, pki.RSA2048, pki.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			key, err := pki.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := pki.KeyAlgorithmOf(key); err != nil || got != alg {
				t.Fatalf("KeyAlgorithmOf = %q, %v", got, err)
			}
			trad, _ := pki.EncodeKeyPEM(key)
			p8, err := pki.EncodeKeyPKCS8PEM(key)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := pem.Decode(p8); b == nil || b.Type != pki.PEMTypePrivateKey {
				t.Fatalf("PKCS #8 PEM type %v", b)
			}
			for _, data := range [][]byte{trad, p8} {
				back, err := pki.ParseKeyPEM(data)
				if err != nil || !back.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
					t.Fatalf("round trip: %v", err)
				}
			}
			if _, err := exec.LookPath("openssl"); err != nil {
				return
			}
			dir := t.TempDir()
			for name, data := range map[string][]byte{"trad.pem": trad, "p8.pem": p8} {
				f := writeTemp(t, dir, name, data)
				openssl(t, "pkey", "-in", f, "-noout")
			}
		})
	}
}
