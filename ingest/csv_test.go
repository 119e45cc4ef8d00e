package ingest

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"enrollsftp"
)

// csvRead is what a reader made of some input: records with the lines they
// start on, and how it ended.
type csvRead struct {
	records [][]string
	lines   []int
	long    [][]longField // csvReader only
	end     string        // "EOF", "quote" (row boundaries lost), "bare" (encoding/csv only)
}

// readStd reads data with encoding/csv (strict, ragged rows allowed).
func readStd(data []byte) csvRead {
	var out csvRead
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	for {
		rec, err := r.Read()
		switch {
		case errors.Is(err, io.EOF):
			out.end = "EOF"
			return out
		case errors.Is(err, csv.ErrBareQuote):
			out.end = "bare"
			return out
		case errors.Is(err, csv.ErrQuote):
			out.end = "quote"
			return out
		case err != nil:
			out.end = err.Error()
			return out
		}
		line, _ := r.FieldPos(0)
		out.records = append(out.records, rec)
		out.lines = append(out.lines, line)
	}
}

// readOurs reads data with csvReader.
func readOurs(r io.Reader, maxField, maxRecord int) csvRead {
	var out csvRead
	c := newCSVReader(r, maxField, maxRecord)
	for {
		rec, err := c.Read()
		var q *errQuote
		switch {
		case errors.Is(err, io.EOF):
			out.end = "EOF"
			return out
		case errors.As(err, &q):
			out.end = "quote"
			return out
		case err != nil:
			out.end = err.Error()
			return out
		}
		out.records = append(out.records, slices.Clone(rec))
		out.lines = append(out.lines, c.Line())
		out.long = append(out.long, slices.Clone(c.Long()))
	}
}

var csvSeeds = []string{
	"",
	"a,b\n1,2\n",
	"a,b\r\n1,2\r\n",
	"a,b\r1,2\r",                     // CR only: one line
	"a,b\n1,2\r\n3,4\n",              // mixed
	"a,b\n\n\r\n1,2\n\n",             // empty lines
	"a\r",                            // CR at end of input
	"a\r\r",                          // one of them dropped
	"\r",                             // nothing
	"a,\n,\n,,\n",                    // empty fields
	"a,b,\n",                         // trailing comma
	"\"a\",\"b\"\n\"\",\"x\"\"y\"\n", // quoted, doubled quotes
	"\"a\nb\",c\n\"d\r\ne\",f\r\n",   // line ends inside quotes
	"\"a\rb\",\"c\"\r",               // CR inside quotes, CR after closing quote at end
	"\"a\"\r\n\"b\"",                 // closing quote at end of input
	"\"a\"b,c\n",                     // text after the closing quote
	"\"a\" ,c\n",                     // space after the closing quote
	"\"a\"\rb\n",                     // CR after the closing quote
	"a,\"b\n",                        // never closed
	"\"",                             // a lone quote
	"a\"b,c\n",                       // bare quote: encoding/csv refuses it
	"x,y\n\"1\n\n2\",3\n4,5\n",       // lines counted inside a record
	"é,\"ü\"\n\xff,\"\xfe\"\n",       // bytes are bytes
	strings.Repeat("abcdefghij", 30) + ",\"" + strings.Repeat("0123456789\n", 30) + "\"\n",
}

// FuzzCSVMatchesEncodingCSV checks csvReader against encoding/csv wherever
// the two should agree: everywhere encoding/csv reads without ErrBareQuote
// (a quote inside an unquoted field, which csvReader takes as text). The
// same records, on the same lines, and the same end: io.EOF, or a quoted
// field that loses the row boundaries. Read with a small field limit, the
// records must be the same with long fields cut, and each cut reported
// with its full length. Reading byte by byte must change nothing.
func FuzzCSVMatchesEncodingCSV(f *testing.F) {
	for _, s := range csvSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := readStd(data)
		got := readOurs(bytes.NewReader(data), len(data)+1, 0)
		n := len(want.records)
		if want.end == "bare" {
			n = min(n, len(got.records)) // csvReader reads on, or fails later
		} else if got.end != want.end {
			t.Fatalf("end: got %q after %d records, encoding/csv %q after %d", got.end, len(got.records), want.end, len(want.records))
		}
		if len(got.records) < n || want.end != "bare" && len(got.records) != n {
			t.Fatalf("records: got %d, encoding/csv %d", len(got.records), len(want.records))
		}
		for i := range n {
			if !slices.Equal(got.records[i], want.records[i]) || got.lines[i] != want.lines[i] {
				t.Fatalf("record %d: got line %d %q, encoding/csv line %d %q", i, got.lines[i], got.records[i], want.lines[i], want.records[i])
			}
			if len(got.long[i]) != 0 {
				t.Fatalf("record %d: got long fields %v under a limit of %d", i, got.long[i], len(data)+1)
			}
		}

		byByte := readOurs(iotest.OneByteReader(bytes.NewReader(data)), len(data)+1, 0)
		if fmt.Sprint(byByte) != fmt.Sprint(got) {
			t.Fatalf("byte at a time: got %v, whole %v", byByte, got)
		}

		const limit = 8
		cut := readOurs(iotest.OneByteReader(bytes.NewReader(data)), limit, 0)
		if cut.end != got.end || len(cut.records) != len(got.records) {
			t.Fatalf("limit %d: got %d records and %q, without %d and %q", limit, len(cut.records), cut.end, len(got.records), got.end)
		}
		for i, rec := range got.records {
			var long []longField
			for j, v := range rec {
				if len(v) > limit {
					long = append(long, longField{field: j, size: int64(len(v))})
					rec[j] = v[:limit]
				}
			}
			if !slices.Equal(cut.records[i], rec) || !slices.Equal(cut.long[i], long) || cut.lines[i] != got.lines[i] {
				t.Fatalf("limit %d, record %d: got line %d %q cut %v, want line %d %q cut %v", limit, i,
					cut.lines[i], cut.records[i], cut.long[i], got.lines[i], rec, long)
			}
		}
	})
}

