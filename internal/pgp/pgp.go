// Package pgp decrypts the OpenPGP files vendors send and encrypts what goes
// back to them, streaming both ways. It writes no cryptography of its own:
// github.com/ProtonMail/go-crypto does the work.
package pgp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"enrollsftp"
)

// Config is a source's `pgp:` block, paths already resolved.
type Config struct {
	DecryptKey   string `yaml:"decrypt_key"`   // our armored private key file
	Passphrase   string `yaml:"passphrase"`    // for DecryptKey; from ${ENV}
	VerifyKey    string `yaml:"verify_key"`    // the vendor's public key: inbound files must be signed by it
	EncryptTo    string `yaml:"encrypt_to"`    // the vendor's public key: outbound files are encrypted to it
	SignOutbound bool   `yaml:"sign_outbound"` // sign outbound files with DecryptKey

	// MaxPlaintext bounds what one file decrypts to (0: no bound): a small
	// compressed message can expand without limit. Over it: FILE_TOO_LARGE.
	MaxPlaintext int64 `yaml:"-"`
	// Now is the clock key and signature expiry are judged by; nil: the
	// system clock (a replay's --now does not make a key valid again).
	Now func() time.Time `yaml:"-"`
}

// Keys are a source's loaded keys.
type Keys struct {
	decrypt   openpgp.EntityList
	verify    openpgp.EntityList
	encryptTo openpgp.EntityList
	signer    *openpgp.Entity
	max       int64
	config    *packet.Config
}

// Load reads the keys a Config names. A private key protected by a
// passphrase is unlocked here, once, so a wrong passphrase is a
// configuration error at start-up rather than a rejected file at night.
func Load(c Config) (*Keys, error) {
	k := &Keys{max: c.MaxPlaintext, config: &packet.Config{Time: c.Now}}
	var err error
	if c.DecryptKey != "" {
		if k.decrypt, err = readKeys(c.DecryptKey); err != nil {
			return nil, err
		}
		for _, e := range k.decrypt {
			if e.PrivateKey == nil {
				return nil, fmt.Errorf("pgp: %s holds no private key", c.DecryptKey)
			}
			if err := e.DecryptPrivateKeys([]byte(c.Passphrase)); err != nil {
				return nil, fmt.Errorf("pgp: unlock %s: %w", c.DecryptKey, err)
			}
		}
	}
	if c.VerifyKey != "" {
		if k.verify, err = readKeys(c.VerifyKey); err != nil {
			return nil, err
		}
	}
	if c.EncryptTo != "" {
		if k.encryptTo, err = readKeys(c.EncryptTo); err != nil {
			return nil, err
		}
	}
	if c.SignOutbound {
		if len(k.decrypt) == 0 {
			return nil, errors.New("pgp: sign_outbound needs decrypt_key, the key that signs")
		}
		k.signer = k.decrypt[0]
	}
	if k.Encrypts() {
		// An expired or revoked vendor key (or a signing key that cannot
		// sign) is found now, not at the first ack.
		if err := k.CheckEncrypt(); err != nil {
			return nil, fmt.Errorf("pgp: encrypt_to %s: %w", c.EncryptTo, err)
		}
	}
	return k, nil
}

// CheckEncrypt reports whether outbound files can be encrypted (and
// signed) now: a key valid at start-up may expire while the daemon runs.
func (k *Keys) CheckEncrypt() error {
	w, err := k.Encrypt(io.Discard)
	if err != nil {
		return err
	}
	return w.Close()
}

func readKeys(path string) (openpgp.EntityList, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pgp: %w", err)
	}
	var el openpgp.EntityList
	if isArmored(b) {
		el, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
	} else {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("pgp: read %s: %w", path, err)
	}
	if len(el) == 0 {
		return nil, fmt.Errorf("pgp: %s holds no key", path)
	}
	return el, nil
}

func isArmored(b []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("-----BEGIN PGP"))
}

// Suffixes are the names of encrypted files.
var Suffixes = []string{".pgp", ".gpg", ".asc"}

// Plain returns name without its OpenPGP suffix, and whether it had one.
func Plain(name string) (string, bool) {
	for _, s := range Suffixes {
		if len(name) > len(s) && strings.EqualFold(name[len(name)-len(s):], s) {
			return name[:len(name)-len(s)], true
		}
	}
	return name, false
}

