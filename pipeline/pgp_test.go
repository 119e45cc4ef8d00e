package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/rs/zerolog"

	"enrollsftp"
	"enrollsftp/internal/pgp"
	"enrollsftp/internal/pgp/pgptest"
)

// pgpParties are the administrator's key pair and the vendor's, generated
// in the test, and the source keys built from them.
type pgpParties struct {
	admin, vendor, stranger *openpgp.Entity
	keys                    *pgp.Keys // decrypt with admin, verify vendor, encrypt to vendor, sign
}

func newParties(t *testing.T) pgpParties {
	t.Helper()
	dir := t.TempDir()
	p := pgpParties{admin: pgptest.NewEntity(t, "admin"), vendor: pgptest.NewEntity(t, "vendor"),
		stranger: pgptest.NewEntity(t, "stranger")}
	keys, err := pgp.Load(pgp.Config{
		DecryptKey: pgptest.WriteKey(t, dir, "admin.asc", p.admin, true, "s3cret"), Passphrase: "s3cret",
		VerifyKey: pgptest.WriteKey(t, dir, "vendor.asc", p.vendor, false, ""),
		EncryptTo: pgptest.WriteKey(t, dir, "vendor-enc.asc", p.vendor, false, ""), SignOutbound: true})
	if err != nil {
		t.Fatal(err)
	}
	p.keys = keys
	return p
}

// pgpRun puts one file in an embedded source's inbound and runs the source
// once; it returns the run's report and the source's served folder.
func pgpRun(t *testing.T, e *env, name string, body []byte, keys *pgp.Keys, mods ...func(*Source)) (FileReport, string) {
	rep, run := pgpRunSource(t, e, discard, name, body, keys, mods...)
	return rep, run.work
}

// sourceUnderTest is an embedded source and where it runs.
type sourceUnderTest struct {
	src  Source
	opts RunOptions
	work string // the served folder
}

