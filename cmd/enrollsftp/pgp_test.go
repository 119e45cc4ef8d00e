package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"enrollsftp/internal/pgp/pgptest"
	"enrollsftp/internal/sshdtest"
)

// A vendor that encrypts and signs its files, over OpenSSH: the census and
// elections are decrypted, applied, and answered with outputs encrypted to
// the vendor and signed by us, whose plaintext `ack ID` regenerates byte
// for byte. A file signed by nobody is rejected and applies nothing.
func TestSFTPEncryptedFilesAgainstOpenSSH(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t)
	r := newRemote(t)
	keys := t.TempDir()
	admin, vendor := pgptest.NewEntity(t, "admin"), pgptest.NewEntity(t, "vendor")
	t.Setenv("TEST_PGP_PASSPHRASE", "correct horse")
	spec := sourceFor("acme", s, r)
	spec.extra = fmt.Sprintf(`    pgp:
      decrypt_key: %s
      passphrase: ${TEST_PGP_PASSPHRASE}
      verify_key: %s
      encrypt_to: %s
      sign_outbound: true
`, pgptest.WriteKey(t, keys, "admin.asc", admin, true, "correct horse"),
		pgptest.WriteKey(t, keys, "vendor.asc", vendor, false, ""), pgptest.WriteKey(t, keys, "vendor-enc.asc", vendor, false, ""))
	census, elections := demoFile(t, "census_demo_20261115.csv"), demoFile(t, "elections_demo_20261115.csv")
	r.drop(t, "census_demo_20261115.csv.pgp", pgptest.Seal(t, census, admin, vendor, false))
	r.drop(t, "elections_demo_20261115.csv.asc", pgptest.Seal(t, elections, admin, vendor, true))
	r.drop(t, "census_unsigned.csv.gpg", pgptest.Seal(t, census, admin, nil, false))
	c := sftpCLI(t, bin, spec)
	c.run(0, "run")

	var batches []map[string]any
	if err := jsonUnmarshal(c.run(0, "batches", "--json"), &batches); err != nil || len(batches) != 3 {
		t.Fatalf("batches: %d (%v), want 3", len(batches), err)
	}
	status := map[string]string{}
	for _, b := range batches {
		status[b["file"].(string)] = b["status"].(string)
		out := filepath.Join(c.dir, "regen", b["batch_id"].(string))
		c.run(0, "ack", b["batch_id"].(string), "--out", out)
		for _, n := range names(t, out) {
			sealed, err := os.ReadFile(filepath.Join(r.outbound, n+".pgp"))
			if err != nil {
				t.Errorf("%s went back unencrypted or not at all: %v", n, err)
				continue
			}
			plain, signer := pgptest.Open(t, sealed, vendor, admin)
			if signer == nil || signer.PrimaryKey.KeyId != admin.PrimaryKey.KeyId {
				t.Errorf("%s.pgp is not signed by our key", n)
			}
			if want := readFile(t, filepath.Join(out, n)); !bytes.Equal(plain, []byte(want)) {
				t.Errorf("%s.pgp: plaintext differs from `ack ID`'s", n)
			}
		}
	}
	want := map[string]string{"census_demo_20261115.csv.pgp": "APPLIED", "elections_demo_20261115.csv.asc": "APPLIED",
		"census_unsigned.csv.gpg": "REJECTED"}
	for f, st := range want {
		if status[f] != st {
			t.Errorf("%s: %s, want %s", f, status[f], st)
		}
	}
	if ack := readFile(t, filepath.Join(c.dir, "regen", batchOf(batches, "census_unsigned.csv.gpg"), "census_unsigned.ack.json")); !strings.Contains(ack, "PGP_SIGNATURE_INVALID") {
		t.Errorf("the unsigned file's summary does not say why:\n%s", ack)
	}
	for _, f := range names(t, r.outbound) {
		if !strings.HasSuffix(f, ".pgp") {
			t.Errorf("outbound %s is not encrypted", f)
		}
	}
	if strings.Contains(c.logs.String(), "123-45") || strings.Contains(c.logs.String(), "correct horse") {
		t.Error("a log line holds an SSN or the passphrase")
	}
}

func batchOf(batches []map[string]any, file string) string {
	for _, b := range batches {
		if b["file"] == file {
			return b["batch_id"].(string)
		}
	}
	return ""
}

// Keys are loaded, and a private key unlocked, before anything is
// fetched: a wrong passphrase or a missing key file is a configuration
// error (exit 2), not a night of rejected files.
func TestPGPKeyErrorsAreConfigErrors(t *testing.T) {
	bin := sftpBinary(t)
	keys := t.TempDir()
	admin := pgptest.NewEntity(t, "admin")
	locked := pgptest.WriteKey(t, keys, "admin.asc", admin, true, "right")
	public := pgptest.WriteKey(t, keys, "admin.pub.asc", admin, false, "")
	tests := []struct{ name, pgp, want string }{
		{"wrong passphrase", "{decrypt_key: " + locked + ", passphrase: wrong}", "unlock"},
		{"public key to decrypt", "{decrypt_key: " + public + "}", "no private key"},
		{"missing key file", "{encrypt_to: " + filepath.Join(keys, "nope.asc") + "}", "nope.asc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := sourceSpec{name: "acme", port: 1, key: "k", knownHosts: "kh", r: remote{"/in", "/out", "/arc"},
				extra: "    pgp: " + tt.pgp + "\n"}
			c := sftpCLI(t, bin, spec)
			c.run(2, "run")
			if !strings.Contains(c.logs.String(), tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, c.logs.String())
			}
		})
	}
}
