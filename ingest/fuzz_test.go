package ingest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/iotest"

	"enrollsftp"
	"enrollsftp/schemas"
)

// maxFuzzRows bounds how many rows one fuzz input is read for.
const maxFuzzRows = 10_000

// fileCodesKnown are the codes a file-level rejection may carry.
var fileCodesKnown = map[enrollsftp.Code]bool{
	enrollsftp.FileEmpty:             true,
	enrollsftp.FileEncoding:          true,
	enrollsftp.FileMalformed:         true,
	enrollsftp.HeaderMissingColumn:   true,
	enrollsftp.HeaderDuplicateColumn: true,
	enrollsftp.HeaderUnknownColumn:   true,
}

// outcome is what reading one input gave, for comparing two reads.
type outcome struct {
	rows  []Row[CensusRow]
	eof   bool // ended with io.EOF (not an error, not the row limit)
	codes []enrollsftp.Code
}

// checkReader reads data as a census file and checks the reader's promises:
// no panic, only FileErrors with known codes or io.EOF, lines strictly
// increasing from 2, and Raw and Mask consistent.
func checkReader(t *testing.T, l *schemas.Layout, r io.Reader) outcome {
	t.Helper()
	var out outcome
	checkErr := func(where string, err error) {
		t.Helper()
		var fe *enrollsftp.FileError
		if !errors.As(err, &fe) {
			t.Fatalf("%s: got error %v (%T), want *enrollsftp.FileError or io.EOF", where, err, err)
		}
		if len(fe.Errors) == 0 {
			t.Fatalf("%s: got FileError with no errors", where)
		}
		for _, e := range fe.Errors {
			if !fileCodesKnown[e.Code] {
				t.Fatalf("%s: got code %q, want a file-level code", where, e.Code)
			}
			out.codes = append(out.codes, e.Code)
		}
	}
	rd, err := NewReader[CensusRow](r, l)
	if err != nil {
		checkErr("NewReader", err)
		return out
	}
	header := rd.Header()
	if len(header) == 0 {
		t.Fatalf("Header: got none, want at least one cell")
	}
	last := 1
	for len(out.rows) < maxFuzzRows {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			out.eof = true
			return out
		}
		if err != nil {
			checkErr("Next", err)
			return out
		}
		if row.Line < 2 || row.Line <= last {
			t.Fatalf("Line: got %d after %d, want strictly increasing and >= 2", row.Line, last)
		}
		last = row.Line
		if len(row.Raw) == 0 {
			t.Fatalf("line %d: Raw: got no cells", row.Line)
		}
		malformed := slices.ContainsFunc(row.Problems, func(e *enrollsftp.Error) bool { return e.Code == enrollsftp.MalformedRow })
		if ragged := len(row.Raw) != len(header); ragged != malformed {
			t.Fatalf("line %d: %d cells for a %d-cell header: got problems %q", row.Line,
				len(row.Raw), len(header), row.Problems.Codes())
		}
		if m := rd.Mask(row.Raw); len(m) != len(row.Raw) {
			t.Fatalf("line %d: Mask: got %d cells, want %d", row.Line, len(m), len(row.Raw))
		}
		out.rows = append(out.rows, row)
	}
	return out
}

// fuzzSeeds are added with f.Add; testdata/fuzz/FuzzReader holds more.
var fuzzSeeds = []string{
	"",
	minHeader + "\nE1,1001,Ann,Lee,1 Main St,Springfield,IL,62701\n",
	"\uFEFF" + minHeader + "\r\nE1,1001,Ann,Lee,1 Main St,Springfield,IL,62701\r\n",
	minHeader + "\nE1,1001,\"Ann, \"\"A\"\"\",Lee,\"1 Main\nSt\",Springfield,IL,62701\n",
	minHeader + "\nE1,1001\n,,,,,,,\n\nE1,1002,B,C,D,E,IL,62701,extra\n",
	minHeader + ",ssn,dob\nE1,1001,Ann,Lee,1 Main St,Springfield,IL,62701,123-45-6789,1980-01-02\n",
	minHeader + "\nE1,1001,\"Ann,Lee\n",
	minHeader + "\nE1,1001,Ren\xe9,Lee,1 Main St,Springfield,IL,62701\n",
	"\xff\xfee\x00m\x00",
	"employer_id,ssn,social_security_number,colour\n",
}

func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	l := layout(f, "census.v1")
	f.Fuzz(func(t *testing.T, data []byte) {
		whole := checkReader(t, l, bytes.NewReader(data))
		// Reading the bytes one at a time must not change a clean read.
		// (Where a file is rejected, which problem is met first may depend
		// on how the bytes arrive, so only the outcome kind is compared.)
		byByte := checkReader(t, l, iotest.OneByteReader(bytes.NewReader(data)))
		if len(whole.rows) == maxFuzzRows || len(byByte.rows) == maxFuzzRows {
			return
		}
		if whole.eof != byByte.eof {
			t.Fatalf("whole read ended with EOF %t (codes %v), byte-at-a-time %t (codes %v)",
				whole.eof, whole.codes, byByte.eof, byByte.codes)
		}
		if !whole.eof {
			return
		}
		if len(whole.rows) != len(byByte.rows) {
			t.Fatalf("rows: whole read got %d, byte-at-a-time %d", len(whole.rows), len(byByte.rows))
		}
		for i, w := range whole.rows {
			b := byByte.rows[i]
			if w.Line != b.Line || !slices.Equal(w.Raw, b.Raw) || w.Values != b.Values {
				t.Fatalf("row %d: whole read got line %d %q, byte-at-a-time line %d %q", i, w.Line, w.Raw, b.Line, b.Raw)
			}
		}
	})
}

// TestReaderCrashers replays inputs that once broke the reader; each file in
// testdata/crashers (other than README) is raw file content.
func TestReaderCrashers(t *testing.T) {
	l := layout(t, "census.v1")
	entries, err := os.ReadDir(filepath.Join("testdata", "crashers"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "README" || e.Name() == "README.md" {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "crashers", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			checkReader(t, l, bytes.NewReader(data))
			checkReader(t, l, iotest.OneByteReader(bytes.NewReader(data)))
		})
	}
}
