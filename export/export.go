// Package export writes a batch's outputs (SPEC §5): NAME.ack.csv with one
// line per record, NAME.ack.json with the batch summary, and NAME.errors.csv
// with the rejected rows in the vendor's own columns. Outputs are built only
// from what the ledger stores, so regenerating them gives the same bytes.
package export

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"enrollsftp"
	"enrollsftp/internal/pgp"
)

// Records streams a batch's outcomes in line order; it may be called twice.
type Records func(fn func(enrollsftp.Outcome) error) error

// Files are the paths written; Errors is "" when there was nothing rejected.
type Files struct {
	Ack, Summary, Errors string
}

// BaseName is NAME for an input NAME.csv (any case), else the whole name.
func BaseName(file string) string {
	base := filepath.Base(file)
	if ext := filepath.Ext(base); strings.EqualFold(ext, ".csv") {
		return strings.TrimSuffix(base, ext)
	}
	return base
}

// Write writes the outputs of batch b into dir, each atomically.
func Write(dir string, b enrollsftp.Batch, records Records) (Files, error) {
	name := b.File
	if b.Encrypted {
		name, _ = pgp.Plain(name) // NAME.csv.pgp answers as NAME.ack.csv(.pgp)
	}
	// A name too long to take suffixes is answered under a short form of it.
	base := filepath.Join(dir, BaseName(enrollsftp.ShortName(name)))
	// The summary gives the count of each code; they are counted in the
	// same pass that writes the ack, never in a second read of the batch.
	counts := map[string]int{}
	records = countCodes(records, counts)
	f := Files{Ack: base + ".ack.csv", Summary: base + ".ack.json"}
	if err := os.MkdirAll(dir, 0o700); err != nil { // its files hold PII: no one else lists them
		return f, fmt.Errorf("export: %w", err)
	}
	errPath := base + ".errors.csv"
	if b.Rejected == 0 && len(b.FileErrors) == 0 {
		if err := writeAtomic(f.Ack, func(w io.Writer) error { return WriteAck(w, records) }); err != nil {
			return f, err
		}
		// A stale error file from an earlier batch of the same name would
		// tell the vendor to fix rows that are fine now.
		if err := os.Remove(errPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return f, fmt.Errorf("export: %w", err)
		}
	} else {
		// Both files in one pass over the records: a million-row batch is
		// read back from the ledger once, not twice.
		f.Errors = errPath
		err := writeAtomic(f.Ack, func(ack io.Writer) error {
			return writeAtomic(errPath, func(errs io.Writer) error { return writeBoth(ack, errs, b, records) })
		})
		if err != nil {
			return f, err
		}
	}
	for _, e := range b.FileErrors {
		counts[string(e.Code)]++
	}
	return f, writeAtomic(f.Summary, func(w io.Writer) error { return writeSummary(w, b, counts) })
}

// WriteAnswer writes the answer to a file that was not processed because
// its bytes were applied before (b carries FILE_ALREADY_PROCESSED): an ack
// with no rows and the summary. No error file: an exact resend must not
// replace the error file the applied batch gave the vendor, whose rows
// still need fixing. With keep, an existing summary of that name (the
// applied batch's answer, in an operator's out folder) is left as it is
// and nothing is written.
func WriteAnswer(dir string, b enrollsftp.Batch, keep bool) (Files, error) {
	base := filepath.Join(dir, BaseName(enrollsftp.ShortName(b.File)))
	f := Files{Ack: base + ".ack.csv", Summary: base + ".ack.json"}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Files{}, fmt.Errorf("export: %w", err)
	}
	if _, err := os.Stat(f.Summary); keep && err == nil {
		return Files{}, nil
	}
	none := func(func(enrollsftp.Outcome) error) error { return nil }
	if err := writeAtomic(f.Ack, func(w io.Writer) error { return WriteAck(w, none) }); err != nil {
		return f, err
	}
	return f, writeAtomic(f.Summary, func(w io.Writer) error { return WriteSummary(w, b) })
}

