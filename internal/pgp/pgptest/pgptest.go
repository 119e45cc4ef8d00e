// Package pgptest makes OpenPGP keys and messages for tests: keys are
// generated in the test (Ed25519 + X25519, fast), never committed.
package pgptest

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// NewEntity makes a test key pair.
func NewEntity(t testing.TB, name string) *openpgp.Entity {
	t.Helper()
	e, err := openpgp.NewEntity(name, "test only", name+"@example.test", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// WriteKey writes e's armored public (or private, encrypted with
// passphrase when set) key to dir/name and returns the path.
func WriteKey(t testing.TB, dir, name string, e *openpgp.Entity, private bool, passphrase string) string {
	t.Helper()
	var buf bytes.Buffer
	typ := openpgp.PublicKeyType
	if private {
		typ = openpgp.PrivateKeyType
	}
	w, err := armor.Encode(&buf, typ, nil)
	if err != nil {
		t.Fatal(err)
	}
	if private {
		// Serialize a copy: encrypting the private key changes the entity.
		var raw bytes.Buffer
		if err := e.SerializePrivate(&raw, nil); err != nil {
			t.Fatal(err)
		}
		c, err := openpgp.ReadEntity(packet.NewReader(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if passphrase != "" {
			if err := c.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.SerializePrivateWithoutSigning(w, nil); err != nil {
			t.Fatal(err)
		}
	} else if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Seal encrypts plain to `to`, signed by signer when not nil, armored or
// binary, as a vendor's tool would.
func Seal(t testing.TB, plain []byte, to, signer *openpgp.Entity, armored bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	SealTo(t, &buf, bytes.NewReader(plain), to, signer, armored)
	return buf.Bytes()
}

// SealTo streams src, encrypted to `to` (and signed by signer), into dst.
func SealTo(t testing.TB, dst io.Writer, src io.Reader, to, signer *openpgp.Entity, armored bool) {
	t.Helper()
	var aw io.WriteCloser
	if armored {
		var err error
		if aw, err = armor.Encode(dst, openpgp.MessageType, nil); err != nil {
			t.Fatal(err)
		}
		dst = aw
	}
	w, err := openpgp.Encrypt(dst, []*openpgp.Entity{to}, signer, &openpgp.FileHints{IsBinary: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, src); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if aw != nil {
		aw.Close()
	}
}

// Open decrypts msg (binary) with key and returns the plaintext and the
// key that signed it (nil when unsigned); a bad signature fails the test.
func Open(t testing.TB, msg []byte, key *openpgp.Entity, signers ...*openpgp.Entity) ([]byte, *openpgp.Entity) {
	t.Helper()
	ring := openpgp.EntityList{key}
	ring = append(ring, signers...)
	md, err := openpgp.ReadMessage(bytes.NewReader(msg), ring, nil, nil)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	plain, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	if md.IsSigned && md.SignatureError != nil {
		t.Fatalf("signature: %v", md.SignatureError)
	}
	if md.SignedBy == nil {
		return plain, nil
	}
	return plain, md.SignedBy.Entity
}