func pgpRunSource(t *testing.T, e *env, log zerolog.Logger, name string, body []byte, keys *pgp.Keys, mods ...func(*Source)) (FileReport, sourceUnderTest) {
	t.Helper()
	seed := t.TempDir()
	os.MkdirAll(filepath.Join(seed, "inbound"), 0o700)
	if err := os.WriteFile(filepath.Join(seed, "inbound", name), body, 0o600); err != nil {
		t.Fatal(err)
	}
	staging := t.TempDir()
	src := Source{Name: "vendor", Embedded: seed, Inbound: "/inbound", Outbound: "/outbound", Archive: "/archive",
		Patterns: map[enrollsftp.FileType]string{enrollsftp.Census: "census_*.csv"}, PGP: keys}
	for _, m := range mods {
		m(&src)
	}
	opts := RunOptions{Staging: staging, Now: func() time.Time { return e.now }}
	reports, err := RunSource(context.Background(), e.l, log, src, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(reports) != 1 {
		t.Fatalf("run: %d reports, want 1: %+v", len(reports), reports)
	}
	return reports[0], sourceUnderTest{src, opts, filepath.Join(staging, "embedded", "vendor")}
}

// outbound lists the names in the served outbound folder.
func outbound(t *testing.T, work string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(work, "outbound"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, en := range entries {
		names = append(names, en.Name())
	}
	sort.Strings(names)
	return names
}

func TestRunEncryptedCensus(t *testing.T) {
	p := newParties(t)
	plain := []byte(baseCensus)
	tests := []struct {
		name     string
		file     string
		body     func() []byte
		status   string
		code     enrollsftp.Code // file-level, when rejected
		accepted int
	}{
		{"signed binary", "census_1.csv.pgp", func() []byte { return pgptest.Seal(t, plain, p.admin, p.vendor, false) },
			enrollsftp.BatchApplied, "", 6},
		{"signed armored", "census_1.csv.asc", func() []byte { return pgptest.Seal(t, plain, p.admin, p.vendor, true) },
			enrollsftp.BatchApplied, "", 6},
		{"encrypted to another key", "census_1.csv.gpg", func() []byte { return pgptest.Seal(t, plain, p.stranger, p.vendor, false) },
			enrollsftp.BatchRejected, enrollsftp.PGPDecryptFailed, 0},
		{"corrupted", "census_1.csv.pgp", func() []byte {
			b := pgptest.Seal(t, plain, p.admin, p.vendor, false)
			b[len(b)/2] ^= 0xff
			return b
		}, enrollsftp.BatchRejected, enrollsftp.PGPDecryptFailed, 0},
		{"unsigned", "census_1.csv.pgp", func() []byte { return pgptest.Seal(t, plain, p.admin, nil, false) },
			enrollsftp.BatchRejected, enrollsftp.PGPSignatureInvalid, 0},
		{"signed by another key", "census_1.csv.pgp", func() []byte { return pgptest.Seal(t, plain, p.admin, p.stranger, false) },
			enrollsftp.BatchRejected, enrollsftp.PGPSignatureInvalid, 0},
		{"not encrypted at all", "census_1.csv.pgp", func() []byte { return plain },
			enrollsftp.BatchRejected, enrollsftp.PGPDecryptFailed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			body := tt.body()
			rep, work := pgpRun(t, e, tt.file, body, p.keys)
			b := rep.Batch
			if b.Status != tt.status || b.Accepted != tt.accepted {
				t.Fatalf("batch %s, %d accepted (file errors %v); want %s, %d", b.Status, b.Accepted, b.FileErrors, tt.status, tt.accepted)
			}
			if b.SHA256 != sha256Hex(body) || b.Size != int64(len(body)) {
				t.Errorf("batch records sha256 %s size %d, want the received bytes' %s %d", b.SHA256, b.Size, sha256Hex(body), len(body))
			}
			if tt.code != "" {
				if len(b.FileErrors) != 1 || b.FileErrors[0].Code != tt.code {
					t.Errorf("file errors %v, want %s", b.FileErrors, tt.code)
				}
			}
			_, err := e.l.LookupEmployee(context.Background(), "ACME", "E1")
			if applied := err == nil; applied != (tt.code == "") {
				t.Errorf("person E1 in the ledger: %v (%v)", applied, err)
			}

			// Every output goes back encrypted to the vendor and signed by
			// us, and its plaintext is what `ack ID` regenerates.
			names := outbound(t, work)
			if len(names) < 2 {
				t.Fatalf("outbound %v, want the ack and summary", names)
			}
			regen := t.TempDir()
			files := map[string]string{}
			out := e.regenerate(b.ID, regen)
			for _, f := range []string{out.Ack, out.Summary, out.Errors} {
				if f != "" {
					files[filepath.Base(f)] = f
				}
			}
			for _, n := range names {
				if !strings.HasSuffix(n, ".pgp") || !strings.HasPrefix(n, "census_1.") {
					t.Errorf("outbound %s: want census_1.*.pgp", n)
					continue
				}
				sealed, _ := os.ReadFile(filepath.Join(work, "outbound", n))
				got, signer := pgptest.Open(t, sealed, p.vendor, p.admin)
				if signer == nil || signer.PrimaryKey.KeyId != p.admin.PrimaryKey.KeyId {
					t.Errorf("%s: not signed by the administrator's key", n)
				}
				want, err := os.ReadFile(files[strings.TrimSuffix(n, ".pgp")])
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s: plaintext differs from `ack ID`'s (%v)", n, err)
				}
			}
			// The plaintext is staged 0600 and nowhere else; a refused file
			// is staged as received.
			staged, _ := e.l.Batch(context.Background(), b.ID)
			fi, err := os.Stat(staged.StagedPath)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("staged copy %s: %v %v, want mode 0600", staged.StagedPath, fi, err)
			}
			if _, enc := pgp.Plain(staged.StagedPath); enc == (tt.code == "") {
				t.Errorf("staged as %s", staged.StagedPath)
			}
		})
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// A file refused because our own key was wrong is staged as received; once
// the key is fixed, rerun decrypts and applies it, and the new batch is of
// the same received bytes (so the vendor's copy is not processed twice).
// A HELD encrypted file is released from its staged plaintext.
func TestRerunEncrypted(t *testing.T) {
	p := newParties(t)
	dir := t.TempDir()
	wrongKey, err := pgp.Load(pgp.Config{DecryptKey: pgptest.WriteKey(t, dir, "old.asc", p.stranger, true, ""),
		VerifyKey: pgptest.WriteKey(t, dir, "vendor.asc", p.vendor, false, "")})
	if err != nil {
		t.Fatal(err)
	}
	bad := censusHeader + "X1,ACME,E9,No,Ssn,12-3,1980-01-01,1 Main St,Boston,MA,02134,,ACTIVE,2020-01-06,\n"
	tests := []struct {
		name       string
		body       string
		keys       *pgp.Keys
		hold       float64
		first      string
		force      bool
		acceptedBy int
	}{
		{"our key was wrong", baseCensus, wrongKey, 0, enrollsftp.BatchRejected, false, 6},
		{"held, released", baseCensus + bad[len(censusHeader):], p.keys, 0.1, enrollsftp.BatchHeld, true, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			body := pgptest.Seal(t, []byte(tt.body), p.admin, p.vendor, false)
			rep, run := pgpRunSource(t, e, discard, "census_7.csv.pgp", body, tt.keys, func(s *Source) { s.MaxRejectRatio = tt.hold })
			if rep.Batch.Status != tt.first {
				t.Fatalf("first run: %s (%v), want %s", rep.Batch.Status, rep.Batch.FileErrors, tt.first)
			}
			fixed := run.src
			fixed.PGP = p.keys
			res, err := Rerun(context.Background(), e.l, discard, rep.Batch.ID,
				RerunOptions{OutDir: t.TempDir(), Force: tt.force, Source: &fixed, Run: run.opts})
			if err != nil {
				t.Fatal(err)
			}
			b := res.Batch
			if b.Status != enrollsftp.BatchApplied || b.Accepted != tt.acceptedBy {
				t.Fatalf("rerun: %s, %d accepted (%v); want APPLIED, %d", b.Status, b.Accepted, b.FileErrors, tt.acceptedBy)
			}
			if b.SHA256 != sha256Hex(body) {
				t.Errorf("rerun batch sha256 %s, want the received bytes' %s", b.SHA256, sha256Hex(body))
			}
			if prior, err := e.l.AlreadyProcessed(context.Background(), sha256Hex(body)); err != nil || prior != b.ID {
				t.Errorf("the vendor's bytes are processed by %q (%v), want the rerun %s", prior, err, b.ID)
			}
			stored, _ := e.l.Batch(context.Background(), b.ID)
			if _, enc := pgp.Plain(stored.StagedPath); enc || stored.StagedSHA256 == "" {
				t.Errorf("rerun staged %s (sha %q), want the plaintext with its own hash", stored.StagedPath, stored.StagedSHA256)
			}
			if _, err := e.l.LookupEmployee(context.Background(), "ACME", "E1"); err != nil {
				t.Errorf("after the rerun: %v", err)
			}
		})
	}
}

