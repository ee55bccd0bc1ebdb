package caserver

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	capb "github.com/kastle-dev/kastle/internal/caserver/proto"
	"github.com/kastle-dev/kastle/internal/pki"
)

// ClientConfig says how to reach and authenticate to a CA service.
type ClientConfig struct {
	// Server is HOST:PORT of the CA service.
	Server string
	// GRPC talks to a --grpc service instead of HTTPS.
	GRPC bool
	// CAFile is the CA certificate the service's certificate must chain to.
	CAFile string
	// CertFile and KeyFile are the client identity for mTLS (optional when
	// TokenFile is given).
	CertFile, KeyFile string
	// TokenFile holds a bearer token (first line), for a service without mTLS.
	TokenFile string
}

// RequestConfig is `kastle ca request`'s configuration: the requester side.
type RequestConfig struct {
	ClientConfig
	// CN, Hosts (DNS names, IPs, URIs, emails) and Profile describe the
	// certificate wanted.
	CN      string
	Hosts   []string
	Profile string
	// Out is the prefix of the files written: Out.crt and Out.key (0600).
	Out string
	// KeyAlgorithm of the new key; "" means ECDSA P-256.
	KeyAlgorithm pki.KeyAlgorithm
}

// Request makes a key locally, sends a CSR and writes Out.crt and Out.key.
// The key never leaves this process except into Out.key (0600). Files are
// written only after the answer is checked to certify that key, key first
// and each atomically: a failed request leaves existing files alone, and a
// crash between the two writes leaves a key without its certificate (run
// the request again), never a certificate without its key.
func Request(ctx context.Context, cfg RequestConfig) error {
	if cfg.Server == "" || cfg.CAFile == "" || cfg.CN == "" || cfg.Out == "" {
		return errors.New("caserver: request needs --server, --ca-file, --cn and --out")
	}
	sans, err := pki.ParseHosts(cfg.Hosts)
	if err != nil {
		return fmt.Errorf("caserver: --hosts: %w", err)
	}
	key, err := pki.GenerateKey(cfg.KeyAlgorithm)
	if err != nil {
		return err
	}
	csrPEM, err := pki.CreateCSR(key, pki.CertSpec{CommonName: cfg.CN, DNSNames: sans.DNSNames, IPs: sans.IPs,
		URIs: sans.URIs, EmailAddresses: sans.Emails})
	if err != nil {
		return err
	}
	tlsCfg, token, err := cfg.clientTLS()
	if err != nil {
		return err
	}
	var chain []byte
	if cfg.GRPC {
		chain, err = requestGRPC(ctx, cfg, tlsCfg, token, csrPEM)
	} else {
		chain, err = requestHTTP(ctx, cfg, tlsCfg, token, csrPEM)
	}
	if err != nil {
		return err
	}
	certs, err := pki.ParseCertsPEM(chain)
	if err != nil {
		return fmt.Errorf("caserver: the service answered with no certificate: %w", err)
	}
	if !certs[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
		return errors.New("caserver: the issued certificate is not for the key sent")
	}
	keyPEM, err := pki.EncodeKeyPEM(key)
	if err != nil {
		return err
	}
	if err := pki.WriteFileAtomic(cfg.Out+pki.KeyExt, keyPEM, pki.KeyFileMode, true); err != nil {
		return err
	}
	return pki.WriteFileAtomic(cfg.Out+pki.CertExt, chain, pki.CertFileMode, true)
}

// clientTLS builds the TLS client configuration and reads the token.
func (cfg ClientConfig) clientTLS() (*tls.Config, string, error) {
	caPEM, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, "", fmt.Errorf("caserver: --ca-file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, "", fmt.Errorf("caserver: --ca-file %s holds no PEM certificate", cfg.CAFile)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("caserver: --cert/--key: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	var token string
	if cfg.TokenFile != "" {
		data, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return nil, "", fmt.Errorf("caserver: --token-file: %w", err)
		}
		token, _, _ = strings.Cut(strings.TrimSpace(string(data)), "\n")
		token, _, _ = strings.Cut(token, ",") // a token-file line also works
		token = strings.TrimSpace(token)
	}
	if len(tc.Certificates) == 0 && token == "" {
		return nil, "", errors.New("caserver: request needs --cert/--key (mTLS) or --token-file")
	}
	return tc, token, nil
}

