package authn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/kastle-dev/kastle/internal/auth/user"
)

// FileConfig configures an authenticator backed by a file that is
// reloaded when it changes.
type FileConfig struct {
	// Path is the file. Required.
	Path string
	// Now is the clock that paces reload checks. Required.
	Now func() time.Time
	// Log receives reload failures and successes. Required.
	Log *slog.Logger
	// ReloadInterval is the least time between two stats of the file;
	// zero means DefaultReloadInterval.
	ReloadInterval time.Duration
}

// credentialRecord is one line of a token or password file.
type credentialRecord struct {
	secret string
	info   user.Info
}

// parseCredentialCSV reads lines "secret,user,uid[,"group1,group2"]" with
// encoding/csv. Blank lines are skipped; a line with fewer than three
// fields, an empty secret or user, or a secret repeated is an error (the
// line number says where; the secret itself is never in the message).
func parseCredentialCSV(data []byte, secretName string) ([]credentialRecord, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var out []credentialRecord
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		if len(rec) < 3 {
			return nil, fmt.Errorf("line %d: want at least 3 fields (%s,user,uid), got %d", line, secretName, len(rec))
		}
		secret, name, uid := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1]), strings.TrimSpace(rec[2])
		if secret == "" {
			return nil, fmt.Errorf("line %d: empty %s", line, secretName)
		}
		if name == "" {
			return nil, fmt.Errorf("line %d: empty user name", line)
		}
		if prev, dup := seen[secret]; dup {
			return nil, fmt.Errorf("line %d: same %s as line %d", line, secretName, prev)
		}
		seen[secret] = line
		info := user.Info{Name: name, UID: uid}
		if len(rec) > 3 {
			for _, g := range strings.Split(rec[3], ",") {
				if g = strings.TrimSpace(g); g != "" {
					info.Groups = append(info.Groups, g)
				}
			}
		}
		out = append(out, credentialRecord{secret: secret, info: info})
	}
	return out, nil
}

// copyInfo returns a copy the caller may modify.
func copyInfo(in *user.Info) *user.Info {
	out := &user.Info{Name: in.Name, UID: in.UID, Groups: append([]string(nil), in.Groups...)}
	if len(in.Extra) > 0 {
		out.Extra = make(map[string][]string, len(in.Extra))
		for k, v := range in.Extra {
			out.Extra[k] = append([]string(nil), v...)
		}
	}
	return out
}

// tokenTable maps the SHA-256 of each token to its user.
type tokenTable map[[sha256.Size]byte]*tokenEntry

type tokenEntry struct {
	digest [sha256.Size]byte
	info   user.Info
}

// TokenFile is the static token authenticator (--token-auth-file): a CSV
// file of lines `token,user,uid,"group1,group2"` (the groups column is
// optional), checked against "Authorization: Bearer <token>" through a
// BearerTokenUnion. The file is reloaded when it changes (see
// FileConfig); a reload that fails keeps the previous tokens.
//
// Tokens are never held or compared in the clear: the table is keyed by
// the SHA-256 of each token and the match is confirmed with
// subtle.ConstantTimeCompare, so neither a token's length nor a common
// prefix with a guess shows in the response time.
type TokenFile struct {
	file *reloadingFile[tokenTable]
}

var _ TokenAuthenticator = (*TokenFile)(nil)

// NewTokenFile loads cfg.Path. It fails if the file cannot be read or
// parsed, or a dependency is missing.
func NewTokenFile(cfg FileConfig) (*TokenFile, error) {
	f, err := newReloadingFile(cfg.Path, "token file", parseTokenFile, cfg.Now, cfg.ReloadInterval, cfg.Log)
	if err != nil {
		return nil, err
	}
	return &TokenFile{file: f}, nil
}

// parseTokenFile builds the digest table of a token file.
func parseTokenFile(data []byte) (tokenTable, error) {
	recs, err := parseCredentialCSV(data, "token")
	if err != nil {
		return nil, err
	}
	t := make(tokenTable, len(recs))
	for _, r := range recs {
		d := sha256.Sum256([]byte(r.secret))
		t[d] = &tokenEntry{digest: d, info: r.info}
	}
	return t, nil
}

// AuthenticateToken returns the token's user, or (nil, false, nil) for a
// token not in the file.
func (a *TokenFile) AuthenticateToken(_ context.Context, token string) (*user.Info, bool, error) {
	d := sha256.Sum256([]byte(token))
	e, ok := a.file.get()[d]
	if !ok || subtle.ConstantTimeCompare(e.digest[:], d[:]) != 1 {
		return nil, false, nil
	}
	return copyInfo(&e.info), true, nil
}
