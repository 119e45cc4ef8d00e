// Package ingest reads vendor files: it checks the bytes are UTF-8 text,
// matches the header against a layout and streams typed rows, one at a time,
// with the physical line each starts on.
package ingest

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gocarina/gocsv"

	"enrollsftp"
	"enrollsftp/schemas"
)

func fileError(code enrollsftp.Code, msg string) *enrollsftp.FileError {
	return &enrollsftp.FileError{Errors: enrollsftp.Errors{{Code: code, Message: msg}}}
}

// Row is one data record.
type Row[T any] struct {
	Line   int      // physical line the record starts on; the header is line 1
	Values T        // cells by canonical column
	Raw    []string // cells as read, in the input's column order
	// Problems found while reading, such as a row with the wrong number of
	// fields; a row with problems is rejected whatever its values.
	Problems enrollsftp.Errors
}

// Reader streams the rows of one file. Memory stays constant: one row is
// held at a time.
type Reader[T any] struct {
	csv    *csvReader
	layout *schemas.Layout
	header []string // as shown and stored: SSN- and date-shaped cells masked
	raw    []string // as read, for matching against the layout
	// canon[i] is the canonical position of input column i.
	canon     []int
	names     []string                    // input column → canonical name, "" if none
	sensitive map[int]func(string) string // input column → mask
	width     int                         // number of canonical columns
	err       error                       // the first read failure, returned ever after
}

// NewReader reads and checks the header of r against layout. T must be
// CensusRow or ElectionRow, matching the layout's type. An
// *enrollsftp.FileError reports a file-level rejection; when the header was
// read but does not fit the layout, the Reader comes back too, for Header.
func NewReader[T any](r io.Reader, layout *schemas.Layout, opts ...Option) (*Reader[T], error) {
	columns, err := columnsFor[T](layout)
	if err != nil {
		return nil, err
	}
	o := options{maxLine: DefaultMaxLineLength}
	for _, f := range opts {
		f(&o)
	}
	text, err := openText(r, o.maxLine)
	if err != nil {
		return nil, classify(err)
	}
	cr := newCSVReader(text, MaxFieldLength, o.maxLine)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) || err == nil && blank(header) {
		return nil, fileError(enrollsftp.FileEmpty, "the file has no header and no rows")
	}
	if err != nil {
		return nil, classify(err)
	}
	header = cutLong(header, cr.Long())
	// A "header" may really be a data row (a vendor that sent none): never
	// keep or echo an SSN or a date from it.
	safe := make([]string, len(header))
	for i, h := range header {
		safe[i] = enrollsftp.ScrubSensitive(h)
	}
	rd := &Reader[T]{
		csv:       cr,
		layout:    layout,
		header:    safe,
		raw:       header,
		canon:     make([]int, len(header)),
		names:     make([]string, len(header)),
		sensitive: map[int]func(string) string{},
		width:     len(columns),
	}
	if err := rd.matchHeader(columns); err != nil {
		return rd, err // the header is still worth showing in the error file
	}
	return rd, nil
}

// DefaultMaxLineLength bounds a physical line, so a file without line
// breaks cannot make the reader hold it whole. It bounds a record too, over
// however many lines its quoted fields run, counting an over-long field as
// MaxFieldLength bytes (the most of it that is kept).
const DefaultMaxLineLength = 1 << 20

// MaxFieldLength bounds every value: no name, address or code is longer,
// and the ledger and the outputs should not carry a megabyte cell. The
// reader keeps no more of a field than this, so one quoted field over a
// million short lines cannot fill memory either: the row is rejected
// FIELD_TOO_LONG and the cell is shown cut to its first bytes (see
// cutLong).
const MaxFieldLength = 256

// shownOfLong is how much of an over-long cell is kept to show where the
// row went wrong, in the ledger and the error file.
const shownOfLong = 64

// Option tunes a Reader.
type Option func(*options)

type options struct{ maxLine int }

// MaxLineLength sets the longest physical line accepted, in bytes (0: no
// limit); a longer one rejects the file with LINE_TOO_LONG, and so does a
// record that would keep more (see DefaultMaxLineLength).
func MaxLineLength(n int) Option { return func(o *options) { o.maxLine = n } }

