// Package atrest encrypts the staged copies of vendor files, which hold
// every SSN and date of birth of a census in the clear, while they wait on
// disk for a rerun.
//
// The format is age (filippo.io/age, age-encryption.org/v1): a random file
// key per file, the payload in 64 KiB ChaCha20-Poly1305 chunks (STREAM), so
// a file is written and read as a stream and a truncated or altered file is
// an error, never short data. The file key is wrapped by a symmetric
// stanza keyed from the ledger master key (see Key): nothing but the
// ledger's key file opens a staged copy.
//
// Files staged before encryption are plaintext. Readers tell them apart by
// age's header line, which a CSV or an OpenPGP message never starts with.
package atrest

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
)

// Magic is how every file this package writes starts (age's header line).
const Magic = "age-encryption.org/v1\n"

// stanzaType names the stanza that wraps a file key with a Key.
const stanzaType = "enrollsftp-staging-v1"

// ErrWrongKey is a staged copy encrypted under another master key.
var ErrWrongKey = errors.New("atrest: the staged copy was encrypted with another ledger key")

// Key encrypts and decrypts staged copies. The nil *Key writes plaintext
// (a client used outside the pipeline, tests); it still reads plaintext,
// but not an encrypted file.
type Key struct {
	secret []byte
}

// NewKey makes a Key from 32 secret bytes (derived from the ledger master
// key for this use alone: enroll.Keys.Staging).
func NewKey(secret []byte) (*Key, error) {
	if len(secret) != 32 {
		return nil, fmt.Errorf("atrest: key must be 32 bytes, got %d", len(secret))
	}
	return &Key{secret: bytes.Clone(secret)}, nil
}

// Encrypt returns a writer whose bytes reach w encrypted. Close writes the
// last chunk and its tag, and must be called (it does not close w). A nil
// Key passes the bytes through.
func (k *Key) Encrypt(w io.Writer) (io.WriteCloser, error) {
	if k == nil {
		return nopCloser{w}, nil
	}
	ew, err := age.Encrypt(w, k)
	if err != nil {
		return nil, fmt.Errorf("atrest: encrypt: %w", err)
	}
	return ew, nil
}

// Decrypt returns the plaintext of r: decrypted when r starts with the age
// header, as it is otherwise (a file staged before encryption).
func (k *Key) Decrypt(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(len(Magic))
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("atrest: %w", err)
	}
	if string(head) != Magic {
		return br, nil // legacy plaintext
	}
	if k == nil {
		return nil, errors.New("atrest: the staged copy is encrypted and no key was given")
	}
	dr, err := age.Decrypt(br, k)
	var none *age.NoIdentityMatchError
	if errors.As(err, &none) {
		return nil, ErrWrongKey
	}
	if err != nil {
		return nil, fmt.Errorf("atrest: decrypt: %w", err)
	}
	return dr, nil
}

// Open opens a staged file for reading its plaintext.
func (k *Key) Open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := k.Decrypt(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return readCloser{r, f}, nil
}

// Encrypted reports whether the file at path is encrypted at rest (starts
// with the age header).
func Encrypted(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, len(Magic))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	return string(head[:n]) == Magic, nil
}

// Wrap implements age.Recipient: the file key is sealed with
// ChaCha20-Poly1305 under a key derived (HKDF-SHA256) from the secret and a
// random salt carried in the stanza, as age's own X25519 and scrypt
// stanzas do with their shared secrets.
func (k *Key) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	aead, err := k.wrapAEAD(salt)
	if err != nil {
		return nil, err
	}
	body := aead.Seal(nil, make([]byte, chacha20poly1305.NonceSize), fileKey, nil)
	return []*age.Stanza{{Type: stanzaType, Args: []string{base64.RawStdEncoding.EncodeToString(salt)}, Body: body}}, nil
}

// Unwrap implements age.Identity.
func (k *Key) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		if s.Type != stanzaType {
			continue
		}
		if len(s.Args) != 1 {
			return nil, errors.New("atrest: malformed stanza")
		}
		salt, err := base64.RawStdEncoding.Strict().DecodeString(s.Args[0])
		if err != nil || len(salt) != 16 {
			return nil, errors.New("atrest: malformed stanza salt")
		}
		aead, err := k.wrapAEAD(salt)
		if err != nil {
			return nil, err
		}
		fileKey, err := aead.Open(nil, make([]byte, chacha20poly1305.NonceSize), s.Body, nil)
		if err != nil {
			return nil, age.ErrIncorrectIdentity // another ledger key
		}
		return fileKey, nil
	}
	return nil, age.ErrIncorrectIdentity
}

func (k *Key) wrapAEAD(salt []byte) (cipher.AEAD, error) {
	wk, err := hkdf.Key(sha256.New, k.secret, salt, stanzaType, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	return chacha20poly1305.New(wk)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

type readCloser struct {
	io.Reader
	f *os.File
}

func (r readCloser) Close() error { return r.f.Close() }
