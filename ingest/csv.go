package ingest

import (
	"errors"
	"fmt"
	"io"
)

// csvReader splits text into records: RFC 4180 as encoding/csv reads it,
// except that a quote inside an unquoted field is a literal character, as
// spreadsheet tools and Python's csv take it (SPEC §4), and that memory is
// bounded whatever the input: a field keeps at most maxField bytes (its
// full length is still counted, for the FIELD_TOO_LONG message), and a
// record may keep at most maxRecord bytes.
//
// encoding/csv could not do this: it holds a quoted field whole, however
// many lines it spans (the physical line limit does not see it), and its
// LazyQuotes, the only way to take a bare quote, also changes how quoted
// fields end.
//
// The grammar, as encoding/csv (strict) and Python's csv agree on it:
//   - a record ends at LF or CRLF; a lone CR is an ordinary character, so
//     an old-Mac file is one long line; a CR just before the end of the
//     input is dropped; empty lines between records are skipped;
//   - a field that starts with a quote is quoted: it runs to the next quote
//     not doubled, across line ends (a CRLF inside becomes LF), and that
//     quote must be followed by a comma, a line end or the end of input;
//   - in any other field a quote is text.
//
// Where Python (non-strict) would go on after a closing quote followed by
// other text (`"Bob"by` → `Bobby`), this reader stops with errQuote, as
// encoding/csv does: such a quote was not a closing one after all (an
// unescaped quote inside a quoted field, `"Smith, "Bob" Jr"`), so where the
// field — and the record — really ends cannot be known, and every row after
// it is in doubt. The file is rejected FILE_MALFORMED, like a quoted field
// left open at the end of the input.
type csvReader struct {
	r        io.Reader
	buf      []byte
	pos, end int   // unread bytes are buf[pos:end]
	rerr     error // r's error (io.EOF at the end), met once buf is drained

	maxField  int // bytes kept of a field (> 0)
	maxRecord int // bytes a record may keep, fields and separators; 0: no limit

	line    int // line ends consumed: the current physical line is line+1
	recLine int // physical line the current record starts on

	rec    []byte      // kept bytes of the current record's fields, end to end
	ends   []int       // end of each field in rec
	long   []longField // fields cut at maxField, in order
	fields []string    // reused by Read
}

// longField is a field longer than maxField: only its first maxField bytes are
// kept.
type longField struct {
	field int   // index in the record
	size  int64 // full length in bytes
}

// errQuote means a quoted field was never closed, or what looked like its
// closing quote was followed by text: row boundaries are lost.
type errQuote struct {
	line int
	what string
}

func (e *errQuote) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.what) }

// errRecordTooLong means one record, over however many physical lines,
// would keep more than the limit: the reader stops rather than hold it.
type errRecordTooLong struct {
	line  int // where the record starts
	limit int
}

func (e *errRecordTooLong) Error() string {
	return fmt.Sprintf("the record starting on line %d is longer than %d bytes", e.line, e.limit)
}

func newCSVReader(r io.Reader, maxField, maxRecord int) *csvReader {
	return &csvReader{r: r, buf: make([]byte, 64<<10), maxField: maxField, maxRecord: maxRecord}
}

