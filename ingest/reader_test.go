package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"enrollsftp"
)

type wantRow struct {
	Line     int
	Raw      []string
	Problems string // codes, as Errors.Codes joins them
}

func row(line int, problems string, cells ...string) wantRow {
	return wantRow{Line: line, Raw: cells, Problems: problems}
}

func checkRows[T any](t *testing.T, got []Row[T], want []wantRow) {
	t.Helper()
	if len(got) != len(want) {
		for _, r := range got {
			t.Logf("got row: line %d %q %s", r.Line, r.Raw, r.Problems.Codes())
		}
		t.Fatalf("rows: got %d, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Line != w.Line {
			t.Errorf("row %d Line: got %d, want %d", i, g.Line, w.Line)
		}
		if !slices.Equal(g.Raw, w.Raw) {
			t.Errorf("row %d Raw: got %q, want %q", i, g.Raw, w.Raw)
		}
		if c := g.Problems.Codes(); c != w.Problems {
			t.Errorf("row %d Problems: got %q (%s), want %q", i, c, g.Problems.Messages(), w.Problems)
		}
	}
}

// TestReaderRows reads well-formed and row-level-bad inputs. Each case runs
// as written (LF), with CRLF line ends, and with a UTF-8 BOM and CRLF: all
// three must give the same rows on the same lines.
func TestReaderRows(t *testing.T) {
	l := layout(t, "census.v1")
	ann := []string{"E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701"}
	bob := []string{"E1", "1002", "Bob", "Ray", "2 Oak Ave", "Peoria", "IL", "61602"}
	annLine := strings.Join(ann, ",")
	bobLine := strings.Join(bob, ",")

	tests := []struct {
		name  string
		input string
		want  []wantRow
	}{
		{
			name:  "two rows",
			input: minHeader + "\n" + annLine + "\n" + bobLine + "\n",
			want:  []wantRow{row(2, "", ann...), row(3, "", bob...)},
		},
		{
			name:  "no final newline",
			input: minHeader + "\n" + annLine + "\n" + bobLine,
			want:  []wantRow{row(2, "", ann...), row(3, "", bob...)},
		},
		{
			name:  "header only",
			input: minHeader + "\n",
			want:  nil,
		},
		{
			name:  "quoted comma",
			input: minHeader + "\n" + `E1,1001,Ann,"Lee, Jr.",1 Main St,Springfield,IL,62701` + "\n" + bobLine + "\n",
			want: []wantRow{
				row(2, "", "E1", "1001", "Ann", "Lee, Jr.", "1 Main St", "Springfield", "IL", "62701"),
				row(3, "", bob...),
			},
		},
		{
			name:  "doubled quotes",
			input: minHeader + "\n" + `E1,1001,"Ann ""Annie""","O""Brien",1 Main St,Springfield,IL,62701` + "\n",
			want: []wantRow{
				row(2, "", "E1", "1001", `Ann "Annie"`, `O"Brien`, "1 Main St", "Springfield", "IL", "62701"),
			},
		},
		{
			name:  "empty quoted field",
			input: minHeader + "\n" + `E1,1001,Ann,Lee,"",Springfield,IL,62701` + "\n",
			want:  []wantRow{row(2, "", "E1", "1001", "Ann", "Lee", "", "Springfield", "IL", "62701")},
		},
		{
			name: "quoted field over two lines",
			input: minHeader + "\n" + `E1,1001,Ann,Lee,"1 Main St` + "\n" + `Apt 4",Springfield,IL,62701` + "\n" +
				bobLine + "\n",
			want: []wantRow{
				row(2, "", "E1", "1001", "Ann", "Lee", "1 Main St\nApt 4", "Springfield", "IL", "62701"),
				row(4, "", bob...),
			},
		},
		{
			name: "quoted field over three lines, starting the record",
			input: minHeader + "\n" + `"E1` + "\n\n" + `",1001,Ann,Lee,1 Main St,Springfield,IL,62701` + "\n" +
				bobLine + "\n",
			want: []wantRow{
				row(2, "", "E1\n\n", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701"),
				row(5, "", bob...),
			},
		},
		{
			name:  "blank lines count as physical lines",
			input: minHeader + "\n\n" + annLine + "\n\n\n" + bobLine + "\n\n",
			want:  []wantRow{row(3, "", ann...), row(6, "", bob...)},
		},
		{
			name:  "blank lines before the header",
			input: "\n\n" + minHeader + "\n" + annLine + "\n",
			want:  []wantRow{row(4, "", ann...)},
		},
		{
			name:  "rows of empty cells skipped",
			input: minHeader + "\n,,,,,,,\n" + annLine + "\n,,,\n , ,\t, \n\"\",\"\",,,,,,\n" + bobLine + "\n,,,,,,,\n",
			want:  []wantRow{row(3, "", ann...), row(7, "", bob...)},
		},
		{
			name:  "too few fields",
			input: minHeader + "\nE1,1001,Ann\n" + bobLine + "\n",
			want: []wantRow{
				row(2, "MALFORMED_ROW", "E1", "1001", "Ann"),
				row(3, "", bob...),
			},
		},
		{
			name:  "too many fields",
			input: minHeader + "\n" + annLine + ",extra,more\n" + bobLine + "\n",
			want: []wantRow{
				row(2, "MALFORMED_ROW", append(slices.Clone(ann), "extra", "more")...),
				row(3, "", bob...),
			},
		},
		{
			name:  "ragged row after a multi-line record",
			input: minHeader + "\nE1,1001,Ann,Lee,\"1 Main\nSt\",Springfield,IL,62701\n\nE1,1003\n" + bobLine + "\n",
			want: []wantRow{
				row(2, "", "E1", "1001", "Ann", "Lee", "1 Main\nSt", "Springfield", "IL", "62701"),
				row(5, "MALFORMED_ROW", "E1", "1003"),
				row(6, "", bob...),
			},
		},
		{
			// SPEC §4: a quote in a field that does not start with one is
			// text, as spreadsheet tools and Python's csv take it.
			name: "quotes inside unquoted fields are text",
			input: minHeader + "\n" + `E1,1001,Ann "Annie",O"Brien,1 Main St 5",Springfield,IL,62701` + "\n" +
				`E1,1003,Cy, "Lee",x"",Spring"field"",IL,"62701"` + "\n" + bobLine + "\n",
			want: []wantRow{
				row(2, "", "E1", "1001", `Ann "Annie"`, `O"Brien`, `1 Main St 5"`, "Springfield", "IL", "62701"),
				row(3, "", "E1", "1003", "Cy", ` "Lee"`, `x""`, `Spring"field""`, "IL", "62701"),
				row(4, "", bob...),
			},
		},
		{
			name:  "spaces in cells kept as written",
			input: minHeader + "\n E1 ,1001,Ann ,Lee,1 Main St,Springfield,IL,62701\n",
			want:  []wantRow{row(2, "", " E1 ", "1001", "Ann ", "Lee", "1 Main St", "Springfield", "IL", "62701")},
		},
		{
			name:  "multi-byte text",
			input: minHeader + "\nE1,1001,José,名前,1 Rue 😀,Zürich,IL,62701\n",
			want:  []wantRow{row(2, "", "E1", "1001", "José", "名前", "1 Rue 😀", "Zürich", "IL", "62701")},
		},
	}
	variants := []struct {
		name string
		conv func(string) string
	}{
		{"LF", func(s string) string { return s }},
		{"CRLF", func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }},
		{"BOM+CRLF", func(s string) string { return "\uFEFF" + strings.ReplaceAll(s, "\n", "\r\n") }},
	}
	for _, tt := range tests {
		for _, v := range variants {
			t.Run(tt.name+"/"+v.name, func(t *testing.T) {
				res := readAll[CensusRow](t, strings.NewReader(v.conv(tt.input)), l, 1000)
				if res.err != nil {
					t.Fatalf("got error %v, want none", res.err)
				}
				if got, want := res.header, strings.Split(minHeader, ","); !slices.Equal(got, want) {
					t.Errorf("Header: got %q, want %q", got, want)
				}
				checkRows(t, res.rows, tt.want)
			})
		}
	}
}

