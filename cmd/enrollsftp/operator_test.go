package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tests of what an operator fixing a bad night meets (issue 14, items 1,
// 2, 3, 5, 6, 7 and 13), against the built binary.

func e2eFile(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("../../testdata/e2e", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newOperatorCLI(t *testing.T) *cli {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	c := &cli{t: t, bin: buildBinary(t), dir: t.TempDir(), now: "2026-11-15T02:00:00Z"}
	plans, _ := filepath.Abs("../../testdata/plans.yaml")
	c.run(0, "plans", "load", plans)
	return c
}

func (c *cli) batchList(args ...string) []batchJSON {
	c.t.Helper()
	var list []batchJSON
	if err := json.Unmarshal([]byte(c.run(0, append([]string{"batches", "--json"}, args...)...)), &list); err != nil {
		c.t.Fatal(err)
	}
	return list
}

func (c *cli) ackJSON(path string) map[string]any {
	c.t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(readFile(c.t, filepath.Join(c.dir, path))), &m); err != nil {
		c.t.Fatal(err)
	}
	return m
}

// Item 1: a file processed with the wrong --type is REJECTED, says what it
// looks like, and can then be processed with the right type, or rerun as
// it. Only applied bytes count as processed.
func TestWrongTypeCanBeProcessedAgain(t *testing.T) {
	c := newOperatorCLI(t)
	elections := e2eFile(t, "elections_acme_20261115.csv")
	out := c.run(3, "process", "--type", "census", elections)
	if !strings.Contains(out, "this looks like an elections file") {
		t.Errorf("the rejection does not say the file looks like an elections file:\n%s", out)
	}
	rejected := c.batchList()[0]
	c.run(0, "process", "--type", "elections", elections)
	list := c.batchList()
	if len(list) != 2 || list[1].Status != "APPLIED" || list[1].Type != "elections" {
		t.Fatalf("batches after the right type: %+v", list)
	}
	if list[0].BatchID != rejected.BatchID || list[0].SupersededBy != list[1].BatchID {
		t.Errorf("the wrongly typed REJECTED batch is not settled by the applied one: %+v", list[0])
	}
	// Now the bytes are applied: a third time is FILE_ALREADY_PROCESSED.
	c.run(3, "process", "--type", "elections", elections)

	// The same mistake fixed by a rerun with --type.
	c2 := newOperatorCLI(t)
	c2.run(3, "process", "--type", "census", elections)
	id := c2.batchList()[0].BatchID
	out = c2.run(0, "rerun", id, "--type", "elections")
	if !strings.Contains(out, "supersedes "+id) {
		t.Errorf("rerun --type elections:\n%s", out)
	}
	if got := c2.batchList(); len(got) != 2 || got[1].Type != "elections" || got[1].Status != "APPLIED" || got[1].Layout != "elections.v1" {
		t.Errorf("after rerun --type elections: %+v", got)
	}
	// A layout for the other type is refused before anything runs.
	c3 := newOperatorCLI(t)
	c3.run(3, "process", "--type", "census", elections)
	id = c3.batchList()[0].BatchID
	c3.run(2, "rerun", id, "--layout", "census.v1", "--type", "elections")
	if got := c3.batchList(); len(got) != 1 {
		t.Errorf("a refused rerun recorded a batch: %+v", got)
	}
}

// Item 2: rerun finds the staged copy whatever folder it runs from.
func TestRerunFromAnotherFolder(t *testing.T) {
	c := newOperatorCLI(t)
	bad := filepath.Join(c.dir, "census_bad.csv")
	body := strings.Replace(readFile(t, e2eFile(t, "census_acme_20261115.csv")), "employee_id", "worker", 1)
	if err := os.WriteFile(bad, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c.run(3, "process", "--type", "census", "census_bad.csv")
	id := c.batchList()[0].BatchID
	ledger := filepath.Join(c.dir, "ledger.db")
	c.dir = t.TempDir() // another folder; the same ledger
	out := c.run(3, "rerun", id, "--ledger", ledger)
	if strings.Contains(out+c.logs.String(), "unreadable") || !strings.Contains(out, "supersedes "+id) {
		t.Errorf("rerun from another folder:\n%s\n%s", out, c.logs.String())
	}
}

// Item 3: a file with the bytes of an applied one gets an answer.
func TestResentBytesAreAnswered(t *testing.T) {
	c := newOperatorCLI(t)
	census := readFile(t, e2eFile(t, "census_acme_20261115.csv"))
	for _, name := range []string{"census_a.csv", "census_b.csv"} {
		if err := os.WriteFile(filepath.Join(c.dir, name), []byte(census), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c.run(0, "process", "--type", "census", "census_a.csv")
	applied := c.batchList()[0].BatchID
	out := c.run(3, "process", "--type", "census", "census_b.csv")
	if !strings.Contains(out, "census_b.ack.json") {
		t.Errorf("no ack written for the re-sent bytes:\n%s", out)
	}
	ack := c.ackJSON("out/census_b.ack.json")
	fe, _ := ack["file_errors"].([]any)
	if len(fe) != 1 || fe[0].(map[string]any)["code"] != "FILE_ALREADY_PROCESSED" ||
		ack["earlier_batch_id"] != applied || ack["status"] != "REJECTED" || ack["batch_id"] != "" {
		t.Errorf("census_b.ack.json: %v", ack)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(c.dir, "out/census_b.ack.csv"))); strings.Contains(got, "\n") {
		t.Errorf("census_b.ack.csv has rows:\n%s", got)
	}
	if got := c.batchList(); len(got) != 1 {
		t.Errorf("the re-sent file recorded a batch: %+v", got)
	}
	staged, _ := filepath.Glob(filepath.Join(c.dir, "var/staging/local/*"))
	if len(staged) != 1 {
		t.Errorf("staged copies %q, want only the applied file's", staged)
	}
}

// Item 5: usage and configuration errors are exit 2 and record nothing.
func TestUsageErrorsRecordNothing(t *testing.T) {
	c := newOperatorCLI(t)
	census := e2eFile(t, "census_acme_20261115.csv")
	if err := os.WriteFile(filepath.Join(c.dir, "a_file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"process", "--type", "census", filepath.Dir(census)},
		{"process", "--type", "census", "--layout", "nope.v9", census},
		{"process", "--type", "census", "--layout", "elections.v1", census},
		{"process", "--type", "census", "--out", "a_file/out", census},
	} {
		c.run(2, args...)
	}
	if got := c.batchList(); len(got) != 0 {
		t.Errorf("usage errors recorded batches: %+v", got)
	}
	// A source whose known_hosts file is missing: a config error.
	cfg := filepath.Join(c.dir, "config.yaml")
	key := filepath.Join(c.dir, "id_test")
	if err := os.WriteFile(key, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := "sources:\n  - name: v\n    sftp: {host: 127.0.0.1, port: 1, user: u, private_key: " + key +
		", known_hosts: " + filepath.Join(c.dir, "missing_known_hosts") + "}\n    inbound: /in\n    outbound: /out\n    archive: /arc\n" +
		"    patterns: {census: \"census_*.csv\"}\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c.config = cfg
	c.run(2, "run")
	if !strings.Contains(c.logs.String(), "known_hosts") {
		t.Errorf("the error does not name known_hosts:\n%s", c.logs.String())
	}
	c.config = ""
	if got := c.batchList(); len(got) != 0 {
		t.Errorf("run with a missing known_hosts recorded batches: %+v", got)
	}
}

// Item 6: a dry run's outputs say so and name no batch.
func TestDryRunOutputsSaySo(t *testing.T) {
	c := newOperatorCLI(t)
	out := c.run(0, "process", "--type", "census", "--dry-run", e2eFile(t, "census_acme_20261115.csv"))
	ack := c.ackJSON("out/census_acme_20261115.ack.json")
	if ack["dry_run"] != true || ack["status"] != "DRY_RUN" || ack["batch_id"] != "" || ack["would_be"] != "APPLIED" {
		t.Errorf("dry run ack.json: %v", ack)
	}
	if !strings.Contains(out, "dry run") || strings.Contains(out, "APPLIED  0") {
		t.Errorf("dry run summary:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && len(f[len(f)-1]) == 36 {
			t.Errorf("the dry run prints a batch id: %q", line)
		}
	}
}

// Item 7: listings, the hold's figures, id prefixes.
func TestListingsAndHolds(t *testing.T) {
	c := newOperatorCLI(t)
	c.run(0, "process", "--type", "census", e2eFile(t, "census_acme_20261115.csv"))
	out := c.run(3, "process", "--type", "elections", "--max-reject-ratio", "0.3", e2eFile(t, "elections_mostly_bad_20261119.csv"))
	if !strings.Contains(out, "3 of 3 rows rejected (100.0%)") || !strings.Contains(out, "max_reject_ratio of 0.3") {
		t.Errorf("the HELD message lacks the ratio and threshold:\n%s", out)
	}
	ack := c.ackJSON("out/elections_mostly_bad_20261119.ack.json")
	hold, _ := ack["hold"].(map[string]any)
	if hold["ratio"] != 1.0 || hold["max_reject_ratio"] != 0.3 || ack["layout"] != "elections.v1" {
		t.Errorf("HELD ack.json: %v", ack)
	}
	if codes, _ := ack["error_codes"].(map[string]any); codes["INVALID_AMOUNT"] != 1.0 || codes["INVALID_COVERAGE_TIER"] != 1.0 {
		t.Errorf("ack.json error_codes: %v", ack["error_codes"])
	}

	if c.run(2, "batches", "--status", "BOGUS"); !strings.Contains(c.logs.String(), "RECEIVED, APPLIED, REJECTED, HELD, FAILED") {
		t.Errorf("--status BOGUS does not list the statuses:\n%s", c.logs.String())
	}
	held := c.batchList("--status", "held")
	if len(held) != 1 {
		t.Fatalf("HELD batches: %+v", held)
	}
	id := held[0].BatchID
	// A unique prefix names the batch; a shared one is refused.
	list := c.batchList()
	prefix := uniquePrefix(list, id)
	if got := c.run(0, "batch", "show", prefix); !strings.Contains(got, id) {
		t.Errorf("batch show %s:\n%s", prefix, got)
	}
	if shared := sharedPrefix(list); len(shared) >= 4 {
		c.run(2, "batch", "show", shared)
	}

	c.run(0, "rerun", prefix, "--force", "--reason", "vendor confirmed the rows")
	if got := c.batchList("--status", "HELD"); len(got) != 0 {
		t.Errorf("a released batch still lists as HELD: %+v", got)
	}
	var released batchJSON
	for _, b := range c.batchList() {
		if b.BatchID == id {
			released = b
		}
	}
	if released.Status != "RELEASED" || released.SupersededBy == "" {
		t.Errorf("released batch: %+v", released)
	}
	if text := c.run(0, "batches"); !strings.Contains(text, "RELEASED") || !strings.Contains(text, released.SupersededBy) {
		t.Errorf("batches text does not show the release:\n%s", text)
	}
	if got := c.batchList("--since", "2026-11-15"); len(got) != 3 {
		t.Errorf("--since 2026-11-15: %d batches, want 3", len(got))
	}
	if got := c.batchList("--since", "2026-11-16"); len(got) != 0 {
		t.Errorf("--since 2026-11-16: %d batches, want 0", len(got))
	}
}

func uniquePrefix(list []batchJSON, id string) string {
	for n := 4; n < len(id); n++ {
		shared := 0
		for _, b := range list {
			if strings.HasPrefix(b.BatchID, id[:n]) {
				shared++
			}
		}
		if shared == 1 {
			return id[:n]
		}
	}
	return id
}

// sharedPrefix is the longest prefix the first two batches share.
func sharedPrefix(list []batchJSON) string {
	if len(list) < 2 {
		return ""
	}
	a, b := list[0].BatchID, list[1].BatchID
	n := 0
	for n < len(a) && a[n] == b[n] {
		n++
	}
	return a[:n]
}

// Item 13: the ledger, its WAL files, the key and every output are 0600,
// also for a ledger made readable by an earlier version.
func TestFilesHoldingPIIAre0600(t *testing.T) {
	c := newOperatorCLI(t)
	c.run(0, "process", "--type", "census", e2eFile(t, "census_acme_20261115.csv"))
	check := func() {
		t.Helper()
		paths, _ := filepath.Glob(filepath.Join(c.dir, "ledger.db*"))
		outs, _ := filepath.Glob(filepath.Join(c.dir, "out", "*"))
		if len(outs) < 3 {
			t.Fatalf("outputs: %q", outs)
		}
		for _, p := range append(paths, outs...) {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s is %v, want 0600", filepath.Base(p), st.Mode().Perm())
			}
		}
	}
	check()
	if err := os.Chmod(filepath.Join(c.dir, "ledger.db"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.run(0, "process", "--type", "census", e2eFile(t, "census_globex_20261116.csv"))
	check()
}

// A state folder moved or restored elsewhere: rerun finds the staged copy
// under the configured staging root, at the same place in it.
func TestRerunAfterTheStateFolderMoved(t *testing.T) {
	c := newOperatorCLI(t)
	body := strings.Replace(readFile(t, e2eFile(t, "census_acme_20261115.csv")), "employee_id", "worker", 1)
	if err := os.WriteFile(filepath.Join(c.dir, "census_bad.csv"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c.run(3, "process", "--type", "census", "census_bad.csv")
	id := c.batchList()[0].BatchID
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(c.dir, moved); err != nil {
		t.Fatal(err)
	}
	c.dir = moved
	out := c.run(3, "rerun", id)
	if !strings.Contains(out, "supersedes "+id) || !strings.Contains(out, "wrote ") {
		t.Errorf("rerun after the move:\n%s\n%s", out, c.logs.String())
	}
}

// A layout alone names the type to rerun as; an empty id is a usage error.
func TestRerunWithALayoutAlone(t *testing.T) {
	c := newOperatorCLI(t)
	c.run(3, "process", "--type", "census", e2eFile(t, "elections_acme_20261115.csv"))
	id := c.batchList()[0].BatchID
	c.run(0, "rerun", id, "--layout", "elections.v1")
	if got := c.batchList(); len(got) != 2 || got[1].Type != "elections" || got[1].Status != "APPLIED" {
		t.Errorf("after rerun --layout elections.v1: %+v", got)
	}
	c.run(2, "batch", "show", "")
	c.run(2, "batch", "show", "01a") // too short to be a prefix: not found, saying so
	if !strings.Contains(c.logs.String(), "at least 4 characters") {
		t.Errorf("a short id's error does not say how long a prefix must be:\n%s", c.logs.String())
	}
}