// requestHTTP posts the CSR to /csr.
func requestHTTP(ctx context.Context, cfg RequestConfig, tc *tls.Config, token string, csrPEM []byte) ([]byte, error) {
	path := "/csr"
	if cfg.Profile != "" {
		path += "?profile=" + cfg.Profile
	}
	return post(ctx, tc, token, cfg.Server, path, ContentTypePKCS10, csrPEM, http.StatusCreated)
}

// post sends body to https://server+path with the caller's credentials
// and returns the answer when its status is want; otherwise an error with
// the service's message.
func post(ctx context.Context, tc *tls.Config, token, server, path, contentType string, body []byte, want int) ([]byte, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	defer client.CloseIdleConnections()
	u := "https://" + server + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("caserver: POST %s: %w", u, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		var e errorBody
		if json.Unmarshal(answer, &e) == nil && e.Message != "" {
			return nil, fmt.Errorf("caserver: POST %s: %s: %s", u, resp.Status, e.Message)
		}
		return nil, fmt.Errorf("caserver: POST %s: %s", u, resp.Status)
	}
	return answer, nil
}

// callGRPC dials server with the caller's credentials and runs call on
// the CertificateService within 30 s.
func callGRPC(ctx context.Context, tc *tls.Config, token, server string, call func(context.Context, capb.CertificateServiceClient) error) error {
	conn, err := grpc.NewClient(server, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	return call(ctx, capb.NewCertificateServiceClient(conn))
}

// requestGRPC calls SignPemCsr.
func requestGRPC(ctx context.Context, cfg RequestConfig, tc *tls.Config, token string, csrPEM []byte) ([]byte, error) {
	var cert []byte
	err := callGRPC(ctx, tc, token, cfg.Server, func(ctx context.Context, c capb.CertificateServiceClient) error {
		resp, err := c.SignPemCsr(ctx, &capb.PemCsrRequest{Csr: csrPEM, Profile: cfg.Profile})
		if err != nil {
			return fmt.Errorf("caserver: SignPemCsr at %s: %w", cfg.Server, err)
		}
		cert = resp.GetCertificate()
		return nil
	})
	return cert, err
}

// Revoke asks the service to revoke the certificate id (a serial in hex)
// with an RFC 5280 reason code, and returns the updated record.
func Revoke(ctx context.Context, cfg ClientConfig, id string, reason int) (*Record, error) {
	if cfg.Server == "" || cfg.CAFile == "" || id == "" {
		return nil, errors.New("caserver: revoke needs --server, --ca-file and --id")
	}
	tc, token, err := cfg.clientTLS()
	if err != nil {
		return nil, err
	}
	var body []byte
	if cfg.GRPC {
		err = callGRPC(ctx, tc, token, cfg.Server, func(ctx context.Context, c capb.CertificateServiceClient) error {
			resp, err := c.Revoke(ctx, &capb.RevokeRequest{Id: id, Reason: int32(reason)})
			if err != nil {
				return fmt.Errorf("caserver: Revoke at %s: %w", cfg.Server, err)
			}
			body = resp.GetContents()
			return nil
		})
	} else {
		reqBody, _ := json.Marshal(RevokeRequest{ID: id, Reason: reason})
		body, err = post(ctx, tc, token, cfg.Server, "/revoke", ContentTypeJSON, reqBody, http.StatusOK)
	}
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal(body, &rec); err != nil {
		return nil, fmt.Errorf("caserver: revoke: unreadable answer: %w", err)
	}
	return &rec, nil
}