// TestReaderLongFields checks a field over MaxFieldLength, quoted or not,
// on one line or many: the row is rejected FIELD_TOO_LONG with the full
// length in the message, the cell is cut to its first 64 bytes (whole
// characters) and "…", and the rows after it keep their lines.
func TestReaderLongFields(t *testing.T) {
	l := layout(t, "census.v1")
	bob := "E1,1002,Bob,Ray,2 Oak Ave,Peoria,IL,61602"
	tests := []struct {
		name     string
		first    string // first_name as written
		want     string // first_name in Raw
		problems string
		message  string
		bobLine  int
	}{
		{"256 bytes pass", strings.Repeat("a", 256), strings.Repeat("a", 256), "", "", 3},
		{"257 bytes", strings.Repeat("a", 257), strings.Repeat("a", 64) + "…", "FIELD_TOO_LONG",
			"first_name: is 257 bytes long; the limit is 256", 3},
		{"quoted, 256 bytes with doubled quotes pass", `"` + strings.Repeat(`a""`, 128) + `"`,
			strings.Repeat(`a"`, 128), "", "", 3},
		{"cut between whole characters", "x" + strings.Repeat("é", 200), "x" + strings.Repeat("é", 31) + "…", "FIELD_TOO_LONG",
			"first_name: is 401 bytes long; the limit is 256", 3},
		{"quoted over 10,000 lines", `"` + strings.Repeat("a short line\n", 10_000) + `"`, strings.Repeat("a short line\n", 5)[:64] + "…",
			"FIELD_TOO_LONG", "first_name: is 130000 bytes long; the limit is 256", 10_003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := minHeader + "\n" + "E1,1001," + tt.first + ",Lee,1 Main St,Springfield,IL,62701\n" + bob + "\n"
			res := readAll[CensusRow](t, strings.NewReader(input), l, 10)
			if res.err != nil {
				t.Fatalf("got error %v, want none", res.err)
			}
			checkRows(t, res.rows, []wantRow{
				row(2, tt.problems, "E1", "1001", tt.want, "Lee", "1 Main St", "Springfield", "IL", "62701"),
				row(tt.bobLine, "", strings.Split(bob, ",")...),
			})
			if got := res.rows[0].Problems.Messages(); tt.message != "" && got != tt.message {
				t.Errorf("message: got %q, want %q", got, tt.message)
			}
			if got := res.rows[0].Values.FirstName; got != tt.want {
				t.Errorf("Values.FirstName: got %q, want %q (the cell as cut)", got, tt.want)
			}
		})
	}

	t.Run("extra field of a ragged row", func(t *testing.T) {
		input := minHeader + "\nE1,1001,Ann,Lee,1 Main St,Springfield,IL,62701," + strings.Repeat("z", 300) + "\n"
		res := readAll[CensusRow](t, strings.NewReader(input), l, 10)
		if res.err != nil {
			t.Fatal(res.err)
		}
		checkRows(t, res.rows, []wantRow{row(2, "MALFORMED_ROW;FIELD_TOO_LONG",
			"E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701", strings.Repeat("z", 64)+"…")})
		if got, want := res.rows[0].Problems[1:].Messages(), "field 9 is 300 bytes long; the limit is 256"; got != want {
			t.Errorf("message: got %q, want %q", got, want)
		}
	})

	t.Run("header cell", func(t *testing.T) {
		long := strings.Repeat("h", 1000)
		rd, err := NewReader[CensusRow](strings.NewReader(minHeader+","+long+"\n"), l)
		if got := fileCodes(t, err); !slices.Equal(got, []enrollsftp.Code{enrollsftp.HeaderUnknownColumn}) {
			t.Fatalf("codes: got %s, want HEADER_UNKNOWN_COLUMN", codesString(got))
		}
		if got, want := rd.Header()[8], strings.Repeat("h", 64)+"…"; got != want {
			t.Errorf("Header()[8]: got %q, want %q", got, want)
		}
		if strings.Contains(err.Error(), long[:100]) {
			t.Errorf("error carries the whole cell: %.200s…", err)
		}
	})
}

