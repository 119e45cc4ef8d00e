package pgp

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"enrollsftp"
	"enrollsftp/internal/pgp/pgptest"
)

// The helpers are pgptest's, named as these tests use them.
var (
	newEntity = pgptest.NewEntity
	writeKey  = pgptest.WriteKey
)

func seal(t *testing.T, plain string, to, signer *openpgp.Entity, armored bool) []byte {
	return pgptest.Seal(t, []byte(plain), to, signer, armored)
}

func TestDecrypt(t *testing.T) {
	dir := t.TempDir()
	admin, vendor, stranger := newEntity(t, "admin"), newEntity(t, "vendor"), newEntity(t, "stranger")
	keys, err := Load(Config{DecryptKey: writeKey(t, dir, "admin.asc", admin, true, "s3cret"), Passphrase: "s3cret",
		VerifyKey: writeKey(t, dir, "vendor.asc", vendor, false, "")})
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := Load(Config{DecryptKey: filepath.Join(dir, "admin.asc"), Passphrase: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	small, err := Load(Config{DecryptKey: filepath.Join(dir, "admin.asc"), Passphrase: "s3cret", MaxPlaintext: 10})
	if err != nil {
		t.Fatal(err)
	}
	const plain = "record_id,employer_id\nR1,ACME\n"
	good := seal(t, plain, admin, vendor, false)
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)/2] ^= 0x55
	for _, tc := range []struct {
		name string
		keys *Keys
		in   []byte
		want enrollsftp.Code // "" for success
	}{
		{"signed binary", keys, good, ""},
		{"signed armored", keys, seal(t, plain, admin, vendor, true), ""},
		{"unsigned, no verify key", unsigned, seal(t, plain, admin, nil, false), ""},
		{"unsigned, verify key set", keys, seal(t, plain, admin, nil, false), enrollsftp.PGPSignatureInvalid},
		{"signed by a stranger", keys, seal(t, plain, admin, stranger, false), enrollsftp.PGPSignatureInvalid},
		{"encrypted to another key", keys, seal(t, plain, stranger, vendor, false), enrollsftp.PGPDecryptFailed},
		{"corrupted ciphertext", keys, corrupt, enrollsftp.PGPDecryptFailed},
		{"plain CSV", keys, []byte(plain), enrollsftp.PGPDecryptFailed},
		{"empty", keys, nil, enrollsftp.PGPDecryptFailed},
		{"no decrypt key", &Keys{}, good, enrollsftp.PGPDecryptFailed},
		{"decrypts past the size limit", small, seal(t, plain, admin, nil, false), enrollsftp.FileTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := tc.keys.Decrypt(&out, bytes.NewReader(tc.in))
			if tc.want == "" {
				if err != nil || out.String() != plain {
					t.Fatalf("got %q, %v; want the plaintext", out.String(), err)
				}
				return
			}
			var e *enrollsftp.Error
			if !errors.As(err, &e) || e.Code != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
		})
	}
}

// A failing destination (a full disk) is an operational error, not a file
// to reject as PGP_DECRYPT_FAILED.
func TestDecryptWriteErrorIsNotTheFilesFault(t *testing.T) {
	dir := t.TempDir()
	admin := newEntity(t, "admin")
	keys, err := Load(Config{DecryptKey: writeKey(t, dir, "admin.asc", admin, true, "")})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err = keys.Decrypt(failWriter{boom}, bytes.NewReader(seal(t, "a,b\n1,2\n", admin, nil, false)))
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the write error", err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestEncryptRoundTrip(t *testing.T) {
	dir := t.TempDir()
	admin, vendor := newEntity(t, "admin"), newEntity(t, "vendor")
	keys, err := Load(Config{DecryptKey: writeKey(t, dir, "admin.asc", admin, true, ""),
		EncryptTo: writeKey(t, dir, "vendor.asc", vendor, false, ""), SignOutbound: true})
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, err := keys.Encrypt(&ct)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "line,status\n2,ACCEPTED\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// The vendor decrypts with its private key and checks our signature.
	md, err := openpgp.ReadMessage(&ct, openpgp.EntityList{vendor, admin}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(md.UnverifiedBody)
	if err != nil || string(got) != "line,status\n2,ACCEPTED\n" {
		t.Fatalf("got %q, %v", got, err)
	}
	if !md.IsSigned || md.SignatureError != nil || md.SignedBy == nil || md.SignedBy.Entity.PrimaryKey.KeyId != admin.PrimaryKey.KeyId {
		t.Fatalf("signature: signed %v by %v, error %v", md.IsSigned, md.SignedBy, md.SignatureError)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	admin := newEntity(t, "admin")
	priv := writeKey(t, dir, "admin.asc", admin, true, "right")
	pub := writeKey(t, dir, "admin.pub.asc", admin, false, "")
	shortLived, err := openpgp.NewEntity("vendor", "test only", "v@example.test",
		&packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, KeyLifetimeSecs: 3600})
	if err != nil {
		t.Fatal(err)
	}
	expiring := writeKey(t, dir, "vendor.asc", shortLived, false, "")
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"wrong passphrase", Config{DecryptKey: priv, Passphrase: "wrong"}, "unlock"},
		{"public key as decrypt key", Config{DecryptKey: pub}, "no private key"},
		{"missing file", Config{VerifyKey: filepath.Join(dir, "nope.asc")}, "no such file"},
		{"sign without a key", Config{SignOutbound: true}, "needs decrypt_key"},
		{"not a key", Config{EncryptTo: writeFile(t, dir, "junk.asc", "hello")}, "read"},
		{"vendor key expired by the run's clock", Config{EncryptTo: expiring,
			Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}, "encrypt_to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlain(t *testing.T) {
	for in, want := range map[string]string{"census_1.csv.pgp": "census_1.csv", "a.csv.GPG": "a.csv",
		"a.csv.asc": "a.csv", "a.csv": "a.csv", ".pgp": ".pgp"} {
		if got, _ := Plain(in); got != want {
			t.Errorf("Plain(%q) = %q, want %q", in, got, want)
		}
	}
}
