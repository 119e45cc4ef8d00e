package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"enrollsftp/internal/sshdtest"
)

// remote is a source's folders on the sshd host (absolute: no chroot).
type remote struct{ inbound, outbound, archive string }

func newRemote(t *testing.T) remote {
	t.Helper()
	root := t.TempDir()
	r := remote{filepath.Join(root, "inbound"), filepath.Join(root, "outbound"), filepath.Join(root, "archive")}
	if err := os.MkdirAll(r.inbound, 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

// drop puts a file in inbound with an mtime in the past, so min_file_age
// does not hold it.
func (r remote) drop(t *testing.T, name string, body []byte) {
	t.Helper()
	p := filepath.Join(r.inbound, name)
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(p, old, old)
}

func demoFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../testdata/demo/inbound", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type sourceSpec struct {
	name       string
	port       int
	key        string
	knownHosts string
	r          remote
	extra      string // more YAML keys for the source
}

func sourceFor(name string, s *sshdtest.Server, r remote) sourceSpec {
	return sourceSpec{name: name, port: s.Port, key: s.ClientKey, knownHosts: s.KnownHosts, r: r}
}

// sftpCLI writes a config with the given sources and returns a cli using it.
func sftpCLI(t *testing.T, bin string, sources ...sourceSpec) *cli {
	t.Helper()
	dir := t.TempDir()
	plans, _ := filepath.Abs("../../testdata/plans.yaml")
	var b strings.Builder
	fmt.Fprintf(&b, "ledger: ledger.db\nstaging: staging\nplans: %s\nsources:\n", plans)
	for _, s := range sources {
		fmt.Fprintf(&b, `  - name: %s
    sftp: {host: 127.0.0.1, port: %d, user: root, private_key: %s, known_hosts: %s}
    inbound: %s
    outbound: %s
    archive: %s
    patterns: {census: "census_*.csv", elections: "elections_*.csv"}
    min_file_age: 30s
    employers: [ACME, GLOBEX]
%s`, s.name, s.port, s.key, s.knownHosts, s.r.inbound, s.r.outbound, s.r.archive, s.extra)
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, bin: bin, dir: dir, now: time.Now().UTC().Format(time.RFC3339)}
	c.config = cfg
	return c
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func sftpBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test")
	}
	return buildBinary(t)
}

func TestSFTPRunAgainstOpenSSH(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t)
	r := newRemote(t)
	r.drop(t, "elections_demo_20261115.csv", demoFile(t, "elections_demo_20261115.csv"))
	r.drop(t, "census_demo_20261115.csv", demoFile(t, "census_demo_20261115.csv"))
	// Not taken: uploads in flight, a name matching no pattern.
	for _, n := range []string{"census_a.csv.part", ".census_b.csv", "census_c.csv.filepart", "census_d.csv.tmp", "notes.txt"} {
		r.drop(t, n, []byte("x"))
	}
	c := sftpCLI(t, bin, sourceFor("acme", s, r))
	out := c.run(0, "run")
	if !strings.Contains(out, "census_demo_20261115.csv") || !strings.Contains(out, "APPLIED") {
		t.Fatalf("run output:\n%s", out)
	}
	// Census was processed before elections although it sorts after: the
	// elections file found every employee.
	ack := readFile(t, filepath.Join(r.outbound, "elections_demo_20261115.ack.csv"))
	if strings.Contains(ack, "INDIVIDUAL_NOT_FOUND") {
		t.Errorf("elections were processed before the census:\n%s", ack)
	}
	want := []string{"census_demo_20261115.ack.csv", "census_demo_20261115.ack.json", "census_demo_20261115.errors.csv",
		"elections_demo_20261115.ack.csv", "elections_demo_20261115.ack.json", "elections_demo_20261115.errors.csv"}
	if got := names(t, r.outbound); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("outbound: got %v, want %v (no .part left behind)", got, want)
	}
	if got := names(t, r.archive); len(got) != 2 {
		t.Errorf("archive: got %v, want the two inputs", got)
	}
	if got := names(t, r.inbound); len(got) != 5 {
		t.Errorf("inbound: got %v, want only the five untaken files", got)
	}
	for _, f := range names(t, filepath.Join(c.dir, "staging", "acme")) {
		if fi, _ := os.Stat(filepath.Join(c.dir, "staging", "acme", f)); fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
			t.Errorf("staged %s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}

	// The same bytes again, under the same name: archived (with a timestamp
	// suffix, the first copy is kept) and not processed.
	r.drop(t, "census_demo_20261115.csv", demoFile(t, "census_demo_20261115.csv"))
	out = c.run(0, "run")
	if !strings.Contains(out, "already processed") {
		t.Errorf("resent bytes: run output:\n%s", out)
	}
	if got := names(t, r.archive); len(got) != 3 {
		t.Errorf("archive after clash: got %v, want 3 files", got)
	}
	var batches []map[string]any
	if err := jsonUnmarshal(c.run(0, "batches", "--json"), &batches); err != nil || len(batches) != 2 {
		t.Errorf("batches: got %d (%v), want 2", len(batches), err)
	}

	// min_file_age: a file modified just now waits.
	fresh := filepath.Join(r.inbound, "census_fresh.csv")
	os.WriteFile(fresh, demoFile(t, "census_demo_20261115.csv")[:200], 0o644)
	c.run(0, "run")
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a file younger than min_file_age was taken")
	}
}