// TestReaderNextAfterEOF checks io.EOF is sticky.
func TestReaderNextAfterEOF(t *testing.T) {
	rd, err := NewReader[CensusRow](strings.NewReader(minHeader+"\nE1,1,A,B,C,D,IL,62701\n"), layout(t, "census.v1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Next(); err != nil {
		t.Fatalf("first Next: got %v, want nil", err)
	}
	for i := range 3 {
		if _, err := rd.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("Next %d after the last row: got %v, want io.EOF", i, err)
		}
	}
}

// TestReaderHeaderMatching checks header cells are matched case-insensitively,
// trimmed and through aliases, and land in the right fields.
func TestReaderHeaderMatching(t *testing.T) {
	l := layout(t, "census.v1")
	base := CensusRow{EmployerID: "E1", EmployeeID: "1001", FirstName: "Ann", LastName: "Lee",
		AddressLine1: "1 Main St", City: "Springfield", State: "IL", ZIP: "62701"}
	withSSNDOB := base
	withSSNDOB.SSN, withSSNDOB.DOB = "123-45-6789", "1980-02-03"

	tests := []struct {
		name   string
		header string
		row    string
		want   CensusRow
	}{
		{
			name:   "canonical",
			header: minHeader,
			row:    "E1,1001,Ann,Lee,1 Main St,Springfield,IL,62701",
			want:   base,
		},
		{
			name:   "upper case",
			header: strings.ToUpper(minHeader),
			row:    "E1,1001,Ann,Lee,1 Main St,Springfield,IL,62701",
			want:   base,
		},
		{
			name:   "aliases with spaces and mixed case",
			header: "Employer ID,Employee Number,First Name,Surname,Street,City,ST,Zip_Code, SSN ,date_of_birth",
			row:    "E1,1001,Ann,Lee,1 Main St,Springfield,IL,62701,123-45-6789,1980-02-03",
			want:   withSSNDOB,
		},
		{
			name:   "padded and tabbed names",
			header: "  employer_id\t,\temployee_id , FIRST_NAME,last_name  ,address_line1,city,state,zip,Social Security Number , Date Of Birth",
			row:    "E1,1001,Ann,Lee,1 Main St,Springfield,IL,62701,123-45-6789,1980-02-03",
			want:   withSSNDOB,
		},
		{
			name:   "quoted header names",
			header: `"Employer ID","employee_id","first_name","last_name","address_line1","city","state","zip"`,
			row:    "E1,1001,Ann,Lee,1 Main St,Springfield,IL,62701",
			want:   base,
		},
		{
			name:   "any column order",
			header: "zip,state,city,address_line1,last_name,first_name,employee_id,employer_id",
			row:    "62701,IL,Springfield,1 Main St,Lee,Ann,1001,E1",
			want:   base,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := tt.header + "\n" + tt.row + "\n"
			res := readAll[CensusRow](t, strings.NewReader(input), l, 10)
			if res.err != nil {
				t.Fatalf("got error %v, want none", res.err)
			}
			if got, want := res.header, splitHeader(tt.header); !slices.Equal(got, want) {
				t.Errorf("Header: got %q, want %q", got, want)
			}
			if len(res.rows) != 1 {
				t.Fatalf("rows: got %d, want 1", len(res.rows))
			}
			if got := res.rows[0].Values; got != tt.want {
				t.Errorf("Values:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// splitHeader undoes the simple quoting used in the header cases.
func splitHeader(h string) []string {
	cells := strings.Split(h, ",")
	for i, c := range cells {
		cells[i] = strings.Trim(c, `"`)
	}
	return cells
}

// TestReaderFileErrors checks every file-level rejection: the error is an
// *enrollsftp.FileError that lists all the problems found.
func TestReaderFileErrors(t *testing.T) {
	l := layout(t, "census.v1")
	ann := "E1,1001,Ann,Lee,1 Main St,Springfield,IL,62701"
	utf16le := func(s string, bom bool) []byte {
		var b []byte
		if bom {
			b = append(b, 0xFF, 0xFE)
		}
		for _, r := range s {
			b = append(b, byte(r), byte(r>>8))
		}
		return b
	}
	utf16be := func(s string) []byte {
		b := []byte{0xFE, 0xFF}
		for _, r := range s {
			b = append(b, byte(r>>8), byte(r))
		}
		return b
	}
	const (
		empty     = enrollsftp.FileEmpty
		encoding  = enrollsftp.FileEncoding
		malformed = enrollsftp.FileMalformed
		missing   = enrollsftp.HeaderMissingColumn
		dup       = enrollsftp.HeaderDuplicateColumn
		unknown   = enrollsftp.HeaderUnknownColumn
	)
	type C = enrollsftp.Code
	tests := []struct {
		name  string
		input []byte
		want  []C // codes, in any order
	}{
		{"zero bytes", nil, []C{empty}},
		{"spaces only", []byte("   "), []C{empty}},
		{"blank lines only", []byte("\n\n\n"), []C{empty}},
		{"whitespace lines CRLF", []byte(" \r\n\t\r\n  \r\n"), []C{empty}},
		{"BOM only", []byte("\xEF\xBB\xBF"), []C{empty}},
		{"BOM and blank lines", []byte("\xEF\xBB\xBF\r\n\r\n"), []C{empty}},
		{"empty cells only", []byte(",,,,\n,,,\n"), []C{empty}},
		{"UTF-16 LE BOM", utf16le(minHeader+"\n"+ann+"\n", true), []C{encoding}},
		{"UTF-16 BE BOM", utf16be(minHeader + "\n" + ann + "\n"), []C{encoding}},
		{"UTF-16 LE BOM alone", []byte{0xFF, 0xFE}, []C{encoding}},
		{"UTF-32 BE BOM", []byte{0, 0, 0xFE, 0xFF, 0, 0, 0, 'a'}, []C{encoding}},
		{"UTF-16 LE without BOM", utf16le(minHeader+"\n"+ann+"\n", false), []C{encoding}},
		{"Latin-1 byte in row 3", []byte(minHeader + "\n" + ann + "\nE1,1002,Ren\xE9,Roy,2 Oak,Peoria,IL,61602\n"), []C{encoding}},
		{"Latin-1 byte in header", []byte("employer_id,employee_id,first_name,last_name,address_line1,city,state,zip,r\xE9sum\xE9\n"), []C{encoding}},
		{"NUL byte", []byte(minHeader + "\n" + ann + "\nE1,1002,Bo\x00b,Ray,2 Oak,Peoria,IL,61602\n"), []C{encoding}},
		{"truncated rune at end", []byte(minHeader + "\n" + ann + "\nE1,1002,Jos\xC3"), []C{encoding}},
		{"surrogate half", []byte(minHeader + "\nE1,1002,\xED\xA0\x80,Ray,2 Oak,Peoria,IL,61602\n"), []C{encoding}},
		{"overlong encoding", []byte(minHeader + "\nE1,1002,\xC0\xAF,Ray,2 Oak,Peoria,IL,61602\n"), []C{encoding}},
		{"lone continuation byte", []byte(minHeader + "\nE1,1002,\x80,Ray,2 Oak,Peoria,IL,61602\n"), []C{encoding}},
		{"missing required column", []byte("employer_id,employee_id,first_name,last_name,address_line1,city,state\n" + "E1,1,A,B,C,D,IL\n"), []C{missing}},
		{"two missing columns", []byte("employer_id,employee_id,first_name,last_name,address_line1,city\n"), []C{missing, missing}},
		{"ssn and its alias", []byte(minHeader + ",ssn,social_security_number\n"), []C{dup}},
		{"same name in two cases", []byte(minHeader + ",City\n"), []C{dup}},
		{"alias of a required column", []byte(minHeader + ",Employer ID\n"), []C{dup}},
		{"unknown column", []byte(minHeader + ",favourite_colour\n"), []C{unknown}},
		{"empty header cell", []byte(minHeader + ",\n"), []C{unknown}},
		{"elections column in census", []byte(minHeader + ",plan_code\n"), []C{unknown}},
		{
			"several header problems",
			[]byte("employer_id,employee_id,first_name,last_name,address_line1,city,colour,ssn,TIN,shoe_size\n"),
			[]C{unknown, dup, unknown, missing, missing},
		},
		{"unterminated quote", []byte(minHeader + "\n" + ann + "\nE1,1002,\"Bob,Ray,2 Oak,Peoria,IL,61602\n"), []C{malformed}},
		{"unterminated quote in header", []byte("\"employer_id,employee_id\n"), []C{malformed}},
		{"text after closing quote", []byte(minHeader + "\nE1,1002,\"Bob\"x,Ray,2 Oak,Peoria,IL,61602\n"), []C{malformed}},
		{"space after closing quote", []byte(minHeader + "\nE1,1002,\"Bob\" ,Ray,2 Oak,Peoria,IL,61602\n"), []C{malformed}},
		{"CR alone after closing quote", []byte(minHeader + "\nE1,1002,\"Bob\"\rRay,2 Oak,Peoria,IL,61602\n"), []C{malformed}},
		{"unescaped quotes inside a quoted field", []byte(minHeader + "\nE1,1002,\"Smith, \"Bob\" Jr\",Ray,2 Oak,Peoria,IL,61602\n"), []C{malformed}},
		{"quote left open after a bare quote", []byte(minHeader + "\nE1,1002,Bo\"b,\"Ray,2 Oak,Peoria,IL,61602\n"), []C{malformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll[CensusRow](t, bytes.NewReader(tt.input), l, 1000)
			if res.err == nil {
				t.Fatalf("got %d rows and no error, want %s", len(res.rows), codesString(tt.want))
			}
			if got, want := sortedCodes(fileCodes(t, res.err)), sortedCodes(tt.want); !slices.Equal(got, want) {
				t.Errorf("codes: got %s, want %s (%v)", codesString(got), codesString(want), res.err)
			}
			if strings.Contains(res.err.Error(), "\x00") {
				t.Errorf("message carries a NUL byte: %q", res.err)
			}
		})
	}
}

// TestReaderEncodingFarIntoFile puts a bad byte well after the first 64 KiB:
// the header and the first rows read, then Next rejects the file.
func TestReaderEncodingFarIntoFile(t *testing.T) {
	l := layout(t, "census.v1")
	good := "E1,1001,Ann,Lee,1 Main St,Springfield,IL,62701\n"
	tests := []struct {
		name string
		bad  string // the row holding the bad bytes
		pos  int    // offset of the bad byte in bad
	}{
		{"Latin-1 byte", "E1,1002,Ren\xE9,Roy,2 Oak,Peoria,IL,61602\n", 11},
		{"NUL byte", "E1,1002,Bo\x00b,Ray,2 Oak,Peoria,IL,61602\n", 10},
		{"surrogate half", "E1,1002,\xED\xA0\x80,Ray,2 Oak,Peoria,IL,61602\n", 8},
		{"truncated rune at end", "E1,1002,Jos\xC3", 11},
		{"lone continuation byte", "E1,1002,\x80,Ray,2 Oak,Peoria,IL,61602\n", 8},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"OneByteReader", iotest.OneByteReader},
		{"HalfReader", iotest.HalfReader},
	}
	for _, bom := range []bool{false, true} {
		for _, tt := range tests {
			for _, rr := range readers {
				name := tt.name + "/" + rr.name
				if bom {
					name += "/BOM"
				}
				t.Run(name, func(t *testing.T) {
					var b bytes.Buffer
					if bom {
						b.WriteString("\uFEFF")
					}
					b.WriteString(minHeader + "\n")
					goodRows := 0
					for b.Len() < 100<<10 {
						b.WriteString(good)
						goodRows++
					}
					at := b.Len() + tt.pos
					b.WriteString(tt.bad)
					for range 100 {
						b.WriteString(good)
					}
					res := readAll[CensusRow](t, rr.wrap(bytes.NewReader(b.Bytes())), l, 1<<20)
					if res.err == nil {
						t.Fatalf("got %d rows and no error, want FILE_ENCODING", len(res.rows))
					}
					if !res.fromNext {
						t.Errorf("error came from NewReader, want it from Next: %v", res.err)
					}
					if got := fileCodes(t, res.err); !slices.Equal(got, []enrollsftp.Code{enrollsftp.FileEncoding}) {
						t.Errorf("codes: got %s, want FILE_ENCODING", codesString(got))
					}
					if len(res.rows) == 0 || len(res.rows) > goodRows {
						t.Errorf("rows before the error: got %d, want 1..%d", len(res.rows), goodRows)
					}
					if want := fmt.Sprintf("at byte %d", at); !strings.Contains(res.err.Error(), want) {
						t.Errorf("message: got %q, want it to contain %q", res.err, want)
					}
				})
			}
		}
	}
}

// TestReaderRuneAcrossBuffer puts a multi-byte rune across byte 65536 (the
// size of the internal buffers) and around it, with and without a BOM, and
// reads through readers that split the input in other ways too.
func TestReaderRuneAcrossBuffer(t *testing.T) {
	l := layout(t, "census.v1")
	const boundary = 64 << 10
	filler := "E1,1001,Ann,Lee,1 Main St,Springfield,IL,62701\n"
	after := "E1,1003,Cy,Dee,3 Elm St,Peoria,IL,61602\n"
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"OneByteReader", iotest.OneByteReader},
		{"HalfReader", iotest.HalfReader},
		{"DataErrReader", iotest.DataErrReader},
	}
	for _, r := range []string{"é", "名", "😀"} {
		for _, bom := range []bool{false, true} {
			// The rune starts from 4 bytes before to 4 bytes after the boundary,
			// and at the boundary shifted by the BOM.
			for start := boundary - 4; start <= boundary+4+3; start++ {
				var b strings.Builder
				if bom {
					b.WriteString("\uFEFF")
				}
				b.WriteString(minHeader + "\n")
				const prefix = "E1,1002,"
				for b.Len()+len(filler)+len(prefix) <= start {
					b.WriteString(filler)
				}
				fillers := strings.Count(b.String(), "\n") - 1
				pad := start - b.Len() - len(prefix)
				name := strings.Repeat("a", pad) + r + "z" + r
				b.WriteString(prefix + name + ",Lee,1 Main St,Springfield,IL,62701\n")
				b.WriteString(after)
				input := b.String()
				if got := strings.Index(input[start:], r); got != 0 {
					t.Fatalf("test setup: rune at %d, want %d", start+got, start)
				}
				for _, rr := range readers {
					t.Run(fmt.Sprintf("%s/bom=%t/start=%d/%s", r, bom, start, rr.name), func(t *testing.T) {
						res := readAll[CensusRow](t, rr.wrap(strings.NewReader(input)), l, 1<<20)
						if res.err != nil {
							t.Fatalf("got error %v, want none", res.err)
						}
						if got, want := len(res.rows), fillers+2; got != want {
							t.Fatalf("rows: got %d, want %d", got, want)
						}
						last := res.rows[len(res.rows)-2]
						if got := last.Values.FirstName; got != name {
							t.Errorf("FirstName: got %q, want %q", got, name)
						}
						if got, want := last.Line, fillers+2; got != want {
							t.Errorf("Line: got %d, want %d", got, want)
						}
						if got := res.rows[len(res.rows)-1].Values.EmployeeID; got != "1003" {
							t.Errorf("row after: EmployeeID got %q, want 1003", got)
						}
					})
				}
			}
		}
	}
}

// TestReaderMultiByteEverywhere reads a file of multi-byte text large enough
// to cross several buffer boundaries at arbitrary points.
func TestReaderMultiByteEverywhere(t *testing.T) {
	l := layout(t, "census.v1")
	var b strings.Builder
	b.WriteString(minHeader + "\n")
	var want []string
	for i := 0; b.Len() < 300<<10; i++ {
		name := strings.Repeat("名前é😀", 1+i%7) + fmt.Sprint(i)
		want = append(want, name)
		fmt.Fprintf(&b, "E1,%d,%s,Lee,1 Main St,Springfield,IL,62701\n", i, name)
	}
	input := b.String()
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"OneByteReader", iotest.OneByteReader},
		{"HalfReader", iotest.HalfReader},
		{"DataErrReader", iotest.DataErrReader},
		{"odd chunks", func(r io.Reader) io.Reader {
			return &chunkReader{r: r, sizes: []int{1, 2, 3, 5, 7, 4093, 65535, 65537}}
		}},
	}
	for _, rr := range readers {
		t.Run(rr.name, func(t *testing.T) {
			res := readAll[CensusRow](t, rr.wrap(strings.NewReader(input)), l, 1<<20)
			if res.err != nil {
				t.Fatalf("got error %v, want none", res.err)
			}
			if len(res.rows) != len(want) {
				t.Fatalf("rows: got %d, want %d", len(res.rows), len(want))
			}
			for i, r := range res.rows {
				if r.Values.FirstName != want[i] {
					t.Fatalf("row %d FirstName: got %q, want %q", i, r.Values.FirstName, want[i])
				}
				if r.Line != i+2 {
					t.Fatalf("row %d Line: got %d, want %d", i, r.Line, i+2)
				}
			}
		})
	}
}

