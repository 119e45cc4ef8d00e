package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// repeatedKey returns the first key that appears twice in one object of
// the JSON value in line ("outer.inner" when nested), or "" if none does.
// encoding/json keeps the last of two equal keys without a word, so the
// tokens are read one by one.
func repeatedKey(line string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	key, err := repeatedIn(dec, "")
	if err != nil || key != "" {
		return key, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("more than one JSON value in %q", line)
	}
	return "", nil
}

// repeatedIn reads one value from dec.
func repeatedIn(dec *json.Decoder, path string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return "", err
			}
			name := path + k.(string)
			if seen[name] {
				return name, nil
			}
			seen[name] = true
			if dup, err := repeatedIn(dec, name+"."); dup != "" || err != nil {
				return dup, err
			}
		}
		_, err = dec.Token() // '}'
		return "", err
	case json.Delim('['):
		for dec.More() {
			if dup, err := repeatedIn(dec, path); dup != "" || err != nil {
				return dup, err
			}
		}
		_, err = dec.Token() // ']'
		return "", err
	}
	return "", nil
}

func TestRepeatedKey(t *testing.T) {
	tests := []struct{ line, want string }{
		{`{"a":1,"b":"x"}`, ""},
		{`{"source":"s","file":"f","source":"s"}`, "source"},
		{`{"a":{"b":1,"b":2}}`, "a.b"},
		{`{"a":[{"c":1},{"c":2}],"b":{"c":3}}`, ""},
		{`{"a":[{"c":1,"c":2}]}`, "a.c"},
	}
	for _, tc := range tests {
		if got, err := repeatedKey(tc.line); got != tc.want || err != nil {
			t.Errorf("repeatedKey(%s): got %q (%v), want %q", tc.line, got, err, tc.want)
		}
	}
	if _, err := repeatedKey(`{"a":1} {"b":2}`); err == nil {
		t.Errorf("two values on one line: no error")
	}
}

// checkLogLines fails t for a stderr line that is not one JSON object, has
// a key twice, or has an empty "source" (a local file has no source: the
// key is left out). The one line that is not a log line is the command's
// closing error ("enrollsftp: ..."). It returns the log lines, decoded.
func checkLogLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(line, "enrollsftp: ") {
			continue
		}
		dup, err := repeatedKey(line)
		var m map[string]any
		if err == nil {
			err = json.Unmarshal([]byte(line), &m)
		}
		switch {
		case err != nil:
			t.Errorf("not a JSON log line (%v): %s", err, line)
			continue
		case dup != "":
			t.Errorf("key %q twice: %s", dup, line)
		}
		if s, ok := m["source"]; ok && s == "" {
			t.Errorf(`empty "source": %s`, line)
		}
		lines = append(lines, m)
	}
	return lines
}

// fileLines are the lines of messages about one file, which must name it.
func fileLines(t *testing.T, lines []map[string]any, wantSource bool) {
	t.Helper()
	n := 0
	for _, m := range lines {
		if msg := m["message"]; msg != "processing file" && msg != "file processed" {
			continue
		}
		n++
		if m["file"] == nil || m["batch_id"] == nil {
			t.Errorf("a line about a file without its file or batch_id: %v", m)
		}
		if _, ok := m["source"]; ok != wantSource {
			t.Errorf("source present %v, want %v: %v", ok, wantSource, m)
		}
	}
	if n == 0 {
		t.Errorf("no 'processing file' or 'file processed' line: the test checked nothing")
	}
}

// demoConfig writes a config whose one source is the embedded demo drop.
func demoConfig(t *testing.T, extra string) string {
	t.Helper()
	data, _ := filepath.Abs("../../testdata")
	return embeddedConfig(t, filepath.Join(data, "demo"), extra)
}

// embeddedConfig writes a config whose one source, demo, serves the
// folder seed in-process.
func embeddedConfig(t *testing.T, seed, extra string) string {
	t.Helper()
	dir := t.TempDir()
	data, _ := filepath.Abs("../../testdata")
	cfg := fmt.Sprintf(`ledger: ledger.db
staging: staging
plans: %s/plans.yaml
sources:
  - name: demo
    sftp: {embedded: %s}
    inbound: /inbound
    outbound: /outbound
    archive: /archive
    min_file_age: 0s
    employers: [ACME, GLOBEX]
%s`, data, seed, extra)
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLogLinesHaveEachKeyOnce: "processing file" and "file processed"
// carried source and file twice under run (the source's logger had them,
// and ProcessFile added them again), and "source":"" under process.
func TestLogLinesHaveEachKeyOnce(t *testing.T) {
	e2e, _ := filepath.Abs("../../testdata/e2e")
	t.Run("run", func(t *testing.T) {
		dir := demoConfig(t, "")
		code, stdout, stderr := runHere(t, dir, "run")
		if code != exitOK {
			t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
		}
		fileLines(t, checkLogLines(t, stderr), true)
	})
	t.Run("process and rerun", func(t *testing.T) {
		dir := demoConfig(t, "")
		out := filepath.Join(dir, "out")
		if code, _, stderr := runHere(t, dir, "plans", "load", filepath.Join(e2e, "../plans.yaml")); code != 0 {
			t.Fatal(stderr)
		}
		code, _, stderr := runHere(t, dir, "process", "--type", "census", "--out", out, filepath.Join(e2e, "census_acme_20261115.csv"))
		if code != exitOK {
			t.Fatalf("process: exit %d\n%s", code, stderr)
		}
		fileLines(t, checkLogLines(t, stderr), false)

		code, _, stderr = runHere(t, dir, "process", "--type", "elections", "--out", out, "--max-reject-ratio", "0.5",
			filepath.Join(e2e, "elections_mostly_bad_20261119.csv"))
		if code != exitRejected {
			t.Fatalf("process of a mostly bad file: exit %d, want HELD\n%s", code, stderr)
		}
		checkLogLines(t, stderr)
		_, stdout, _ := runHere(t, dir, "batches", "--status", "HELD", "--json")
		var held []struct {
			BatchID string `json:"batch_id"`
		}
		if err := json.Unmarshal([]byte(stdout), &held); err != nil || len(held) != 1 {
			t.Fatalf("HELD batches: %s (%v)", stdout, err)
		}
		code, _, stderr = runHere(t, dir, "rerun", "--force", "--reason", "vendor confirmed", "--out", out, held[0].BatchID)
		if code != exitOK {
			t.Fatalf("rerun: exit %d\n%s", code, stderr)
		}
		fileLines(t, checkLogLines(t, stderr), false)
	})
	t.Run("serve", func(t *testing.T) {
		dir := demoConfig(t, "    schedule: \"* * * * * *\"\n")
		ctx, cancel := context.WithCancel(context.Background())
		var stdout syncBuffer
		var stderr syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"--config", filepath.Join(dir, "config.yaml"), "--now", "2026-11-15T02:00:00Z",
				"serve", "--http", "127.0.0.1:0"}, &stdout, &stderr)
		}()
		waitFor(t, 30*time.Second, "a pass of serve", func() bool { return strings.Contains(stderr.String(), "run finished") })
		cancel()
		if code := <-done; code != exitOK {
			t.Fatalf("serve: exit %d\n%s", code, stderr.String())
		}
		fileLines(t, checkLogLines(t, stderr.String()), true)
	})
}
