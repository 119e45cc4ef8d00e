package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"enrollsftp"
	"enrollsftp/internal/gen"
)

// lockedBuffer is a bytes.Buffer written by the progress goroutine and
// read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// processShowing processes a generated census of rows rows with progress
// p, logging to logs. At row pauseAt the ledger waits until shown says
// the progress was shown, so the test sees a file in progress without
// needing a file that takes long.
func processShowing(t *testing.T, rows, pauseAt int, p *Progress, logs *lockedBuffer, shown func() bool) (path string) {
	t.Helper()
	e := newEnv(t)
	path = filepath.Join(e.dir, "census_big.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.Census(f, rows, 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	n := 0
	beat := func() {
		if n++; n != pauseAt {
			return
		}
		for deadline := time.Now().Add(10 * time.Second); !shown(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("no progress shown 10 s into the file")
				return
			}
		}
	}
	log := FileLog(zerolog.New(logs), "", "census_big.csv")
	o := Options{Path: path, Type: enrollsftp.Census, OutDir: filepath.Join(e.dir, "out"), ReceivedAt: e.now,
		Progress: p, Beat: beat}
	if _, err := ProcessFile(context.Background(), e.l, log, o); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestProgressLogLines: off a terminal, a long file logs a JSON
// "progress" line every interval (10 s by default; shorter here), each
// with the bytes read of the file's, the rows and the rates.
func TestProgressLogLines(t *testing.T) {
	var logs lockedBuffer
	path := processShowing(t, 5000, 1000, &Progress{Every: 5 * time.Millisecond}, &logs,
		func() bool { return strings.Count(logs.String(), `"message":"progress"`) >= 2 })
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	after := logs.String()
	time.Sleep(30 * time.Millisecond)
	if logs.String() != after {
		t.Errorf("progress lines went on after the file was done")
	}
	var n int
	var last float64
	for _, line := range strings.Split(strings.TrimSpace(after), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if m["message"] != "progress" {
			continue
		}
		n++
		read, total, percent := m["bytes_read"].(float64), m["bytes_total"].(float64), m["percent"].(float64)
		switch {
		case m["file"] != "census_big.csv":
			t.Errorf("file: got %v, want census_big.csv: %s", m["file"], line)
		case total != float64(st.Size()):
			t.Errorf("bytes_total: got %v, want the file's size %d: %s", total, st.Size(), line)
		case read <= 0 || read > total:
			t.Errorf("bytes_read %v: want 1 to %v: %s", read, total, line)
		case percent < last || percent > 100:
			t.Errorf("percent %v after %v: want rising, at most 100: %s", percent, last, line)
		case m["rows"] == nil || m["rows_per_s"] == nil || m["eta_s"] == nil:
			t.Errorf("rows, rows_per_s or eta_s missing: %s", line)
		}
		last = percent
	}
	if n < 2 {
		t.Errorf("%d progress lines, want at least 2:\n%s", n, after)
	}
}

// TestProgressBar: on a terminal, a bar with the percent of bytes read,
// rows/s and the time left, its line ended when the file is done.
func TestProgressBar(t *testing.T) {
	var term, logs lockedBuffer
	processShowing(t, 5000, 1000, &Progress{Terminal: &term}, &logs,
		func() bool { return strings.Contains(term.String(), "rows/s") })
	out := term.String()
	for _, want := range []string{"census_big.csv: ", "rows/s", "%", "B/", "s]"} {
		if !strings.Contains(out, want) {
			t.Errorf("the bar lacks %q: %q", want, out)
		}
	}
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("the bar's line was left open: %q", out)
	}
	if strings.Contains(logs.String(), `"progress"`) {
		t.Errorf("progress logged as well as drawn:\n%s", logs.String())
	}
}

// TestProgressNotShownForAShortFile: nothing is shown before the first
// interval, nor when no progress was asked for.
func TestProgressNotShownForAShortFile(t *testing.T) {
	var term lockedBuffer
	for _, p := range []*Progress{nil, {Every: time.Hour}, {Terminal: &term}} {
		var logs lockedBuffer
		processShowing(t, 50, 0, p, &logs, func() bool { return true })
		if strings.Contains(logs.String(), `"progress"`) {
			t.Errorf("%+v: progress logged:\n%s", p, logs.String())
		}
	}
	if term.String() != "" {
		t.Errorf("a bar for a file done at once: %q", term.String())
	}
}