// fill reads more input, keeping the unread bytes; it reports false when
// there is none (c.rerr then says why).
func (c *csvReader) fill() bool {
	if c.rerr != nil {
		return false
	}
	if c.pos > 0 {
		c.end = copy(c.buf, c.buf[c.pos:c.end])
		c.pos = 0
	}
	for tries := 0; tries < 100; tries++ {
		n, err := c.r.Read(c.buf[c.end:])
		c.end += n
		if err != nil {
			c.rerr = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
	c.rerr = io.ErrNoProgress
	return false
}

// more makes at least n unread bytes available if the input has them.
func (c *csvReader) more(n int) bool {
	for c.end-c.pos < n {
		if !c.fill() {
			return false
		}
	}
	return true
}

// failed is the error to return when the input ended: nil at a clean end
// of input, else the reader's error.
func (c *csvReader) failed() error {
	if errors.Is(c.rerr, io.EOF) {
		return nil
	}
	return c.rerr
}

// Line is the physical line the last record read starts on.
func (c *csvReader) Line() int { return c.recLine }

// Long lists the fields of the last record cut at maxField.
func (c *csvReader) Long() []longField { return c.long }

// Read returns the next record, io.EOF after the last. The slice is reused
// by the next call; the strings are not.
func (c *csvReader) Read() ([]string, error) {
	c.rec, c.ends, c.long = c.rec[:0], c.ends[:0], c.long[:0]
	// Skip empty lines (LF, CRLF, and a CR at the very end).
	for {
		if c.pos == c.end && !c.fill() {
			if err := c.failed(); err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		b := c.buf[c.pos]
		if b == '\n' {
			c.pos++
			c.line++
			continue
		}
		if b == '\r' {
			if !c.more(2) {
				if err := c.failed(); err != nil {
					return nil, err
				}
				if c.end-c.pos == 1 {
					c.pos++
					continue // a CR at the end of input
				}
			}
			if c.buf[c.pos+1] == '\n' {
				c.pos += 2
				c.line++
				continue
			}
		}
		break
	}
	c.recLine = c.line + 1
	for {
		var last bool
		var err error
		if c.buf[c.pos] == '"' {
			c.pos++
			last, err = c.quoted()
		} else {
			last, err = c.unquoted()
		}
		if err != nil {
			return nil, err
		}
		if c.maxRecord > 0 && len(c.rec)+len(c.ends) > c.maxRecord {
			return nil, &errRecordTooLong{line: c.recLine, limit: c.maxRecord}
		}
		if last {
			break
		}
		// After a comma: an empty last field when the input or line ends.
		if c.pos == c.end && !c.fill() {
			if err := c.failed(); err != nil {
				return nil, err
			}
			c.ends = append(c.ends, len(c.rec))
			break
		}
	}
	s := string(c.rec) // one allocation for all fields
	c.fields = c.fields[:0]
	from := 0
	for _, to := range c.ends {
		c.fields = append(c.fields, s[from:to])
		from = to
	}
	return c.fields, nil
}

// keep appends field bytes p to the record, cutting the field at maxField;
// size is the field's length so far and comes back updated.
func (c *csvReader) keep(p []byte, start int, size int64) int64 {
	if room := c.maxField - (len(c.rec) - start); room > 0 {
		c.rec = append(c.rec, p[:min(room, len(p))]...)
	}
	return size + int64(len(p))
}

var lf, cr, quote = []byte{'\n'}, []byte{'\r'}, []byte{'"'}

// endField closes a field that started at start in rec and grew to size.
func (c *csvReader) endField(start int, size int64) {
	if size > int64(c.maxField) {
		c.long = append(c.long, longField{field: len(c.ends), size: size})
	}
	c.ends = append(c.ends, len(c.rec))
}

// unquoted reads an unquoted field up to a comma (consumed), a line end
// (consumed; last) or the end of input (last). A CR before LF, or before
// the end of input, is dropped.
func (c *csvReader) unquoted() (last bool, err error) {
	start := len(c.rec)
	var size int64
	endsCR := false // the field's last byte so far is a CR
	for {
		if c.pos == c.end && !c.fill() {
			if err := c.failed(); err != nil {
				return true, err
			}
			if endsCR {
				size = c.dropCR(size)
			}
			c.endField(start, size)
			return true, nil
		}
		chunk := c.buf[c.pos:c.end]
		i := 0
		for i < len(chunk) && chunk[i] != ',' && chunk[i] != '\n' {
			i++
		}
		if i > 0 {
			size = c.keep(chunk[:i], start, size)
			endsCR = chunk[i-1] == '\r'
		}
		c.pos += i
		if i == len(chunk) {
			continue
		}
		c.pos++
		if chunk[i] == ',' {
			c.endField(start, size)
			return false, nil
		}
		c.line++
		if endsCR {
			size = c.dropCR(size)
		}
		c.endField(start, size)
		return true, nil
	}
}

// dropCR removes the CR ending a field (of a CRLF, or at the end of input).
func (c *csvReader) dropCR(size int64) int64 {
	if size <= int64(c.maxField) { // else the CR was never kept
		c.rec = c.rec[:len(c.rec)-1]
	}
	return size - 1
}

// quoted reads a quoted field, its opening quote consumed, up to and with
// the comma or line end after its closing quote.
func (c *csvReader) quoted() (last bool, err error) {
	start, opened := len(c.rec), c.line+1
	var size int64
	for {
		if c.pos == c.end && !c.fill() {
			if err := c.failed(); err != nil {
				return true, err
			}
			return true, &errQuote{line: opened, what: "the quoted field opened here is never closed"}
		}
		chunk := c.buf[c.pos:c.end]
		i := 0
		for i < len(chunk) && chunk[i] != '"' && chunk[i] != '\n' && chunk[i] != '\r' {
			i++
		}
		if i > 0 {
			size = c.keep(chunk[:i], start, size)
			c.pos += i
		}
		if i == len(chunk) {
			continue
		}
		switch chunk[i] {
		case '\n':
			c.pos++
			c.line++
			size = c.keep(chunk[i:i+1], start, size)
			continue
		case '\r': // CRLF becomes LF; a lone CR is text
			if c.more(2) && c.buf[c.pos+1] == '\n' {
				c.pos += 2
				c.line++
				size = c.keep(lf, start, size)
			} else {
				c.pos++
				size = c.keep(cr, start, size)
			}
			continue
		}
		// A quote: doubled, or the end of the field.
		c.pos++
		if !c.more(1) {
			if err := c.failed(); err != nil {
				return true, err
			}
			c.endField(start, size)
			return true, nil
		}
		switch c.buf[c.pos] {
		case '"':
			c.pos++
			size = c.keep(quote, start, size)
			continue
		case ',':
			c.pos++
			c.endField(start, size)
			return false, nil
		case '\n':
			c.pos++
			c.line++
			c.endField(start, size)
			return true, nil
		case '\r':
			if !c.more(2) {
				if err := c.failed(); err != nil {
					return true, err
				}
				c.pos++ // a CR at the end of input
				c.endField(start, size)
				return true, nil
			}
			if c.buf[c.pos+1] == '\n' {
				c.pos += 2
				c.line++
				c.endField(start, size)
				return true, nil
			}
		}
		return true, &errQuote{line: c.line + 1,
			what: "text after the closing quote of a quoted field (an unescaped quote inside it?)"}
	}
}