// chunkReader returns reads of the given sizes in turn.
type chunkReader struct {
	r     io.Reader
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	n := c.sizes[c.i%len(c.sizes)]
	c.i++
	if n < len(p) {
		p = p[:n]
	}
	return c.r.Read(p)
}

// TestReaderMask checks only the SSN and date of birth are masked, in place
// of the input's own columns, and that Header keeps the input's names.
func TestReaderMask(t *testing.T) {
	l := layout(t, "census.v1")
	tests := []struct {
		name       string
		header     string
		raw        []string
		wantMasked []string
	}{
		{
			name:       "canonical names",
			header:     minHeader + ",ssn,dob",
			raw:        []string{"E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701", "123-45-6789", "1980-02-03"},
			wantMasked: []string{"E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701", "***-**-6789", "****-**-**"},
		},
		{
			name:       "aliases first",
			header:     " SSN ,Date_Of_Birth," + minHeader,
			raw:        []string{"123456789", "02/03/1980", "E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701"},
			wantMasked: []string{"***-**-6789", "****-**-**", "E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701"},
		},
		{
			name:       "malformed and empty values",
			header:     "tin,birth_date," + minHeader,
			raw:        []string{"12-34", "", "E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701"},
			wantMasked: []string{"***-**-****", "", "E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701"},
		},
		{
			name:       "short ragged row",
			header:     minHeader + ",ssn,dob",
			raw:        []string{"E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701", "123-45-6789"},
			wantMasked: []string{"E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701", "***-**-6789"},
		},
		{
			// A date of birth in the wrong column is masked; a hire date
			// stays, for the vendor to fix the row by.
			name:       "a date of birth in an address line",
			header:     minHeader + ",address_line2,hire_date",
			raw:        []string{"E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701", "born 1979-07-07", "2020-01-06"},
			wantMasked: []string{"E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701", "born ****-**-**", "2020-01-06"},
		},
		{
			name:       "no sensitive columns",
			header:     minHeader,
			raw:        []string{"E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701"},
			wantMasked: []string{"E1", "1001", "Ann", "Lee", "1 Main St", "Springfield", "IL", "62701"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := "\uFEFF" + tt.header + "\r\n" + strings.Join(tt.raw, ",") + "\r\n"
			rd, err := NewReader[CensusRow](strings.NewReader(input), l)
			if err != nil {
				t.Fatalf("NewReader: got %v, want nil", err)
			}
			if got, want := rd.Header(), strings.Split(tt.header, ","); !slices.Equal(got, want) {
				t.Errorf("Header: got %q, want %q", got, want)
			}
			r, err := rd.Next()
			if err != nil {
				t.Fatalf("Next: got %v, want nil", err)
			}
			rawBefore := slices.Clone(r.Raw)
			if got := rd.Mask(r.Raw); !slices.Equal(got, tt.wantMasked) {
				t.Errorf("Mask: got %q, want %q", got, tt.wantMasked)
			}
			if !slices.Equal(r.Raw, rawBefore) {
				t.Errorf("Mask changed its input: got %q, want %q", r.Raw, rawBefore)
			}
		})
	}
}

