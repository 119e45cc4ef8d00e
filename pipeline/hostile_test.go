package pipeline

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/ingest"
	"enrollsftp/internal/sshdtest"
)

// Passes over a source served by a real OpenSSH sshd, with files a broken
// or hostile drop holds (issue 12: findings 3 and 4).

// sshdSource is a source on s with its folders under root.
func sshdSource(s *sshdtest.Server, root string) Source {
	return Source{Name: "acme",
		Endpoint: ingest.Endpoint{Host: "127.0.0.1", Port: s.Port, User: s.User, PrivateKey: s.ClientKey,
			KnownHosts: s.KnownHosts, DialTimeout: 5 * time.Second, Attempts: 1, KeepAlive: -1},
		Inbound: filepath.Join(root, "inbound"), Outbound: filepath.Join(root, "outbound"), Archive: filepath.Join(root, "archive"),
		Patterns: map[enrollsftp.FileType]string{enrollsftp.Census: "census_*.csv", enrollsftp.Elections: "elections_*.csv"}}
}

func put(t *testing.T, dir, name, body string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

// outcomes maps each reported file to its batch status, or its Status
// when it got no batch.
func outcomes(reports []FileReport) map[string]string {
	m := map[string]string{}
	for _, r := range reports {
		if r.Batch.ID != "" {
			m[r.File] = r.Batch.Status
		} else {
			m[r.File] = r.Status
		}
	}
	return m
}

func checkOutcomes(t *testing.T, pass string, got map[string]string, want map[string]string) {
	t.Helper()
	for f, st := range want {
		if got[f] != st {
			t.Errorf("%s: %s is %q, want %q (all: %v)", pass, f, got[f], st, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: reported %v, want %v", pass, got, want)
	}
}

// TestPoisonFileDoesNotStopTheSource: a census the SFTP user cannot read
// (permission denied on open: the SFTP server runs as nobody) is recorded
// FAILED and retried with backoff, while the files behind it are taken;
// only its own drop's elections wait for it.
func TestPoisonFileDoesNotStopTheSource(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	if os.Getuid() != 0 {
		t.Skip("needs root: the SFTP server drops to nobody")
	}
	s := sshdtest.Start(t)
	s.SetSubsystem(setpriv + " --reuid=65534 --regid=65534 --clear-groups /usr/lib/openssh/sftp-server")
	root := t.TempDir()
	for d := root; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // nobody must reach the folders
	}
	src := sshdSource(s, root)
	for _, d := range []string{src.Inbound, src.Outbound, src.Archive} {
		os.MkdirAll(d, 0o777)
		os.Chmod(d, 0o777)
	}
	oldCensus := censusHeader + "C7,ACME,E7,Eve,Early,,,3 Ash St,Boston,MA,02134,,ACTIVE,2020-01-06,\n"
	put(t, src.Inbound, "census_acme_20261101.csv", oldCensus, 0o600) // root's: nobody cannot open it
	put(t, src.Inbound, "elections_acme_20261101.csv", electionsHeader+"L7,ACME,E7,FSA1,ENROLL,INDIVIDUAL,500.00,2026-01-01,,NEW_HIRE,,,\n", 0o644)
	put(t, src.Inbound, "census_acme_20261115.csv", baseCensus, 0o644)
	put(t, src.Inbound, "elections_acme_20261115.csv", electionsHeader+"L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n", 0o644)

	e := newEnv(t)
	opts := RunOptions{Staging: t.TempDir(), Now: func() time.Time { return e.now }}
	ctx := context.Background()

	reports, err := RunSource(ctx, e.l, discard, src, opts)
	if err == nil || Step(err) != "download" || !strings.Contains(err.Error(), "1 file(s) failed") {
		t.Errorf("first pass: error %v, want one failed download", err)
	}
	checkOutcomes(t, "first pass", outcomes(reports), map[string]string{
		"census_acme_20261101.csv":    enrollsftp.BatchFailed,
		"elections_acme_20261101.csv": StatusDeferred,
		"census_acme_20261115.csv":    enrollsftp.BatchApplied,
		"elections_acme_20261115.csv": enrollsftp.BatchApplied,
	})
	failed, err := e.l.Batches(ctx, enroll.Filter{Status: enrollsftp.BatchFailed})
	if err != nil || len(failed) != 1 || !strings.Contains(failed[0].Error, "permission denied") {
		t.Fatalf("FAILED batches: %+v (%v), want one saying permission denied", failed, err)
	}

	// Straight after: one failure may have been the connection's, so the
	// file is tried again; after two in a row it backs off, nothing fails.
	reports, err = RunSource(ctx, e.l, discard, src, opts)
	if err == nil {
		t.Error("second pass: no error, want the download to fail again")
	}
	checkOutcomes(t, "second pass", outcomes(reports), map[string]string{
		"census_acme_20261101.csv":    enrollsftp.BatchFailed,
		"elections_acme_20261101.csv": StatusDeferred,
	})
	reports, err = RunSource(ctx, e.l, discard, src, opts)
	if err != nil {
		t.Errorf("third pass: %v", err)
	}
	checkOutcomes(t, "third pass", outcomes(reports), map[string]string{
		"census_acme_20261101.csv":    StatusDeferred,
		"elections_acme_20261101.csv": StatusDeferred,
	})

	// Readable again, and past the backoff: taken, its elections after it,
	// and the failure is settled.
	os.Chmod(filepath.Join(src.Inbound, "census_acme_20261101.csv"), 0o644)
	e.now = e.now.Add(downloadBackoff + time.Second)
	reports, err = RunSource(ctx, e.l, discard, src, opts)
	if err != nil {
		t.Errorf("fourth pass: %v", err)
	}
	checkOutcomes(t, "fourth pass", outcomes(reports), map[string]string{
		"census_acme_20261101.csv":    enrollsftp.BatchApplied,
		"elections_acme_20261101.csv": enrollsftp.BatchApplied,
	})
	if b, err := e.l.Batch(ctx, failed[0].ID); err != nil || b.SupersededBy == "" {
		t.Errorf("the failed download is not settled: %+v (%v)", b, err)
	}
	if _, err := Rerun(ctx, e.l, discard, failed[0].ID, RerunOptions{OutDir: t.TempDir()}); !strings.Contains(errString(err), string(enrollsftp.FileAlreadyProcessed)) {
		t.Errorf("rerun of the settled failure: %v, want FILE_ALREADY_PROCESSED", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestLongNamesDoNotBlockTheSource: names whose outputs would pass the
// 255-byte name limit (236 bytes: the output temporaries; 250: the staged
// copy) are rejected FILE_NAME_TOO_LONG, answered under a short name and
// archived; the run goes on and the next one is clean.
func TestLongNamesDoNotBlockTheSource(t *testing.T) {
	s := sshdtest.Start(t)
	root := t.TempDir()
	src := sshdSource(s, root)
	os.MkdirAll(src.Inbound, 0o700)
	long236 := "census_" + strings.Repeat("a", 236-len("census_.csv")) + ".csv"
	long250 := "census_" + strings.Repeat("b", 250-len("census_.csv")) + ".csv"
	put(t, src.Inbound, long236, baseCensus+"C10,ACME,E10,Jo,Long,,,5 Oak St,Boston,MA,02134,,ACTIVE,2020-01-06,\n", 0o600)
	put(t, src.Inbound, long250, baseCensus+"C9,ACME,E9,Ivy,Late,,,5 Oak St,Boston,MA,02134,,ACTIVE,2020-01-06,\n", 0o600)
	put(t, src.Inbound, "elections_acme_20261115.csv", electionsHeader+"L1,ACME,E2,FSA1,ENROLL,INDIVIDUAL,1300.00,2026-01-01,,NEW_HIRE,,,\n", 0o600)
	e := newEnv(t)
	e.withCensus()
	opts := RunOptions{Staging: t.TempDir(), Now: func() time.Time { return e.now }}
	ctx := context.Background()

	reports, err := RunSource(ctx, e.l, discard, src, opts)
	if err != nil {
		t.Fatalf("first pass: %v", err)
	}
	checkOutcomes(t, "first pass", outcomes(reports), map[string]string{
		long236: enrollsftp.BatchRejected, long250: enrollsftp.BatchRejected,
		"elections_acme_20261115.csv": enrollsftp.BatchApplied,
	})
	for _, r := range reports {
		if r.Batch.Status == enrollsftp.BatchRejected && r.Batch.FileErrors.Codes() != string(enrollsftp.FileNameTooLong) {
			t.Errorf("%.20s…: codes %q, want FILE_NAME_TOO_LONG", r.File, r.Batch.FileErrors.Codes())
		}
		if r.Batch.ID != "" && len(r.Delivered) == 0 {
			t.Errorf("%.20s…: no outputs delivered", r.File)
		}
	}
	for _, dir := range []string{src.Inbound, src.Outbound, src.Archive, opts.Staging} {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && len(d.Name()) > enrollsftp.MaxFileName+25 {
				t.Errorf("%s holds a %d-byte name", dir, len(d.Name()))
			}
			return nil
		})
	}
	if left, _ := os.ReadDir(src.Inbound); len(left) != 0 {
		t.Errorf("inbound still holds %d files, want every one archived", len(left))
	}
	for _, short := range []string{enrollsftp.ShortName(long236), enrollsftp.ShortName(long250)} {
		if _, err := os.Stat(filepath.Join(src.Outbound, strings.TrimSuffix(short, ".csv")+".ack.json")); err != nil {
			t.Errorf("no ack under the short name: %v", err)
		}
	}
	// The same long name again: archived beside the first (a timestamp
	// suffix on a name that must still fit).
	put(t, src.Inbound, long236, baseCensus+"C8,ACME,E8,Al,New,,,5 Oak St,Boston,MA,02134,,ACTIVE,2020-01-06,\n", 0o600)
	if _, err := RunSource(ctx, e.l, discard, src, opts); err != nil {
		t.Fatalf("second pass: %v", err)
	}
	if left, _ := os.ReadDir(src.Inbound); len(left) != 0 {
		t.Errorf("second pass: inbound still holds %d files", len(left))
	}
}

// TestStaleTemporariesAreRemoved: what a killed run left half-written in
// the staging folder (downloads, decrypted plaintext, output temporaries
// holding PII) is removed at the start of the next pass.
func TestStaleTemporariesAreRemoved(t *testing.T) {
	e := newEnv(t)
	seed := t.TempDir()
	os.MkdirAll(filepath.Join(seed, "inbound"), 0o700)
	staging := t.TempDir()
	src := Source{Name: "vendor", Embedded: seed, Inbound: "/inbound", Outbound: "/outbound", Archive: "/archive",
		Patterns: map[enrollsftp.FileType]string{enrollsftp.Census: "census_*.csv"}}
	stale := []string{".download-123", ".decrypt-456", "out/.seal-789", "out/.census_1.ack.json.1234.tmp", "out/.census_1.errors.csv.99.tmp"}
	keep := []string{"out/census_1.ack.json", "1234abcd-census_1.csv"}
	for _, f := range append(stale, keep...) {
		p := filepath.Join(staging, "vendor", f)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := RunSource(context.Background(), e.l, discard, src, RunOptions{Staging: staging, Now: func() time.Time { return e.now }}); err != nil {
		t.Fatal(err)
	}
	for _, f := range stale {
		if _, err := os.Stat(filepath.Join(staging, "vendor", f)); err == nil {
			t.Errorf("%s is still there", f)
		}
	}
	for _, f := range keep {
		if _, err := os.Stat(filepath.Join(staging, "vendor", f)); err != nil {
			t.Errorf("%s was removed: %v", f, err)
		}
	}
}

// TestFailedBatchIsSettledByALaterOne: a FAILED batch whose bytes a later
// batch processed (sent again, not rerun) shows as superseded, and its
// rerun is FILE_ALREADY_PROCESSED instead of a second application.
func TestFailedBatchIsSettledByALaterOne(t *testing.T) {
	e := newEnv(t)
	p := filepath.Join(e.dir, "census_1.csv")
	if err := os.WriteFile(p, []byte(baseCensus), 0o600); err != nil {
		t.Fatal(err)
	}
	o := Options{Path: p, Type: enrollsftp.Census, OutDir: filepath.Join(e.dir, "out"), ReceivedAt: e.now,
		LayoutDir: t.TempDir(), Layout: "census.acme"} // a layout not installed yet: an operational failure
	if _, err := ProcessFile(context.Background(), e.l, discard, o); err == nil {
		t.Fatal("processing with a missing layout: no error")
	}
	o.Layout = ""
	failed, err := e.l.Batches(context.Background(), enroll.Filter{Status: enrollsftp.BatchFailed})
	if err != nil || len(failed) != 1 {
		t.Fatalf("FAILED batches: %v (%v), want one", failed, err)
	}
	res, err := ProcessFile(context.Background(), e.l, discard, o)
	if err != nil || res.Batch.Status != enrollsftp.BatchApplied {
		t.Fatalf("the same bytes again: %+v (%v)", res.Batch, err)
	}
	if b, _ := e.l.Batch(context.Background(), failed[0].ID); b.SupersededBy != res.Batch.ID {
		t.Errorf("the FAILED batch is superseded by %q, want %q", b.SupersededBy, res.Batch.ID)
	}
	if _, err := Rerun(context.Background(), e.l, discard, failed[0].ID, RerunOptions{OutDir: t.TempDir()}); !errors.Is(err, enroll.ErrAlreadyProcessed) {
		t.Errorf("rerun of the settled failure: %v, want FILE_ALREADY_PROCESSED", err)
	}
}

// TestStagingFailureBlamesNoFile: when our own staging folder cannot take
// a download (here: not a folder; in life, a full disk), the pass stops
// without recording the file FAILED or backing it off: every file behind it
// would fail the same way, and none of them is at fault.
func TestStagingFailureBlamesNoFile(t *testing.T) {
	s := sshdtest.Start(t)
	root := t.TempDir()
	src := sshdSource(s, root)
	os.MkdirAll(src.Inbound, 0o700)
	put(t, src.Inbound, "census_acme_20261115.csv", baseCensus, 0o600)
	put(t, src.Inbound, "census_acme_20261116.csv", baseCensus+"C9,ACME,E9,Ivy,Late,,,5 Oak St,Boston,MA,02134,,ACTIVE,2020-01-06,\n", 0o600)
	e := newEnv(t)
	ctx := context.Background()
	staging := filepath.Join(t.TempDir(), "staging")
	if err := os.WriteFile(staging, nil, 0o600); err != nil { // a file where the folder should be
		t.Fatal(err)
	}
	opts := RunOptions{Staging: staging, Now: func() time.Time { return e.now }}
	for pass := 1; pass <= 2; pass++ {
		if _, err := RunSource(ctx, e.l, discard, src, opts); Step(err) != "stage" {
			t.Fatalf("pass %d: error %v (step %s), want the staging step", pass, err, Step(err))
		}
	}
	if list, _ := e.l.Batches(ctx, enroll.Filter{}); len(list) != 0 {
		t.Errorf("batches recorded for a local failure: %+v", list)
	}
	os.Remove(staging)
	reports, err := RunSource(ctx, e.l, discard, src, opts)
	if err != nil {
		t.Fatalf("with staging fixed: %v", err)
	}
	checkOutcomes(t, "with staging fixed", outcomes(reports), map[string]string{
		"census_acme_20261115.csv": enrollsftp.BatchApplied, "census_acme_20261116.csv": enrollsftp.BatchApplied,
	})
}