// When encryption to the vendor fails at delivery (its key expired while
// the daemon ran), the ack and summary still go back, unencrypted, and the
// log says so; the error file, which holds rejected rows' names and
// addresses, is withheld.
func TestRunEncryptionToVendorFails(t *testing.T) {
	p := newParties(t)
	dir := t.TempDir()
	clock := time.Now()
	shortLived, err := openpgp.NewEntity("vendor", "test only", "v@example.test",
		&packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, KeyLifetimeSecs: 3600})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pgp.Load(pgp.Config{DecryptKey: pgptest.WriteKey(t, dir, "admin.asc", p.admin, true, ""),
		EncryptTo: pgptest.WriteKey(t, dir, "vendor.asc", shortLived, false, ""), Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Hour) // the vendor's key has expired since start-up
	e := newEnv(t)
	var logs bytes.Buffer
	body := baseCensus + "X1,ACME,E9,No,Ssn,12-3,1980-01-01,1 Main St,Boston,MA,02134,,ACTIVE,2020-01-06,\n"
	rep, run := pgpRunSource(t, e, zerolog.New(&logs), "census_1.csv.pgp", pgptest.Seal(t, []byte(body), p.admin, nil, false), keys)
	if rep.Batch.Status != enrollsftp.BatchApplied || rep.Batch.Rejected != 1 {
		t.Fatalf("batch %s, %d rejected (%v); want APPLIED with one rejected row", rep.Batch.Status, rep.Batch.Rejected, rep.Batch.FileErrors)
	}
	if got := strings.Join(outbound(t, run.work), " "); got != "census_1.ack.csv census_1.ack.json" {
		t.Errorf("outbound %q, want the plaintext ack and summary only", got)
	}
	if n := strings.Count(logs.String(), "encryption to the vendor failed"); n != 1 {
		t.Errorf("%d log lines about the failed encryption, want 1:\n%s", n, logs.String())
	}
}