// countCodes wraps records so that each pass counts the codes of the
// records it hands on into counts (afresh for each pass).
func countCodes(records Records, counts map[string]int) Records {
	return func(fn func(enrollsftp.Outcome) error) error {
		clear(counts)
		return records(func(o enrollsftp.Outcome) error {
			if o.Codes != "" { // most records have none
				for c := range strings.SplitSeq(o.Codes, ";") {
					if c != "" {
						counts[c]++
					}
				}
			}
			return fn(o)
		})
	}
}

// CodeCounts counts the codes of a batch's records and file errors, as
// the summary gives them.
func CodeCounts(b enrollsftp.Batch, records Records) (map[string]int, error) {
	counts := map[string]int{}
	if err := countCodes(records, counts)(func(enrollsftp.Outcome) error { return nil }); err != nil {
		return nil, err
	}
	for _, e := range b.FileErrors {
		counts[string(e.Code)]++
	}
	return counts, nil
}

// writeBoth writes the ack and the error file from one pass over records.
func writeBoth(ack, errs io.Writer, b enrollsftp.Batch, records Records) error {
	aw, ew := csv.NewWriter(ack), csv.NewWriter(errs)
	if err := aw.Write(AckHeader); err != nil {
		return err
	}
	if err := writeErrorsHead(ew, b); err != nil {
		return err
	}
	err := records(func(o enrollsftp.Outcome) error {
		if err := aw.Write(ackRow(o)); err != nil {
			return err
		}
		if o.Status != enrollsftp.RecordRejected {
			return nil
		}
		return ew.Write(errorRow(b, o))
	})
	if err != nil {
		return err
	}
	aw.Flush()
	ew.Flush()
	if err := aw.Error(); err != nil {
		return err
	}
	return ew.Error()
}

// AckHeader is the ack file's header row.
var AckHeader = []string{"line", "record_id", "employer_id", "employee_id", "action", "status", "codes",
	"message", "per_pay_period_amount"}

