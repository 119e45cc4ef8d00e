package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/internal/atrest"
	"enrollsftp/internal/pgp"
	"enrollsftp/internal/pgp/pgptest"
)

var ssnShape = regexp.MustCompile(`\d{3}-\d{2}-\d{4}`)

// assertNothingInTheClear checks every file a source left in staging (not
// its outputs, not the embedded server's own folders): mode 0600, the age
// header, and none of the SSNs of inputs (with or without dashes) nor
// their header line anywhere in the bytes.
func assertNothingInTheClear(t *testing.T, stage string, inputs ...string) int {
	t.Helper()
	var secrets []string
	for _, in := range inputs {
		for _, ssn := range ssnShape.FindAllString(in, -1) {
			secrets = append(secrets, ssn, strings.ReplaceAll(ssn, "-", ""))
		}
		secrets = append(secrets, strings.SplitN(in, "\n", 2)[0])
	}
	if len(secrets) == 0 {
		t.Fatal("the inputs hold nothing to look for")
	}
	n := 0
	err := filepath.WalkDir(stage, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != stage && (d.Name() == "out" || d.Name() == "embedded") {
				return filepath.SkipDir
			}
			return nil
		}
		n++
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", p, fi.Mode().Perm())
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(body, []byte(atrest.Magic)) {
			t.Errorf("%s: not encrypted at rest (starts %q)", p, body[:min(len(body), 24)])
		}
		for _, s := range secrets {
			if bytes.Contains(body, []byte(s)) {
				t.Errorf("%s holds %q in the clear", p, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A run stages what it downloads encrypted: the plaintext CSV, the
// plaintext of an OpenPGP file decrypted while it streamed, and an
// OpenPGP file kept as received because it could not be decrypted.
func TestRunStagesNothingInTheClear(t *testing.T) {
	p := newParties(t)
	tests := []struct {
		name, file string
		body       func() []byte
		keys       *pgp.Keys
		status     string
	}{
		{"plaintext CSV", "census_1.csv", func() []byte { return []byte(baseCensus) }, nil, enrollsftp.BatchApplied},
		{"OpenPGP, decrypted while it streams", "census_1.csv.pgp",
			func() []byte { return pgptest.Seal(t, []byte(baseCensus), p.admin, p.vendor, false) }, p.keys, enrollsftp.BatchApplied},
		{"OpenPGP refused, kept as received", "census_1.csv.pgp",
			func() []byte { return pgptest.Seal(t, []byte(baseCensus), p.stranger, p.vendor, false) }, p.keys, enrollsftp.BatchRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			rep, run := pgpRunSource(t, e, discard, tt.file, tt.body(), tt.keys)
			if rep.Batch.Status != tt.status {
				t.Fatalf("batch %s (%v), want %s", rep.Batch.Status, rep.Batch.FileErrors, tt.status)
			}
			b, err := e.l.Batch(context.Background(), rep.Batch.ID)
			if err != nil {
				t.Fatal(err)
			}
			if n := assertNothingInTheClear(t, filepath.Join(run.opts.Staging, "vendor"), baseCensus); n != 1 {
				t.Errorf("%d files staged, want 1", n)
			}
			// The hash recorded for the staged copy is of the plaintext,
			// never of the ciphertext at rest.
			if tt.status == enrollsftp.BatchApplied && tt.keys != nil && b.StagedSHA256 != sha256Hex([]byte(baseCensus)) {
				t.Errorf("staged sha256 %s, want the plaintext's %s", b.StagedSHA256, sha256Hex([]byte(baseCensus)))
			}
		})
	}
}

// rejectingLayout is a census layout named census.acme that does not know
// the vendor's "Worker No" column: files using it are REJECTED until the
// alias is added (fixLayout).
func rejectingLayout(t *testing.T) (dir string, fixLayout func()) {
	t.Helper()
	dir = t.TempDir()
	census, err := os.ReadFile("../schemas/census.v1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	acme := strings.Replace(string(census), "name: census.v1", "name: census.acme", 1)
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, "census.acme.yaml"), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(acme)
	return dir, func() { write(strings.Replace(acme, "aliases: [employee id,", "aliases: [worker no, employee id,", 1)) }
}

// Rerun reads the staged copy through its encryption: a REJECTED download
// once the layout is fixed, a FAILED local file once its layout exists,
// and a refused OpenPGP file once our key is fixed (whose decrypted
// plaintext is staged encrypted too, with no temporary plaintext left).
// A copy staged before encryption (plaintext, or the OpenPGP bytes as
// received) reruns the same way.
func TestRerunFromTheStagedCopy(t *testing.T) {
	p := newParties(t)
	dir := t.TempDir()
	wrongKey, err := pgp.Load(pgp.Config{DecryptKey: pgptest.WriteKey(t, dir, "old.asc", p.stranger, true, ""),
		VerifyKey: pgptest.WriteKey(t, dir, "vendor.asc", p.vendor, false, "")})
	if err != nil {
		t.Fatal(err)
	}
	vendorCensus := strings.Replace(baseCensus, "employee_id", "Worker No", 1)
	sealed := pgptest.Seal(t, []byte(baseCensus), p.admin, p.vendor, false)
	for _, legacy := range []bool{false, true} {
		name := "encrypted at rest"
		if legacy {
			name = "legacy plaintext"
		}
		t.Run(name+"/REJECTED download", func(t *testing.T) {
			e := newEnv(t)
			layouts, fix := rejectingLayout(t)
			rep, run := pgpRunSource(t, e, discard, "census_1.csv", []byte(vendorCensus), nil)
			if rep.Batch.Status != enrollsftp.BatchRejected {
				t.Fatalf("first run: %s, want REJECTED", rep.Batch.Status)
			}
			b, _ := e.l.Batch(context.Background(), rep.Batch.ID)
			if legacy {
				writeLegacy(t, b.StagedPath, []byte(vendorCensus))
			}
			fix() // the source now reads the vendor's columns with its own layout
			run.src.Layouts = map[enrollsftp.FileType]string{enrollsftp.Census: "census.acme"}
			run.opts.LayoutDir = layouts
			res, err := Rerun(context.Background(), e.l, discard, b.ID, RerunOptions{OutDir: t.TempDir(), LayoutDir: layouts, Source: &run.src, Run: run.opts})
			if err != nil || res.Batch.Status != enrollsftp.BatchApplied || res.Batch.Accepted != 6 {
				t.Fatalf("rerun: %+v, %v; want APPLIED with 6 accepted", res.Batch, err)
			}
			if !legacy {
				assertNothingInTheClear(t, filepath.Join(run.opts.Staging, "vendor"), vendorCensus)
			}
		})
		t.Run(name+"/FAILED local file", func(t *testing.T) {
			e := newEnv(t)
			layouts, fix := rejectingLayout(t)
			fix()
			os.Remove(filepath.Join(layouts, "census.acme.yaml"))
			local := filepath.Join(e.dir, "census_local.csv")
			os.WriteFile(local, []byte(baseCensus), 0o644)
			stage := filepath.Join(e.dir, "staging", "local")
			path, err := Stage(local, stage, StagingKey(e.l))
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(local); string(got) != baseCensus {
				t.Fatal("staging changed the operator's file")
			}
			if legacy {
				writeLegacy(t, path, []byte(baseCensus))
			} else {
				assertNothingInTheClear(t, stage, baseCensus)
			}
			o := Options{Path: path, Name: "census_local.csv", Type: enrollsftp.Census, Layout: "census.acme", LayoutDir: layouts,
				OutDir: t.TempDir(), ReceivedAt: e.now}
			if _, err := ProcessFile(context.Background(), e.l, discard, o); err == nil {
				t.Fatal("a missing layout: got no error")
			}
			failed, _ := e.l.Batches(context.Background(), enrollFilter(enrollsftp.BatchFailed))
			if len(failed) != 1 || failed[0].SHA256 != sha256Hex([]byte(baseCensus)) {
				t.Fatalf("FAILED batches %+v, want one, with the hash of the plaintext", failed)
			}
			fix()
			res, err := Rerun(context.Background(), e.l, discard, failed[0].ID, RerunOptions{OutDir: t.TempDir(), LayoutDir: layouts})
			if err != nil || res.Batch.Status != enrollsftp.BatchApplied || res.Batch.Accepted != 6 {
				t.Fatalf("rerun: %+v, %v; want APPLIED with 6 accepted", res.Batch, err)
			}
		})
		t.Run(name+"/OpenPGP refused, our key fixed", func(t *testing.T) {
			e := newEnv(t)
			rep, run := pgpRunSource(t, e, discard, "census_7.csv.pgp", sealed, wrongKey)
			if rep.Batch.Status != enrollsftp.BatchRejected {
				t.Fatalf("first run: %s, want REJECTED", rep.Batch.Status)
			}
			b, _ := e.l.Batch(context.Background(), rep.Batch.ID)
			if legacy {
				writeLegacy(t, b.StagedPath, sealed)
			}
			fixed := run.src
			fixed.PGP = p.keys
			res, err := Rerun(context.Background(), e.l, discard, b.ID, RerunOptions{OutDir: t.TempDir(), Source: &fixed, Run: run.opts})
			if err != nil || res.Batch.Status != enrollsftp.BatchApplied || res.Batch.Accepted != 6 {
				t.Fatalf("rerun: %+v, %v; want APPLIED with 6 accepted", res.Batch, err)
			}
			again, _ := e.l.Batch(context.Background(), res.Batch.ID)
			if again.StagedSHA256 != sha256Hex([]byte(baseCensus)) {
				t.Errorf("rerun staged sha256 %s, want the plaintext's", again.StagedSHA256)
			}
			stage := filepath.Join(run.opts.Staging, "vendor")
			if legacy {
				os.Remove(b.StagedPath) // the legacy ciphertext: not ours to judge
			}
			// The decrypted plaintext is staged encrypted; no .decrypt-
			// temporary is left.
			if n := assertNothingInTheClear(t, stage, baseCensus); n != map[bool]int{false: 2, true: 1}[legacy] {
				t.Errorf("%d files staged", n)
			}
		})
	}
}

// writeLegacy replaces a staged copy with the bytes as they were staged
// before encryption at rest.
func writeLegacy(t *testing.T, path string, body []byte) {
	t.Helper()
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	if enc, _ := atrest.Encrypted(path); enc {
		t.Fatal("legacy copy still encrypted")
	}
}

// Past staging_retention, the staged copy of an APPLIED batch goes (and
// the copy an APPLIED rerun shares with the HELD batch it released); the
// copies of FAILED, REJECTED and HELD batches stay for their rerun, and so
// does a file outside the staging folder (the operator's own, named by a
// batch recorded before local files were staged). The outputs of the
// APPLIED batch are still rebuilt byte for byte, and rerun says the copy
// was removed by retention.
func TestSweepStaging(t *testing.T) {
	e := newEnv(t)
	bad := "X1,ACME,E9,No,Ssn,12-3,1980-01-01,1 Main St,Boston,MA,02134,,ACTIVE,2020-01-06,\n"
	good := func(n string) string {
		return "N" + n + ",ACME,N" + n + ",Nia,New" + n + ",,,5 Ash St,Boston,MA,02134,,ACTIVE,2021-01-01,\n"
	}
	seed := t.TempDir()
	in := filepath.Join(seed, "inbound")
	os.MkdirAll(in, 0o700)
	for name, body := range map[string]string{
		"census_1.csv": baseCensus,                                                     // APPLIED
		"census_2.csv": strings.Replace(baseCensus, "employee_id", "worker", 1),        // REJECTED
		"census_3.csv": censusHeader + good("3") + bad,                                 // HELD
		"census_4.csv": censusHeader + good("4") + strings.Replace(bad, "X1", "X4", 1), // HELD, released
	} {
		if err := os.WriteFile(filepath.Join(in, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	staging := t.TempDir()
	src := Source{Name: "vendor", Embedded: seed, Inbound: "/inbound", Outbound: "/outbound", Archive: "/archive",
		Patterns: map[enrollsftp.FileType]string{enrollsftp.Census: "census_*.csv"}, MaxRejectRatio: 0.3}
	opts := RunOptions{Staging: staging, Now: func() time.Time { return e.now }}
	reports, err := RunSource(context.Background(), e.l, discard, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	batch := map[string]enrollsftp.Batch{}
	for _, r := range reports {
		batch[r.File] = r.Batch
	}
	for file, status := range map[string]string{"census_1.csv": enrollsftp.BatchApplied, "census_2.csv": enrollsftp.BatchRejected,
		"census_3.csv": enrollsftp.BatchHeld, "census_4.csv": enrollsftp.BatchHeld} {
		if batch[file].Status != status {
			t.Fatalf("%s: %s, want %s", file, batch[file].Status, status)
		}
	}
	released, err := Rerun(context.Background(), e.l, discard, batch["census_4.csv"].ID, RerunOptions{OutDir: t.TempDir(), Force: true, Run: opts})
	if err != nil || released.Batch.Status != enrollsftp.BatchApplied {
		t.Fatalf("release: %+v, %v", released.Batch, err)
	}
	// FAILED: a local file staged, its layout missing.
	local := filepath.Join(e.dir, "census_5.csv")
	os.WriteFile(local, []byte(censusHeader+good("5")), 0o600)
	path, err := Stage(local, filepath.Join(staging, "local"), StagingKey(e.l))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ProcessFile(context.Background(), e.l, discard, Options{Path: path, Type: enrollsftp.Census,
		Layout: "census.nope", OutDir: t.TempDir(), ReceivedAt: e.now}); err == nil {
		t.Fatal("a missing layout: got no error")
	}
	// APPLIED, recorded with the operator's own file (outside staging).
	operator, _ := e.mustProcess(enrollsftp.Census, censusHeader+good("6"))

	staged := func(b enrollsftp.Batch) bool {
		stored, err := e.l.Batch(context.Background(), b.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = os.Stat(stored.StagedPath)
		if (err == nil) == (stored.StagedRemovedAt != "") {
			t.Errorf("%s: staged copy present %v, staged_removed_at %q", b.File, err == nil, stored.StagedRemovedAt)
		}
		return err == nil
	}
	failed, _ := e.l.Batches(context.Background(), enrollFilter(enrollsftp.BatchFailed))
	if len(failed) != 1 {
		t.Fatalf("FAILED batches: %+v", failed)
	}
	kept := []enrollsftp.Batch{batch["census_2.csv"], batch["census_3.csv"], failed[0], operator.Batch}
	swept := []enrollsftp.Batch{batch["census_1.csv"], batch["census_4.csv"], released.Batch}

	sweep := func(after time.Duration) int {
		e.now = testNow.Add(after)
		n, err := SweepStaging(context.Background(), e.l, discard, staging, DefaultStagingRetention)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := sweep(29 * 24 * time.Hour); n != 0 {
		t.Errorf("within retention: %d copies removed, want 0", n)
	}
	if n := sweep(31 * 24 * time.Hour); n != 2 {
		t.Errorf("past retention: %d copies removed, want 2 (census_1, and census_4 shared with its release)", n)
	}
	for _, b := range kept {
		if !staged(b) {
			t.Errorf("%s (%s): staged copy removed, want it kept", b.File, b.Status)
		}
	}
	for _, b := range swept {
		if staged(b) {
			t.Errorf("%s (%s): staged copy kept, want it removed", b.File, b.Status)
		}
	}
	if n := sweep(32 * 24 * time.Hour); n != 0 {
		t.Errorf("a second sweep removed %d copies, want 0", n)
	}

	// `ack ID` needs no staged copy: the outputs are those delivered.
	work := filepath.Join(staging, "embedded", "vendor")
	files := e.regenerate(batch["census_1.csv"].ID, t.TempDir())
	for _, p := range []string{files.Ack, files.Summary} {
		got, _ := os.ReadFile(p)
		delivered, err := os.ReadFile(filepath.Join(work, "outbound", filepath.Base(p)))
		if err != nil || !bytes.Equal(got, delivered) {
			t.Errorf("%s regenerated after the sweep differs from the one delivered (%v)", filepath.Base(p), err)
		}
	}
	_, err = Rerun(context.Background(), e.l, discard, batch["census_1.csv"].ID, RerunOptions{OutDir: t.TempDir()})
	if !errors.Is(err, ErrNotRerunnable) || !strings.Contains(err.Error(), "removed by staging_retention") {
		t.Errorf("rerun of a swept batch: got %v, want ErrNotRerunnable saying retention removed the copy", err)
	}
	// The kept ones still rerun.
	if _, err := Rerun(context.Background(), e.l, discard, batch["census_3.csv"].ID, RerunOptions{OutDir: t.TempDir(), Force: true}); err != nil {
		t.Errorf("release of the kept HELD batch: %v", err)
	}
}

// The same bytes re-sent under the same name stage to the path of the
// first copy. A REJECTED file's bytes are not "already processed" (issue
// 14): the resend is processed again, and neither that nor its archiving
// may delete the copy the first REJECTED batch is waiting to be rerun from.
func TestResentFileKeepsTheStagedCopyOfTheRejectedBatch(t *testing.T) {
	e := newEnv(t)
	body := []byte(strings.Replace(baseCensus, "employee_id", "worker", 1))
	rep, run := pgpRunSource(t, e, discard, "census_1.csv", body, nil)
	if rep.Batch.Status != enrollsftp.BatchRejected {
		t.Fatalf("first run: %s, want REJECTED", rep.Batch.Status)
	}
	b, _ := e.l.Batch(context.Background(), rep.Batch.ID)
	if err := os.WriteFile(filepath.Join(run.work, "inbound", "census_1.csv"), body, 0o600); err != nil {
		t.Fatal(err)
	}
	reports, err := RunSource(context.Background(), e.l, discard, run.src, run.opts)
	if err != nil || len(reports) != 1 || reports[0].Batch.Status != enrollsftp.BatchRejected || reports[0].Batch.ID == rep.Batch.ID {
		t.Fatalf("second run: %+v, %v; want the file processed again, as a new REJECTED batch", reports, err)
	}
	if _, err := os.Stat(b.StagedPath); err != nil {
		t.Fatalf("the REJECTED batch's staged copy: %v", err)
	}
	if n := assertNothingInTheClear(t, filepath.Join(run.opts.Staging, "vendor"), string(body)); n != 1 {
		t.Errorf("%d files staged, want 1", n)
	}
}
