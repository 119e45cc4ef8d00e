package ingest

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"enrollsftp"
	"enrollsftp/schemas"
)

// minHeader holds exactly the required census columns.
const minHeader = "employer_id,employee_id,first_name,last_name,address_line1,city,state,zip"

func layout(t testing.TB, name string) *schemas.Layout {
	t.Helper()
	l, err := schemas.Load(name, "")
	if err != nil {
		t.Fatalf("schemas.Load(%q): %v", name, err)
	}
	return l
}

// result is everything a reader gave for one input.
type result[T any] struct {
	header   []string
	rows     []Row[T]
	err      error // first error other than io.EOF, from NewReader or Next
	fromNext bool  // err came from Next, after a good header
}

// readAll reads r to the end, or to the first error, or to limit rows.
func readAll[T any](t testing.TB, r io.Reader, l *schemas.Layout, limit int) result[T] {
	t.Helper()
	rd, err := NewReader[T](r, l)
	if err != nil {
		return result[T]{err: err}
	}
	res := result[T]{header: rd.Header()}
	for len(res.rows) < limit {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return res
		}
		if err != nil {
			res.err, res.fromNext = err, true
			return res
		}
		res.rows = append(res.rows, row)
	}
	return res
}

// fileCodes returns the codes of a file-level rejection, in order, or fails
// the test when err is not an *enrollsftp.FileError.
func fileCodes(t testing.TB, err error) []enrollsftp.Code {
	t.Helper()
	var fe *enrollsftp.FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T): got no *enrollsftp.FileError, want one", err, err)
	}
	if len(fe.Errors) == 0 {
		t.Fatalf("FileError %v: got no errors, want at least one", fe)
	}
	codes := make([]enrollsftp.Code, len(fe.Errors))
	for i, e := range fe.Errors {
		codes[i] = e.Code
	}
	return codes
}

func sortedCodes(cs []enrollsftp.Code) []enrollsftp.Code {
	out := slices.Clone(cs)
	slices.Sort(out)
	return out
}

// genReader synthesises a census file of n rows on the fly: it never holds
// more than one row of text, so it costs no memory whatever n is.
type genReader struct {
	n, i    int // rows to write, rows written
	pending []byte
	header  bool
	bytes   int64
}

const genHeader = "record_id,employer_id,employee_id,first_name,middle_name,last_name,ssn,dob," +
	"address_line1,address_line2,city,state,zip,email,phone,employment_status,hire_date,termination_date\n"

func newGenReader(n int) *genReader { return &genReader{n: n} }

func (g *genReader) Read(p []byte) (int, error) {
	if len(g.pending) == 0 {
		switch {
		case !g.header:
			g.header = true
			g.pending = append(g.pending[:0], genHeader...)
		case g.i < g.n:
			g.i++
			g.pending = fmt.Appendf(g.pending[:0],
				"R%09d,EMP%03d,E%07d,José,Q,\"O'Brien, Jr.\",123-45-%04d,1980-01-%02d,"+
					"%d Main Street,Apt 4,Springfield,IL,62701,user%d@example.com,217-555-0100,ACTIVE,2020-03-01,\n",
				g.i, g.i%50, g.i, g.i%10000, 1+g.i%28, g.i, g.i)
		default:
			return 0, io.EOF
		}
	}
	c := copy(p, g.pending)
	g.pending = g.pending[c:]
	g.bytes += int64(c)
	return c, nil
}

// codesString joins codes for messages.
func codesString(cs []enrollsftp.Code) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = string(c)
	}
	return strings.Join(parts, ",")
}