// WriteAck writes the ack CSV: one line per input record.
func WriteAck(w io.Writer, records Records) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(AckHeader); err != nil {
		return err
	}
	err := records(func(o enrollsftp.Outcome) error { return cw.Write(ackRow(o)) })
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// WriteErrors writes the rejected rows in the input's own columns, plus
// error_codes and error_messages, so a vendor can fix and resend them. A
// file-level rejection is one row with the input cells left empty.
func WriteErrors(w io.Writer, b enrollsftp.Batch, records Records) error {
	cw := csv.NewWriter(w)
	if err := writeErrorsHead(cw, b); err != nil {
		return err
	}
	err := records(func(o enrollsftp.Outcome) error {
		if o.Status != enrollsftp.RecordRejected {
			return nil
		}
		return cw.Write(errorRow(b, o))
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// ackRow is a record's ack line.
func ackRow(o enrollsftp.Outcome) []string {
	return safe([]string{strconv.Itoa(o.Line), o.RecordID, o.EmployerID, o.EmployeeID, o.Action,
		o.Status, o.Codes, o.Message, o.PerPayPeriod})
}

// writeErrorsHead writes the error file's header and its file-level line.
func writeErrorsHead(cw *csv.Writer, b enrollsftp.Batch) error {
	if err := cw.Write(safe(append(append([]string(nil), b.Header...), "error_codes", "error_messages"))); err != nil {
		return err
	}
	if len(b.FileErrors) > 0 {
		row := make([]string, len(b.Header), len(b.Header)+2)
		return cw.Write(safe(append(row, b.FileErrors.Codes(), b.FileErrors.Messages())))
	}
	return nil
}

// errorRow is a rejected record's line in the error file: its cells as
// read (masked), then why.
func errorRow(b enrollsftp.Batch, o enrollsftp.Outcome) []string {
	row := make([]string, len(b.Header), len(b.Header)+2)
	copy(row, o.Raw) // a ragged row's extra cells have no column to go in
	return safe(append(row, o.Codes, o.Message))
}

// summary is the ack.json shape; field order is the file's key order.
type summary struct {
	BatchID     string      `json:"batch_id"`
	Source      string      `json:"source"`
	File        string      `json:"file"`
	Type        string      `json:"type"`
	SHA256      string      `json:"sha256"`
	Size        int64       `json:"size"`
	Rows        int         `json:"rows"`
	Accepted    int         `json:"accepted"`
	Rejected    int         `json:"rejected"`
	Duplicate   int         `json:"duplicate"`
	PendingKYC  int         `json:"pending_kyc"`
	Status      string      `json:"status"`
	ReceivedAt  string      `json:"received_at"`
	ProcessedAt string      `json:"processed_at"`
	FileErrors  []fileError `json:"file_errors"`
	// More keys than SPEC §5 lists (issue 14).
	Layout     string         `json:"layout"`
	ErrorCodes map[string]int `json:"error_codes"` // records and file errors per code
	DryRun     bool           `json:"dry_run"`
	// WouldBe is what a dry run's file would have become.
	WouldBe string `json:"would_be,omitempty"`
	Hold    *hold  `json:"hold,omitempty"`
	// EarlierBatchID: the batch that applied a re-sent file's bytes.
	EarlierBatchID string `json:"earlier_batch_id,omitempty"`
}

// hold gives the figures of a HELD batch.
type hold struct {
	Ratio          float64 `json:"ratio"` // rejected rows / rows
	MaxRejectRatio float64 `json:"max_reject_ratio"`
	Rejected       int     `json:"rejected"`
	Rows           int     `json:"rows"`
}

type fileError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// WriteSummary writes the batch summary JSON, with the code counts of
// the file errors only (Write counts the records' too).
func WriteSummary(w io.Writer, b enrollsftp.Batch) error {
	counts := map[string]int{}
	for _, e := range b.FileErrors {
		counts[string(e.Code)]++
	}
	return writeSummary(w, b, counts)
}

func writeSummary(w io.Writer, b enrollsftp.Batch, counts map[string]int) error {
	s := summary{BatchID: b.ID, Source: b.Source, File: b.File, Type: string(b.Type), SHA256: b.SHA256,
		Size: b.Size, Rows: b.Rows, Accepted: b.Accepted, Rejected: b.Rejected, Duplicate: b.Duplicate,
		PendingKYC: b.PendingKYC, Status: b.Status, ReceivedAt: b.ReceivedAt, ProcessedAt: b.ProcessedAt,
		FileErrors: []fileError{}, Layout: b.Layout, ErrorCodes: counts, DryRun: b.DryRun,
		EarlierBatchID: b.EarlierBatchID}
	for _, e := range b.FileErrors {
		s.FileErrors = append(s.FileErrors, fileError{Code: string(e.Code), Message: e.Message})
	}
	if b.Status == enrollsftp.BatchHeld {
		s.Hold = &hold{Ratio: b.RejectRatio(), MaxRejectRatio: b.MaxRejectRatio, Rejected: b.Rejected, Rows: b.Rows}
	}
	if b.DryRun {
		// Nothing was applied and the ledger keeps no such batch: no id
		// an operator would look for in vain, no status that says applied.
		s.BatchID, s.Status, s.WouldBe = "", enrollsftp.BatchDryRun, b.Status
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// safe readies cells for a CSV a person may open in a spreadsheet: no
// cell may start a formula, and none may show an SSN. Cells are masked
// where they are stored (enroll); masking again here is idempotent and
// cheap (most cells cannot hold nine digits), and guards a ledger written
// before a spelling was known to the mask.
func safe(cells []string) []string {
	for i, c := range cells {
		cells[i] = enrollsftp.NeutralizeCell(enrollsftp.ScrubSSN(c))
	}
	return cells
}

// writeAtomic writes path through a temporary file in the same folder and
// a rename, so a reader never sees a half-written output. Every output is
// 0600: the error file gives back names and addresses, and an ack is no
// one else's business either.
func writeAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this is a no-op
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("export: write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("export: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("export: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