func columnsFor[T any](layout *schemas.Layout) ([]string, error) {
	var zero T
	switch any(zero).(type) {
	case CensusRow:
		if layout.Type == "census" {
			return schemas.CensusColumns, nil
		}
	case ElectionRow:
		if layout.Type == "elections" {
			return schemas.ElectionColumns, nil
		}
	}
	return nil, fmt.Errorf("ingest: layout %s (type %s) does not fit %T", layout.Name, layout.Type, zero)
}

// matchHeader maps each header cell to a canonical column through the
// layout, collecting every unknown, duplicate and missing column.
func (rd *Reader[T]) matchHeader(columns []string) error {
	pos := make(map[string]int, len(columns))
	for i, c := range columns {
		pos[c] = i
	}
	var errs enrollsftp.Errors
	seen := make(map[string]string)
	for i, h := range rd.raw {
		shown := strings.TrimSpace(rd.header[i])
		col, ok := rd.layout.Column(h)
		if !ok {
			errs = append(errs, &enrollsftp.Error{Code: enrollsftp.HeaderUnknownColumn,
				Message: fmt.Sprintf("column %d %q is not in layout %s", i+1, shown, rd.layout.Name)})
			rd.canon[i] = -1
			continue
		}
		if first, dup := seen[col.Name]; dup {
			errs = append(errs, &enrollsftp.Error{Code: enrollsftp.HeaderDuplicateColumn,
				Message: fmt.Sprintf("column %d %q repeats %q (both are %s)", i+1, shown, first, col.Name)})
		}
		seen[col.Name] = shown
		rd.canon[i] = pos[col.Name]
		rd.names[i] = col.Name
		switch col.Name {
		case "ssn":
			rd.sensitive[i] = enrollsftp.MaskSSN
		case "dob":
			rd.sensitive[i] = enrollsftp.MaskDOB
		}
	}
	for _, c := range rd.layout.Columns {
		if _, ok := seen[c.Name]; c.Required && !ok {
			errs = append(errs, &enrollsftp.Error{Code: enrollsftp.HeaderMissingColumn,
				Message: fmt.Sprintf("required column %q is missing", c.Name)})
		}
	}
	errs = capPerCode(errs, maxHeaderErrors)
	if len(errs) > 0 {
		return &enrollsftp.FileError{Errors: errs}
	}
	return nil
}

// maxHeaderErrors is how many problems of one code are listed: a file of
// 10,000 stray columns gets a readable error, not 10,000.
const maxHeaderErrors = 10

// capPerCode keeps the first max errors of each code and sums up the rest,
// so every kind of problem is still reported (a missing column is not
// drowned by a thousand unknown ones).
func capPerCode(errs enrollsftp.Errors, max int) enrollsftp.Errors {
	count := map[enrollsftp.Code]int{}
	var out enrollsftp.Errors
	for _, e := range errs {
		count[e.Code]++
		if count[e.Code] <= max {
			out = append(out, e)
		}
	}
	for _, e := range errs { // in order of first appearance
		if n := count[e.Code]; n > max {
			out = append(out, &enrollsftp.Error{Code: e.Code, Message: fmt.Sprintf("and %d more %s problems", n-max, e.Code)})
			count[e.Code] = 0
		}
	}
	return out
}

// Header is the input's own header row, BOM removed.
func (rd *Reader[T]) Header() []string { return rd.header }

// Mask returns a copy of raw input cells with the SSN and date of birth
// masked, fit to store and to give back in an error file: the ssn and dob
// columns by position, an SSN-shaped value in any column, a date-shaped
// value in any column that is not a date column (a date of birth typed
// into an address line), and in a ragged row — whose cells may have slid
// into other columns — every SSN- or date-shaped value.
func (rd *Reader[T]) Mask(raw []string) []string {
	out := append([]string(nil), raw...)
	ragged := len(raw) != len(rd.header)
	for i := range out {
		switch mask, ok := rd.sensitive[i]; {
		case ok && !ragged:
			out[i] = mask(out[i])
		case ragged || !dateColumn[rd.columnName(i)]:
			out[i] = enrollsftp.ScrubSensitive(out[i])
		default:
			out[i] = enrollsftp.ScrubSSN(out[i])
		}
	}
	return out
}

