package pipeline

import (
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/enroll"
)

// counted yields n records with Line 1..n, then end.
func counted(n int, end error) enroll.Rows {
	i := 0
	return func() (enroll.Record, error) {
		if i == n {
			return enroll.Record{}, end
		}
		i++
		return enroll.Record{Line: i}, nil
	}
}

func TestReadAheadKeepsOrderAndEnding(t *testing.T) {
	fileErr := &enrollsftp.FileError{Errors: enrollsftp.Errors{{Code: enrollsftp.FileMalformed, Message: "x"}}}
	for _, tt := range []struct {
		n   int
		end error
	}{{0, io.EOF}, {1, io.EOF}, {readAheadBatch - 1, io.EOF}, {readAheadBatch, io.EOF}, {readAheadBatch + 1, io.EOF},
		{3*readAheadBatch + 7, io.EOF}, {300, fileErr}, {0, fileErr}} {
		next, stop := readAhead(counted(tt.n, tt.end))
		for want := 1; want <= tt.n; want++ {
			r, err := next()
			if err != nil || r.Line != want {
				t.Fatalf("n=%d: record %d = %d, %v", tt.n, want, r.Line, err)
			}
		}
		for range 2 { // the ending repeats, as a reader's does
			if _, err := next(); !errors.Is(err, tt.end) {
				t.Errorf("n=%d: ended with %v, want %v", tt.n, err, tt.end)
			}
		}
		stop()
	}
}

// TestReadAheadStopsItsGoroutine: a ledger that stops early (a failure)
// does not leave the reader running.
func TestReadAheadStopsItsGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 20 {
		next, stop := readAhead(counted(1_000_000, io.EOF))
		if _, err := next(); err != nil {
			t.Fatal(err)
		}
		stop()
		stop() // twice is fine
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after stopping, %d before", n, before)
	}
}