// TestReaderRowsAreIndependent checks a row's Raw is not overwritten by the
// next read (the csv reader reuses its record).
func TestReaderRowsAreIndependent(t *testing.T) {
	input := minHeader + "\nE1,1001,Ann,Lee,1 Main St,Springfield,IL,62701\nE2,1002,Bob,Ray,2 Oak Ave,Peoria,IL,61602\n"
	res := readAll[CensusRow](t, strings.NewReader(input), layout(t, "census.v1"), 10)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got := res.rows[0].Raw[0]; got != "E1" {
		t.Errorf("first row Raw[0] after reading the second: got %q, want E1", got)
	}
	res.header[0] = "changed"
	// Header is the reader's; a fresh read gives the original again.
	res2 := readAll[CensusRow](t, strings.NewReader(input), layout(t, "census.v1"), 10)
	if got := res2.header[0]; got != "employer_id" {
		t.Errorf("Header[0]: got %q, want employer_id", got)
	}
}

// TestReaderRowTypes checks every field of both row types is filled from its
// own column, whatever the input's column order.
func TestReaderRowTypes(t *testing.T) {
	t.Run("census", func(t *testing.T) {
		header := "Term_Date,hire date,STATUS,telephone,e-mail,postal_code,st,city,address2,address1," +
			"birthdate,tin,family_name,middle_initial,given_name,emp_id,group_id,record_number"
		raw := "TD,HD,ES,PH,EM,ZP,SC,CT,A2,A1,DB,SN,LN,MN,FN,EE,ER,RI"
		want := CensusRow{RecordID: "RI", EmployerID: "ER", EmployeeID: "EE", FirstName: "FN",
			MiddleName: "MN", LastName: "LN", SSN: "SN", DOB: "DB", AddressLine1: "A1",
			AddressLine2: "A2", City: "CT", State: "SC", ZIP: "ZP", Email: "EM", Phone: "PH",
			EmploymentStatus: "ES", HireDate: "HD", TerminationDate: "TD"}
		res := readAll[CensusRow](t, strings.NewReader(header+"\n"+raw+"\n"), layout(t, "census.v1"), 10)
		if res.err != nil {
			t.Fatalf("got error %v, want none", res.err)
		}
		if len(res.rows) != 1 {
			t.Fatalf("rows: got %d, want 1", len(res.rows))
		}
		if got := res.rows[0].Values; got != want {
			t.Errorf("Values:\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("elections", func(t *testing.T) {
		header := "new_plan_code,new_employee_id,new_employer_id,qualifying_event,coverage_end,coverage_start," +
			"election_amount,coverage_level,transaction,benefit_code,emp_id,group_id,recordid"
		raw := "TP,TE,TR,RS,ED,EF,AM,CV,AC,PC,EE,ER,RI"
		want := ElectionRow{RecordID: "RI", EmployerID: "ER", EmployeeID: "EE", PlanCode: "PC",
			Action: "AC", CoverageTier: "CV", AnnualAmount: "AM", EffectiveDate: "EF", EndDate: "ED",
			Reason: "RS", TransferEmployerID: "TR", TransferEmployeeID: "TE", TransferPlanCode: "TP"}
		res := readAll[ElectionRow](t, strings.NewReader(header+"\n"+raw+"\n"), layout(t, "elections.v1"), 10)
		if res.err != nil {
			t.Fatalf("got error %v, want none", res.err)
		}
		if len(res.rows) != 1 {
			t.Fatalf("rows: got %d, want 1", len(res.rows))
		}
		if got := res.rows[0].Values; got != want {
			t.Errorf("Values:\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("elections missing columns", func(t *testing.T) {
		res := readAll[ElectionRow](t, strings.NewReader("employer_id,employee_id,plan_code\n"), layout(t, "elections.v1"), 10)
		if got := fileCodes(t, res.err); !slices.Equal(got, []enrollsftp.Code{enrollsftp.HeaderMissingColumn}) {
			t.Errorf("codes: got %s, want HEADER_MISSING_COLUMN", codesString(got))
		}
	})
}

// TestReaderLayoutTypeMismatch checks a layout that does not fit T is a
// programming error, not a file rejection.
func TestReaderLayoutTypeMismatch(t *testing.T) {
	census, elections := layout(t, "census.v1"), layout(t, "elections.v1")
	input := minHeader + "\nE1,1001,Ann,Lee,1 Main St,Springfield,IL,62701\n"
	tests := []struct {
		name string
		open func() error
	}{
		{"CensusRow with elections", func() error {
			_, err := NewReader[CensusRow](strings.NewReader(input), elections)
			return err
		}},
		{"ElectionRow with census", func() error {
			_, err := NewReader[ElectionRow](strings.NewReader(input), census)
			return err
		}},
		{"other type with census", func() error {
			_, err := NewReader[struct{ A string }](strings.NewReader(input), census)
			return err
		}},
		{"pointer type with census", func() error {
			_, err := NewReader[*CensusRow](strings.NewReader(input), census)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.open()
			if err == nil {
				t.Fatal("got no error, want one")
			}
			var fe *enrollsftp.FileError
			if errors.As(err, &fe) {
				t.Errorf("got *enrollsftp.FileError %v, want a plain error", err)
			}
		})
	}
}

// TestReaderIOError checks a failing source is passed through, not reported
// as a fault of the file.
func TestReaderIOError(t *testing.T) {
	boom := errors.New("disk on fire")
	input := minHeader + "\nE1,1001,Ann,Lee,1 Main St,Springfield,IL,62701\n"
	r := io.MultiReader(strings.NewReader(input), iotest.ErrReader(boom))
	res := readAll[CensusRow](t, r, layout(t, "census.v1"), 10)
	if !errors.Is(res.err, boom) {
		t.Fatalf("got %v, want an error wrapping %v", res.err, boom)
	}
	var fe *enrollsftp.FileError
	if errors.As(res.err, &fe) {
		t.Errorf("got *enrollsftp.FileError %v, want the I/O error", res.err)
	}
}

// TestReaderErrorIsSticky checks that once Next has rejected the file it
// keeps doing so: a caller that reads on must not see io.EOF, as if the file
// had ended cleanly, nor rows from past the fault.
func TestReaderErrorIsSticky(t *testing.T) {
	l := layout(t, "census.v1")
	good := strings.Repeat("E1,1001,Ann,Lee,1 Main St,Springfield,IL,62701\n", 2000) // past the first 64 KiB
	tests := []struct {
		name  string
		input string
		want  enrollsftp.Code
	}{
		{"unterminated quote at the end", minHeader + "\n" + good + "E1,\"x\n", enrollsftp.FileMalformed},
		{"text after a closing quote, rows after", minHeader + "\n" + good + "E1,\"x\"y\n" + good, enrollsftp.FileMalformed},
		{"record over the line limit, rows after", minHeader + "\n" + good + strings.Repeat("\"x\ny\",", 300_000) + "\n" + good, enrollsftp.LineTooLong},
		{"Latin-1 byte at the end", minHeader + "\n" + good + "E1,\xE9\n", enrollsftp.FileEncoding},
		{"Latin-1 byte, rows after", minHeader + "\n" + good + "E1,\xE9\n" + good, enrollsftp.FileEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := NewReader[CensusRow](strings.NewReader(tt.input), l)
			if err != nil {
				t.Fatalf("NewReader: got %v, want nil", err)
			}
			var first error
			for first == nil {
				_, first = rd.Next()
			}
			if got := fileCodes(t, first); !slices.Equal(got, []enrollsftp.Code{tt.want}) {
				t.Fatalf("codes: got %s, want %s", codesString(got), tt.want)
			}
			for i := range 5 {
				r, err := rd.Next()
				if err != first {
					t.Fatalf("Next %d after the rejection: got row %d %q and %v, want %v", i, r.Line, r.Raw, err, first)
				}
			}
		})
	}
}

// TestReaderHeaderOnRejection checks a header that was read but does not fit
// the layout comes back with the rejection, for the error file; a file whose
// header could not be read gives no Reader.
func TestReaderHeaderOnRejection(t *testing.T) {
	l := layout(t, "census.v1")
	tests := []struct {
		name       string
		input      string
		wantHeader []string // nil: no Reader
	}{
		{"unknown column", "\uFEFF" + minHeader + ", Colour \r\n", append(strings.Split(minHeader, ","), " Colour ")},
		{"missing column", "Employer ID,ssn\n", []string{"Employer ID", "ssn"}},
		{"empty", "\n\n", nil},
		{"not UTF-8", "employer_id,r\xE9sum\xE9\n", nil},
		{"broken quoting", "\"employer_id\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := NewReader[CensusRow](strings.NewReader(tt.input), l)
			fileCodes(t, err)
			if tt.wantHeader == nil {
				if rd != nil {
					t.Errorf("Reader: got one with header %q, want nil", rd.Header())
				}
				return
			}
			if rd == nil {
				t.Fatal("Reader: got nil, want one for Header")
			}
			if got := rd.Header(); !slices.Equal(got, tt.wantHeader) {
				t.Errorf("Header: got %q, want %q", got, tt.wantHeader)
			}
		})
	}
}