// dateColumn names the columns whose dates are not dates of birth: they
// are given back as sent.
var dateColumn = map[string]bool{"hire_date": true, "termination_date": true, "effective_date": true, "end_date": true}

// columnName is the canonical name of input column i ("" when unknown).
func (rd *Reader[T]) columnName(i int) string {
	if i < len(rd.names) {
		return rd.names[i]
	}
	return ""
}

// Next returns the next row, io.EOF after the last, or an
// *enrollsftp.FileError when the
// rest of the file cannot be read (bad encoding, broken quoting): the whole
// file is then rejected, since its row boundaries can no longer be trusted.
func (rd *Reader[T]) Next() (Row[T], error) {
	if rd.err != nil {
		return Row[T]{}, rd.err
	}
	for {
		rec, err := rd.csv.Read()
		if err != nil {
			err = classify(err)
			if !errors.Is(err, io.EOF) {
				rd.err = err // the file is rejected: no row after this is to be trusted
			}
			return Row[T]{}, err
		}
		if blank(rec) {
			continue // a row of empty cells (a spreadsheet's trailing ",,,") is no record
		}
		row := Row[T]{Line: rd.csv.Line(), Raw: cutLong(rec, rd.csv.Long())}
		if len(rec) != len(rd.header) {
			row.Problems = append(row.Problems, &enrollsftp.Error{Code: enrollsftp.MalformedRow,
				Message: fmt.Sprintf("row has %d fields, the header has %d", len(rec), len(rd.header))})
		}
		for _, f := range rd.csv.Long() {
			msg := fmt.Sprintf("is %d bytes long; the limit is %d", f.size, MaxFieldLength)
			name := ""
			if f.field < len(rd.names) {
				name = rd.names[f.field]
			}
			if name == "" {
				msg = fmt.Sprintf("field %d %s", f.field+1, msg)
			}
			row.Problems = append(row.Problems, enrollsftp.Errorf(enrollsftp.FieldTooLong, name, msg))
		}
		cells := make([]string, rd.width)
		for i, v := range row.Raw {
			if i < len(rd.canon) && rd.canon[i] >= 0 {
				cells[rd.canon[i]] = v
			}
		}
		row.Values, err = decodeRow[T](cells)
		if err != nil {
			return Row[T]{}, err
		}
		return row, nil
	}
}

// decodeRow fills a T from cells in canonical order through gocsv, which
// maps by field position when there is no header.
func decodeRow[T any](cells []string) (T, error) {
	var out []T
	if err := gocsv.UnmarshalCSVWithoutHeaders(oneRow{cells}, &out); err != nil || len(out) != 1 {
		var zero T
		return zero, fmt.Errorf("ingest: decode row: %v", err)
	}
	return out[0], nil
}

// oneRow is a gocsv.CSVReader over a single record.
type oneRow struct{ cells []string }

func (o oneRow) Read() ([]string, error)      { return o.cells, nil }
func (o oneRow) ReadAll() ([][]string, error) { return [][]string{o.cells}, nil }

// cutLong copies a record, cutting each over-long field to its first
// shownOfLong bytes (whole characters) and "…": enough to find the cell,
// never the megabytes a broken file may put in one.
func cutLong(rec []string, long []longField) []string {
	out := append([]string(nil), rec...)
	for _, f := range long {
		s := out[f.field]
		n := min(shownOfLong, len(s))
		for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		out[f.field] = s[:n] + "…"
	}
	return out
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// classify turns a read failure into a file-level rejection where the
// input is at fault, and passes I/O failures through.
func classify(err error) error {
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	var long *errLineTooLong
	if errors.As(err, &long) {
		return fileError(enrollsftp.LineTooLong, long.Error()+": rows can no longer be read safely")
	}
	var enc *errEncoding
	if errors.As(err, &enc) {
		return fileError(enrollsftp.FileEncoding, "the file is not UTF-8 text: "+enc.Error())
	}
	var rec *errRecordTooLong
	if errors.As(err, &rec) {
		return fileError(enrollsftp.LineTooLong, rec.Error()+": rows can no longer be read safely")
	}
	var q *errQuote
	if errors.As(err, &q) {
		return fileError(enrollsftp.FileMalformed, q.Error()+": rows can no longer be told apart")
	}
	return fmt.Errorf("ingest: %w", err)
}