// CanDecrypt reports whether a private key is configured.
func (k *Keys) CanDecrypt() bool { return k != nil && len(k.decrypt) > 0 }

// Encrypts reports whether outbound files are encrypted.
func (k *Keys) Encrypts() bool { return k != nil && len(k.encryptTo) > 0 }

// Decrypt streams the plaintext of src, armored or binary, into dst. Its
// error is an *enrollsftp.Error (PGP_DECRYPT_FAILED or
// PGP_SIGNATURE_INVALID) when the file is at fault, another error when
// reading or writing failed. A signature can only be checked at the end
// of the message: on an error, dst has received unverified plaintext that
// the caller must discard.
func (k *Keys) Decrypt(dst io.Writer, src io.Reader) error {
	if !k.CanDecrypt() {
		return enrollsftp.Errorf(enrollsftp.PGPDecryptFailed, "", "the file is encrypted and this source has no decrypt_key")
	}
	br := bufio.NewReaderSize(src, 64<<10)
	head, _ := br.Peek(64)
	var in io.Reader = br
	if isArmored(head) {
		block, err := armor.Decode(br)
		if err != nil {
			return decryptFailed("not an OpenPGP message", err)
		}
		in = block.Body
	}
	keyring := append(append(openpgp.EntityList{}, k.decrypt...), k.verify...)
	md, err := openpgp.ReadMessage(in, keyring, nil, k.config)
	if err != nil {
		return decryptFailed("cannot decrypt", err)
	}
	if !md.IsEncrypted {
		return decryptFailed("not encrypted", nil)
	}
	if len(k.verify) > 0 && (!md.IsSigned || md.SignedBy == nil || !k.isVendor(md.SignedBy.Entity)) {
		// Checked before the body is read: an unsigned file, or one
		// signed by someone else, is refused whatever it holds.
		return enrollsftp.Errorf(enrollsftp.PGPSignatureInvalid, "", "the file is not signed by the vendor's key")
	}
	if k.max > 0 {
		dst = &limited{w: dst, left: k.max}
	}
	if _, err := io.Copy(&wrapped{dst}, md.UnverifiedBody); err != nil {
		var we *writeError
		if errors.As(err, &we) {
			return we.err
		}
		return decryptFailed("corrupted ciphertext", err)
	}
	if len(k.verify) > 0 && md.SignatureError != nil {
		return enrollsftp.Errorf(enrollsftp.PGPSignatureInvalid, "", "the vendor's signature does not match the file: "+md.SignatureError.Error())
	}
	return nil
}

func (k *Keys) isVendor(e *openpgp.Entity) bool {
	for _, v := range k.verify {
		if e != nil && v.PrimaryKey.KeyId == e.PrimaryKey.KeyId {
			return true
		}
	}
	return false
}

func decryptFailed(what string, err error) *enrollsftp.Error {
	msg := "the OpenPGP file cannot be read: " + what
	if err != nil {
		msg += ": " + err.Error()
	}
	return enrollsftp.Errorf(enrollsftp.PGPDecryptFailed, "", msg)
}

// writeError marks a failure of the destination, which is not the file's
// fault (a full disk is an operational error, not PGP_DECRYPT_FAILED).
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

// wrapped marks its destination's errors, so Decrypt can tell them from
// the file's.
type wrapped struct{ w io.Writer }

func (w *wrapped) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		return n, &writeError{err}
	}
	return n, nil
}

// limited fails a write past its bound with FILE_TOO_LARGE, the file's
// fault.
type limited struct {
	w    io.Writer
	left int64
}

func (l *limited) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, enrollsftp.Errorf(enrollsftp.FileTooLarge, "", "the file decrypts to more than the size limit")
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}

// Encrypt returns a writer that encrypts what is written to it to the
// vendor's key (signed with ours when configured) into dst, binary. Close
// finishes the message; it does not close dst.
func (k *Keys) Encrypt(dst io.Writer) (io.WriteCloser, error) {
	if !k.Encrypts() {
		return nil, errors.New("pgp: no encrypt_to key")
	}
	w, err := openpgp.Encrypt(dst, k.encryptTo, k.signer, &openpgp.FileHints{IsBinary: true}, k.config)
	if err != nil {
		return nil, fmt.Errorf("pgp: encrypt: %w", err)
	}
	return w, nil
}