func TestSFTPRefusesWrongKeys(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t)
	r := newRemote(t)
	r.drop(t, "census_demo_20261115.csv", demoFile(t, "census_demo_20261115.csv"))

	other := sshdtest.NewKey(t, t.TempDir(), "other")
	pub, _ := os.ReadFile(other + ".pub")
	badHosts := filepath.Join(t.TempDir(), "known_hosts")
	fields := strings.Fields(string(pub))
	os.WriteFile(badHosts, []byte(fmt.Sprintf("[127.0.0.1]:%d %s %s\n", s.Port, fields[0], fields[1])), 0o600)

	t.Run("host key mismatch", func(t *testing.T) {
		src := sourceFor("acme", s, r)
		src.knownHosts = badHosts
		c := sftpCLI(t, bin, src)
		c.run(1, "run")
		logs := c.logs.String()
		if !strings.Contains(logs, "does not match known_hosts") || !strings.Contains(logs, "SHA256:") ||
			!strings.Contains(logs, "127.0.0.1") {
			t.Errorf("the error should name the host and the offered key's fingerprint:\n%s", logs)
		}
		if strings.Contains(logs, "retrying") {
			t.Errorf("a host key mismatch was retried")
		}
	})
	t.Run("client key not authorized", func(t *testing.T) {
		src := sourceFor("acme", s, r)
		src.key = other
		c := sftpCLI(t, bin, src)
		c.run(1, "run")
		if !strings.Contains(c.logs.String(), "unable to authenticate") {
			t.Errorf("logs:\n%s", c.logs.String())
		}
	})
	if got := names(t, r.inbound); len(got) != 1 {
		t.Errorf("a refused connection touched inbound: %v", got)
	}
}

func TestSFTPFaults(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t)
	good, broken := newRemote(t), newRemote(t)
	good.drop(t, "census_demo_20261115.csv", demoFile(t, "census_demo_20261115.csv"))
	down := sourceFor("down", s, broken)
	down.port = sshdtest.FreePort(t) // nothing listens: refused, retried, given up

	c := sftpCLI(t, bin, down, sourceFor("acme", s, good))
	start := time.Now()
	c.run(1, "run")
	if n := strings.Count(c.logs.String(), "retrying"); n != 3 {
		t.Errorf("connection refused: %d retries logged, want 3\n%s", n, c.logs.String())
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("retries took %v: backoff is not bounded", time.Since(start))
	}
	// One broken source does not stop the other.
	if _, err := os.Stat(filepath.Join(good.outbound, "census_demo_20261115.ack.csv")); err != nil {
		t.Errorf("the working source was not processed: %v", err)
	}
}

// A server that dies mid-download leaves nothing processed; the next run,
// with the server back, takes the file.
func TestSFTPServerKilledMidDownload(t *testing.T) {
	bin := sftpBinary(t)
	s := sshdtest.Start(t)
	r := newRemote(t)
	// A big file that parses fast: a header and 200 MB of blank lines.
	header := "record_id,employer_id,employee_id,first_name,last_name,address_line1,city,state,zip\n"
	big := append([]byte(header), make([]byte, 200<<20)...)
	for i := len(header); i < len(big); i++ {
		big[i] = '\n'
	}
	r.drop(t, "census_big.csv", big)
	c := sftpCLI(t, bin, sourceFor("acme", s, r))

	done := make(chan struct{})
	go func() {
		defer close(done)
		stage := filepath.Join(c.dir, "staging", "acme")
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			for _, n := range names(t, stage) {
				if fi, err := os.Stat(filepath.Join(stage, n)); err == nil && strings.HasPrefix(n, ".download-") && fi.Size() > 0 {
					s.Stop()
					return
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	c.run(1, "run")
	<-done
	// Recorded as a FAILED download, nothing staged, nothing applied.
	var batches []map[string]any
	if err := jsonUnmarshal(c.run(0, "batches", "--json"), &batches); err != nil || len(batches) != 1 ||
		batches[0]["status"] != "FAILED" || batches[0]["sha256"] != "" {
		t.Fatalf("after a broken download: %v (%v), want one FAILED batch with no bytes", batches, err)
	}
	if leftovers := names(t, filepath.Join(c.dir, "staging", "acme")); len(leftovers) != 0 {
		t.Errorf("partial download left in staging: %v", leftovers)
	}
	s.Restart()
	out := c.run(0, "run")
	if !strings.Contains(out, "census_big.csv") || !strings.Contains(out, "APPLIED") {
		t.Errorf("second run:\n%s", out)
	}
}