// quotedFieldReader synthesises a census file whose one first_name is a
// quoted field of size bytes of short lines, then a good row: it holds one
// short line, whatever the size.
type quotedFieldReader struct {
	parts     [][]byte // what is left to send, in order; nil stands for the field
	size, off int64    // the field's length, and how much of it is sent
}

// shortLine is what the field repeats.
const shortLine = "abcdefghijklmnopqrstuvwxyz0123456789 short line\n"

func newQuotedFieldReader(size int64) *quotedFieldReader {
	return &quotedFieldReader{
		parts: [][]byte{
			[]byte(minHeader + "\nE1,1001,\""),
			nil,
			[]byte("\",Lee,1 Main St,Springfield,IL,62701\nE1,1002,Bob,Ray,2 Oak Ave,Peoria,IL,61602\n"),
		},
		size: size,
	}
}

func (q *quotedFieldReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(q.parts) > 0 {
		if q.parts[0] == nil {
			if q.off == q.size {
				q.parts = q.parts[1:]
				continue
			}
			from := q.off % int64(len(shortLine))
			c := copy(p[n:], shortLine[from:min(int64(len(shortLine)), from+q.size-q.off)])
			q.off += int64(c)
			n += c
			continue
		}
		c := copy(p[n:], q.parts[0])
		q.parts[0] = q.parts[0][c:]
		if len(q.parts[0]) == 0 {
			q.parts = q.parts[1:]
		}
		n += c
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// TestReaderHugeQuotedField reads one quoted field of 128 MiB over 2.8
// million short lines, which no physical line limit sees: the reader keeps
// only the first MaxFieldLength bytes of it, so the heap stays small all
// along (encoding/csv held the whole field: over 128 MiB, and as much again
// for the row), and the row is rejected FIELD_TOO_LONG with the cell cut.
func TestReaderHugeQuotedField(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 128 MiB")
	}
	const size = 128 << 20
	const bound = 16 << 20
	l := layout(t, "census.v1")

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	peak := sampleHeap()
	res := readAll[CensusRow](t, newQuotedFieldReader(size), l, 10)
	peakMiB := peak()
	runtime.ReadMemStats(&after)
	if res.err != nil {
		t.Fatalf("got error %v, want none", res.err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("field of %d MiB: peak HeapInuse %.1f MiB, allocated %.1f MiB", size>>20, peakMiB, mib(allocated))
	if peakMiB > mib(bound) {
		t.Errorf("peak HeapInuse: got %.1f MiB, want under %.0f MiB", peakMiB, mib(bound))
	}
	// Allocation is deterministic where sampling may miss a peak: the field
	// must never have been gathered, not even piecemeal.
	if allocated > bound {
		t.Errorf("allocated while reading: got %.1f MiB, want under %.0f MiB", mib(allocated), mib(bound))
	}
	for i, r := range res.rows {
		for j, cell := range r.Raw {
			if len(cell) > 1024 {
				t.Fatalf("row %d cell %d: got %d bytes, want the cell cut", i, j, len(cell))
			}
		}
	}
	lines := size / len(shortLine) // in the field
	checkRows(t, res.rows, []wantRow{
		row(2, "FIELD_TOO_LONG", "E1", "1001", (shortLine + shortLine)[:64]+"…",
			"Lee", "1 Main St", "Springfield", "IL", "62701"),
		row(3+lines, "", "E1", "1002", "Bob", "Ray", "2 Oak Ave", "Peoria", "IL", "61602"),
	})
	if got, want := res.rows[0].Problems.Messages(), fmt.Sprintf("first_name: is %d bytes long; the limit is 256", size); got != want {
		t.Errorf("message: got %q, want %q", got, want)
	}
}

// BenchmarkSplitRecords splits 10,000 census rows into fields, with
// csvReader and, for comparison, encoding/csv as the reader used it.
func BenchmarkSplitRecords(b *testing.B) {
	data, err := io.ReadAll(newGenReader(10_000))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("csvReader", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			c := newCSVReader(bytes.NewReader(data), MaxFieldLength, DefaultMaxLineLength)
			for {
				if _, err := c.Read(); err != nil {
					if !errors.Is(err, io.EOF) {
						b.Fatal(err)
					}
					break
				}
				_ = c.Line()
			}
		}
	})
	b.Run("encoding-csv", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			c := csv.NewReader(bytes.NewReader(data))
			c.FieldsPerRecord, c.ReuseRecord = -1, true
			for {
				if _, err := c.Read(); err != nil {
					if !errors.Is(err, io.EOF) {
						b.Fatal(err)
					}
					break
				}
				_, _ = c.FieldPos(0)
			}
		}
	})
}
