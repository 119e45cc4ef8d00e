package enroll

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Keys protect SSNs at rest: AES-256-GCM for the stored value, HMAC-SHA256
// for the match key, and the key of the staged copies of vendor files. All
// are derived from one 32-byte master key under their own labels, so no two
// uses share the same bytes.
type Keys struct {
	aead    cipher.AEAD
	mac     []byte
	content []byte
	staging []byte
	dob     []byte
}

// NewKeys derives the SSN keys from a 32-byte master key.
func NewKeys(master []byte) (*Keys, error) {
	if len(master) != 32 {
		return nil, fmt.Errorf("enroll: key must be 32 bytes, got %d", len(master))
	}
	derive := func(label string) []byte {
		h := hmac.New(sha256.New, master)
		h.Write([]byte(label))
		return h.Sum(nil)
	}
	block, err := aes.NewCipher(derive("enrollsftp ssn encryption v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{aead: aead, mac: derive("enrollsftp ssn match v1"), content: derive("enrollsftp content v1"),
		staging: derive("enrollsftp staging at rest v1"), dob: derive("enrollsftp dob tag v1")}, nil
}

// ParseKey decodes a master key given as base64 text (or 32 raw bytes, as a
// key file may hold).
func ParseKey(b []byte) ([]byte, error) {
	if len(b) == 32 {
		return b, nil
	}
	s := strings.TrimSpace(string(b))
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		k, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("enroll: key is not base64: %w", err)
	}
	if len(k) != 32 {
		return nil, fmt.Errorf("enroll: key must decode to 32 bytes, got %d", len(k))
	}
	return k, nil
}

// LoadOrCreateKey reads a key file, or creates one (mode 0600) holding a new
// random key when it does not exist; created reports which happened.
// Processes that start together on a new ledger all get the one key: it
// is written whole to a temporary file first and linked into place, which
// fails for all but the first, who then read the winner's.
func LoadOrCreateKey(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(b)
		return k, false, err
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("enroll: read key: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, false, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".key-*") // mode 0600
	if err != nil {
		return nil, false, fmt.Errorf("enroll: create key: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("enroll: write key: %w", err)
	}
	if err := os.Link(f.Name(), path); errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKey(path) // another process created it first
	} else if err != nil {
		return nil, false, fmt.Errorf("enroll: create key: %w", err)
	}
	return k, true, nil
}

// Staging is the 32-byte secret staged copies of vendor files are
// encrypted under (internal/atrest): each holds a whole file's SSNs.
func (k *Keys) Staging() []byte {
	if k == nil {
		return nil
	}
	return k.staging
}

// MatchKey is the keyed hash persons are matched on.
func (k *Keys) MatchKey(ssn string) []byte {
	h := hmac.New(sha256.New, k.mac)
	h.Write([]byte(ssn))
	return h.Sum(nil)
}

// Content keys a row's content hash. The hash covers the SSN, and every
// other cell of the row is in the ledger in plain text: unkeyed, it could
// be reversed by trying all 10⁹ SSNs. Keyed, it can only be compared.
func (k *Keys) Content(sum string) string {
	h := hmac.New(sha256.New, k.content)
	h.Write([]byte(sum))
	return hex.EncodeToString(h.Sum(nil))
}

// DOBTag is what a person's audit snapshot keeps of their date of birth:
// the first four bytes of a keyed hash of the date, in hex. The same date
// has the same tag, so a changed date shows as a changed tag without
// showing the date, and the tag cannot be turned back into the date
// without the key (the ledger's other columns hold the date itself: the
// tag tells whoever reads the ledger nothing new). "" for no date.
func (k *Keys) DOBTag(dob string) string {
	if dob == "" {
		return ""
	}
	var key []byte
	if k != nil {
		key = k.dob
	}
	h := hmac.New(sha256.New, key)
	h.Write([]byte(dob))
	return hex.EncodeToString(h.Sum(nil)[:4])
}

// Seal encrypts an SSN: nonce || ciphertext.
func (k *Keys) Seal(ssn string) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.aead.Seal(nonce, nonce, []byte(ssn), nil), nil
}

// Open decrypts what Seal produced.
func (k *Keys) Open(sealed []byte) (string, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("enroll: sealed SSN too short")
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", fmt.Errorf("enroll: decrypt SSN: %w", err)
	}
	return string(plain), nil
}
