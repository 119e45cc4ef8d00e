package ingest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// errEncoding is returned by the text reader when the bytes are not UTF-8
// text; the reader turns it into the file-level code FILE_ENCODING.
type errEncoding struct {
	offset int64
	what   string
}

func (e *errEncoding) Error() string {
	return fmt.Sprintf("%s at byte %d", e.what, e.offset)
}

// textReader passes UTF-8 text through and fails on anything else: invalid
// sequences (Latin-1, UTF-16 halves) and NUL bytes, which no text file holds.
// A rune split across two reads is held back until its end arrives.
type textReader struct {
	r      io.Reader
	buf    []byte
	start  int   // next byte to hand out
	valid  int   // end of the checked bytes
	n      int   // end of the bytes read
	err    error // the underlying reader's, returned once checked bytes run out
	offset int64 // of buf[0] in the input, for error messages

	maxLine int   // longest physical line allowed, in bytes; 0: no limit
	lineLen int   // bytes of the current physical line seen so far
	line    int64 // physical lines completed, for error messages
}

// errLineTooLong is returned when a physical line passes the limit: the
// reader stops rather than hold an unbounded line in memory.
type errLineTooLong struct {
	line  int64
	limit int
}

func (e *errLineTooLong) Error() string {
	return fmt.Sprintf("line %d is longer than %d bytes", e.line, e.limit)
}

func (t *textReader) Read(p []byte) (int, error) {
	for tries := 0; t.start == t.valid; tries++ {
		if t.err != nil {
			return 0, t.err
		}
		if tries == 100 {
			return 0, io.ErrNoProgress
		}
		if err := t.fill(); err != nil {
			return 0, err
		}
	}
	c := copy(p, t.buf[t.start:t.valid])
	t.start += c
	return c, nil
}

// fill reads more input and checks all of it but a trailing partial rune.
func (t *textReader) fill() error {
	t.offset += int64(t.valid)
	t.n = copy(t.buf, t.buf[t.valid:t.n])
	t.start, t.valid = 0, 0
	m, err := t.r.Read(t.buf[t.n:])
	t.n += m
	t.err = err
	end := t.n
	if err == nil {
		for i := t.n - 1; i >= 0 && i >= t.n-utf8.UTFMax; i-- {
			if utf8.RuneStart(t.buf[i]) {
				if !utf8.FullRune(t.buf[i:t.n]) {
					end = i
				}
				break
			}
		}
	}
	chunk := t.buf[:end]
	if i := bytes.IndexByte(chunk, 0); i >= 0 {
		return &errEncoding{offset: t.offset + int64(i), what: "NUL byte"}
	}
	if !utf8.Valid(chunk) {
		bad := 0
		for bad < end {
			r, size := utf8.DecodeRune(chunk[bad:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			bad += size
		}
		return &errEncoding{offset: t.offset + int64(bad), what: "invalid UTF-8"}
	}
	if t.maxLine > 0 {
		for rest := chunk; len(rest) > 0; {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				t.lineLen += len(rest)
				break
			}
			t.lineLen += i
			if t.lineLen > t.maxLine {
				break
			}
			t.line++
			t.lineLen = 0
			rest = rest[i+1:]
		}
		if t.lineLen > t.maxLine {
			return &errLineTooLong{line: t.line + 1, limit: t.maxLine}
		}
	}
	t.valid = end
	return nil
}

// openText checks the byte order mark and returns a reader of the text after
// it. UTF-16 and UTF-32 files are refused by their BOM, before any parsing.
func openText(r io.Reader, maxLine int) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	var skipped int
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		skipped, _ = br.Discard(3)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}),
		bytes.HasPrefix(head, []byte{0, 0, 0xFE, 0xFF}):
		return nil, &errEncoding{what: "UTF-16 or UTF-32 byte order mark"}
	}
	// offset counts the BOM, so error messages give the byte's place in the file.
	return &textReader{r: br, buf: make([]byte, 64<<10), offset: int64(skipped), maxLine: maxLine}, nil
}
