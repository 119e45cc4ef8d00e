// Package pipeline runs one file through the flow: ingest reads it,
// validate checks each row, enroll applies the batch, export writes the
// outputs. The commands (process, and later run and rerun) share it.
package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/export"
	"enrollsftp/ingest"
	"enrollsftp/internal/atrest"
	"enrollsftp/internal/failpoint"
	"enrollsftp/schemas"
	"enrollsftp/validate"
)

// Options describe one file to process.
type Options struct {
	Path           string // the local (staged) file
	Name           string // the name outputs are derived from; default: base of Path
	Source         string
	Type           enrollsftp.FileType
	Layout         string // default "<type>.v1"
	LayoutDir      string // operator layouts that override the embedded ones
	OutDir         string
	DryRun         bool
	MaxRejectRatio float64
	Employers      []string // nil: any employer
	ReceivedAt     time.Time
	RerunOf        string    // the batch this file is reprocessed for
	Progress       *Progress // when set, how a long file's progress is shown
	Beat           func()    // when set, called for every row: a sign of life
	MaxFileSize    int64     // larger files are rejected FILE_TOO_LARGE unread; 0: no limit
	MaxLineLength  int       // longer physical lines reject the file LINE_TOO_LONG; 0: the default
	// SHA256 and Size, when set, are the received bytes' (of a file too
	// large to keep, when Path is empty; of an encrypted file whose
	// plaintext Path is).
	SHA256 string
	Size   int64
	// StagedSHA256 is Path's hash when it is not SHA256 (a decrypted file).
	StagedSHA256 string
	Encrypted    bool // received as OpenPGP
	// FileErrors reject the file unread (an encrypted file that could not
	// be decrypted or whose signature failed).
	FileErrors enrollsftp.Errors

	// Operator is who asked for a rerun, and why: kept in the audit trail.
	Operator enroll.Actor
}

// alreadyProcessed is the answer to a file whose bytes batch prior
// applied: REJECTED with FILE_ALREADY_PROCESSED, no batch id of its own.
func alreadyProcessed(source, name string, typ enrollsftp.FileType, sum string, size int64, at time.Time, prior string) enrollsftp.Batch {
	stamp := at.UTC().Format(time.RFC3339)
	return enrollsftp.Batch{Source: source, File: name, Type: typ, SHA256: sum, Size: size,
		Status: enrollsftp.BatchRejected, ReceivedAt: stamp, ProcessedAt: stamp, EarlierBatchID: prior,
		FileErrors: enrollsftp.Errors{{Code: enrollsftp.FileAlreadyProcessed,
			Message: fmt.Sprintf("these bytes were already applied as batch %s; nothing was applied again", prior)}}}
}

// Result is a processed file.
type Result struct {
	Batch enrollsftp.Batch
	Files export.Files
}

// ProcessFile processes one local file. log is the caller's, carrying the
// file's name and source (when it has one: a local file has none) as
// "file" and "source"; ProcessFile adds the batch id. Adding them here as
// well would repeat the keys in every line, which JSON readers take
// differently (the first or the last value). It returns an error wrapping
// enroll.ErrAlreadyProcessed, without touching anything, for bytes already
// processed. Any other failure before the commit leaves nothing applied and
// is recorded as a FAILED batch, which `rerun` can retry from o.Path.
func ProcessFile(ctx context.Context, l *enroll.Ledger, log zerolog.Logger, o Options) (Result, error) {
	if o.Name == "" {
		o.Name = filepath.Base(o.Path)
	}
	if o.Layout == "" {
		o.Layout = string(o.Type) + ".v1"
	}
	sum, size := o.SHA256, o.Size
	if sum == "" {
		var err error
		if sum, size, err = hashStaged(StagingKey(l), o.Path); err != nil {
			return Result{}, err
		}
	}
	file := enroll.File{BatchID: enroll.NewID(), RerunOf: o.RerunOf, Source: o.Source, Name: o.Name,
		Type: o.Type, Layout: o.Layout, SHA256: sum, Size: size, ReceivedAt: o.ReceivedAt, StagedPath: o.Path,
		StagedSHA256: o.StagedSHA256, Encrypted: o.Encrypted, FileErrors: o.FileErrors, MaxRejectRatio: o.MaxRejectRatio, Employers: o.Employers, DryRun: o.DryRun,
		Operator: o.Operator}
	if !o.DryRun { // a dry run records no batch: no id to look for
		log = log.With().Str("batch_id", file.BatchID).Logger()
	}
	if prior, err := l.AlreadyProcessed(ctx, sum); err != nil {
		return Result{}, err
	} else if prior != "" && prior != o.RerunOf {
		err := fmt.Errorf("%w: %s has the same bytes as batch %s", enroll.ErrAlreadyProcessed, o.Name, prior)
		if o.DryRun {
			return Result{}, err
		}
		// Answered like any file, though the ledger keeps no batch of it;
		// but an answer of this name already in the folder (the applied
		// batch's own, in the operator's out folder) stays: `ack ID` would
		// have to rebuild it.
		b := alreadyProcessed(o.Source, o.Name, o.Type, sum, size, o.ReceivedAt, prior)
		files, werr := export.WriteAnswer(o.OutDir, b, true)
		if werr != nil {
			return Result{}, errors.Join(err, werr)
		}
		if files.Summary == "" {
			return Result{}, err
		}
		if o.Source == "" && o.RerunOf == "" {
			// A local file received and answered: on the record (the
			// compliance report lists every file received). Its answer is
			// in OutDir, delivered nowhere. A source's file is recorded by
			// the run that delivers its answer; a rerun receives nothing.
			if _, rerr := l.RecordRefusal(ctx, enroll.File{Name: o.Name, Type: o.Type, SHA256: sum, Size: size,
				ReceivedAt: o.ReceivedAt}, prior, o.ReceivedAt); rerr != nil {
				return Result{Batch: b, Files: files}, errors.Join(err, rerr)
			}
		}
		return Result{Batch: b, Files: files}, err
	}
	if short := enrollsftp.ShortName(o.Name); len(file.FileErrors) == 0 && short != o.Name {
		file.FileErrors = enrollsftp.Errors{{Code: enrollsftp.FileNameTooLong,
			Message: fmt.Sprintf("the file name is %d bytes; names up to %d bytes can be answered: answered as %s; rename the file and send it again",
				len(o.Name), enrollsftp.MaxFileName, export.BaseName(short))}}
	}
	if len(file.FileErrors) == 0 && o.MaxFileSize > 0 && size > o.MaxFileSize {
		file.FileErrors = enrollsftp.Errors{{Code: enrollsftp.FileTooLarge,
			Message: fmt.Sprintf("the file is %d bytes; the limit is %d", size, o.MaxFileSize)}}
	}
	log.Info().Str("sha256", sum).Int64("size", size).Msg("processing file")
	var res Result
	var err error
	res.Batch, err = apply(ctx, l, log, o, &file, func(v enroll.View) error {
		res.Files, err = export.Write(o.OutDir, v.Batch, export.Records(v.Each))
		return err
	})
	if errors.Is(err, enroll.ErrAlreadyProcessed) {
		return res, err
	}
	if errors.Is(err, enroll.ErrLedgerBusy) {
		// Another process's write outlasted the wait: nothing began, and
		// recording a FAILED batch would wait for the same writer again.
		// The staged copy stays: it is named by its bytes, so the next try
		// (or a concurrent one of the same bytes, whose batch names it)
		// uses the same file.
		log.Error().Err(err).Msg("file not processed: the ledger is busy")
		return res, err
	}
	if err != nil {
		if !o.DryRun {
			// The cause may be a cancelled context: record the failure anyway.
			if _, rerr := l.RecordFailure(context.WithoutCancel(ctx), file, err); rerr != nil {
				log.Error().Err(rerr).Msg("could not record the failed batch")
			}
		}
		log.Error().Err(err).Msg("file failed: nothing applied")
		return res, err
	}
	if !o.DryRun {
		failpoint.Hit(failpoint.AfterCommit)
		err = l.View(ctx, res.Batch.ID, func(v enroll.View) error {
			res.Files, err = export.Write(o.OutDir, v.Batch, export.Records(v.Each))
			return err
		})
		if err != nil {
			return res, fmt.Errorf("pipeline: batch %s committed, outputs not written (regenerate with ack): %w", res.Batch.ID, err)
		}
	}
	ev := log.Info().Str("status", res.Batch.Status)
	if o.DryRun { // as its ack says: nothing was applied
		ev = log.Info().Str("status", enrollsftp.BatchDryRun).Str("would_be", res.Batch.Status)
	}
	ev.Int("rows", res.Batch.Rows).
		Int("accepted", res.Batch.Accepted).Int("rejected", res.Batch.Rejected).Int("duplicate", res.Batch.Duplicate).
		Int("pending_kyc", res.Batch.PendingKYC).Bool("dry_run", o.DryRun).Msg("file processed")
	return res, nil
}

// apply reads, validates and applies the file in one ledger transaction.
// emit writes the outputs of a dry run from inside its transaction.
func apply(ctx context.Context, l *enroll.Ledger, log zerolog.Logger, o Options, file *enroll.File, emit func(enroll.View) error) (enrollsftp.Batch, error) {
	if !o.DryRun {
		emit = nil
	}
	if len(file.FileErrors) > 0 {
		return l.Process(ctx, *file, nil, emit) // rejected unread
	}
	layout, err := schemas.Load(o.Layout, o.LayoutDir)
	if err != nil {
		return enrollsftp.Batch{}, err
	}
	if layout.Type != string(o.Type) {
		return enrollsftp.Batch{}, fmt.Errorf("pipeline: layout %s is for %s files, not %s", layout.Name, layout.Type, o.Type)
	}
	file.Layout = layout.Name
	f, err := os.Open(o.Path)
	if err != nil {
		return enrollsftp.Batch{}, fmt.Errorf("pipeline: %w", err)
	}
	defer f.Close()
	var in io.Reader = f
	var m *meter
	if o.Progress != nil {
		// Progress is the share of the staged file's bytes read: counted
		// under the decryption, where the total is the file's size.
		st, err := f.Stat()
		if err != nil {
			return enrollsftp.Batch{}, fmt.Errorf("pipeline: %w", err)
		}
		m = &meter{total: st.Size(), start: time.Now()}
		in = countingReader{f, &m.bytes}
	}
	// Staged copies are encrypted at rest: decrypted as they are read.
	plain, err := StagingKey(l).Decrypt(in)
	if err != nil {
		return enrollsftp.Batch{}, fmt.Errorf("pipeline: %s: %w", o.Path, err)
	}
	var rows enroll.Rows
	lim := ingest.MaxLineLength(ingest.DefaultMaxLineLength)
	if o.MaxLineLength > 0 {
		lim = ingest.MaxLineLength(o.MaxLineLength)
	}
	if o.Type == enrollsftp.Census {
		rows, err = censusRows(plain, layout, file, l.Now(), lim)
	} else {
		rows, err = electionRows(plain, layout, file, lim)
	}
	if err != nil {
		return enrollsftp.Batch{}, err
	}
	if len(file.FileErrors) > 0 {
		hintOtherType(file, o)
	}
	if rows != nil {
		// The keyed hashes of each record are made on the read-ahead
		// goroutine too, off the ledger's.
		read := rows
		rows = func() (enroll.Record, error) {
			r, err := read()
			if err == nil {
				l.Prepare(&r)
			}
			return r, err
		}
		if m != nil {
			rows = m.countRows(rows)
		}
		var stop func()
		rows, stop = readAhead(rows)
		defer stop()
		if m != nil {
			defer o.Progress.show(m, log, o.Name)()
		}
	}
	if o.Beat != nil && rows != nil {
		next := rows
		rows = func() (enroll.Record, error) { o.Beat(); return next() }
	}
	return l.Process(ctx, *file, rows, emit)
}

// censusRows opens a census reader; a header problem becomes the file's
// file-level errors rather than a failure.
func censusRows(r io.Reader, layout *schemas.Layout, file *enroll.File, now time.Time, opts ...ingest.Option) (enroll.Rows, error) {
	rd, err := ingest.NewReader[ingest.CensusRow](r, layout, opts...)
	if rd != nil {
		file.Header, file.Mask = rd.Header(), rd.Mask
	}
	if done, err := headerResult(err, file); done {
		return nil, err
	}
	return func() (enroll.Record, error) {
		row, err := rd.Next()
		if err != nil {
			return enroll.Record{}, err
		}
		failpoint.Hit(failpoint.MidParse)
		c, errs := validate.CensusRow(row.Values, layout, now)
		rec := enroll.Record{Line: row.Line, RecordID: c.RecordID, EmployerID: strings.TrimSpace(row.Values.EmployerID),
			EmployeeID: strings.TrimSpace(row.Values.EmployeeID), Action: "UPSERT",
			Errors: append(row.Problems, errs...), ContentHash: validate.CensusFingerprint(row.Values),
			Raw: row.Raw}
		if strings.EqualFold(strings.TrimSpace(row.Values.EmploymentStatus), validate.StatusTerminated) {
			rec.Action = "TERMINATE"
		}
		if len(rec.Errors) == 0 {
			rec.Census, rec.ContentHash = &c, c.Fingerprint()
		}
		return rec, nil
	}, nil
}

func electionRows(r io.Reader, layout *schemas.Layout, file *enroll.File, opts ...ingest.Option) (enroll.Rows, error) {
	rd, err := ingest.NewReader[ingest.ElectionRow](r, layout, opts...)
	if rd != nil {
		file.Header, file.Mask = rd.Header(), rd.Mask
	}
	if done, err := headerResult(err, file); done {
		return nil, err
	}
	return func() (enroll.Record, error) {
		row, err := rd.Next()
		if err != nil {
			return enroll.Record{}, err
		}
		failpoint.Hit(failpoint.MidParse)
		e, errs := validate.ElectionRow(row.Values, layout)
		rec := enroll.Record{Line: row.Line, RecordID: e.RecordID, EmployerID: strings.TrimSpace(row.Values.EmployerID),
			EmployeeID: strings.TrimSpace(row.Values.EmployeeID), Action: strings.ToUpper(strings.TrimSpace(row.Values.Action)),
			Errors: append(row.Problems, errs...), ContentHash: validate.ElectionFingerprint(row.Values),
			Raw: row.Raw}
		if len(rec.Errors) == 0 {
			rec.Election, rec.ContentHash = &e, e.Fingerprint()
		}
		return rec, nil
	}, nil
}

// hintOtherType adds to a header rejection, when the header fits the other
// file type's default layout, that the file looks like one of those: the
// usual cause is a file sent or processed with the wrong type.
func hintOtherType(file *enroll.File, o Options) {
	other := enrollsftp.Elections
	if o.Type == enrollsftp.Elections {
		other = enrollsftp.Census
	}
	layout, err := schemas.Load(string(other)+".v1", o.LayoutDir)
	if err != nil || !layout.Fits(file.Header) {
		return
	}
	for i, e := range file.FileErrors {
		switch e.Code {
		case enrollsftp.HeaderMissingColumn, enrollsftp.HeaderUnknownColumn, enrollsftp.HeaderDuplicateColumn:
			hinted := *e
			hinted.Message = fmt.Sprintf("this looks like %s file (its header fits layout %s), not %s file: %s",
				article(other), layout.Name, article(o.Type), e.Message)
			file.FileErrors[i] = &hinted
			return // once, on the first header error
		}
	}
}

func article(t enrollsftp.FileType) string {
	if t == enrollsftp.Elections {
		return "an elections"
	}
	return "a census"
}

// headerResult sorts a reader's opening error: a file-level rejection is
// recorded on the file (done, no error: the batch is REJECTED with rows
// that yield nothing), anything else is a failure.
func headerResult(err error, file *enroll.File) (done bool, _ error) {
	if err == nil {
		return false, nil
	}
	var fe *enrollsftp.FileError
	if errors.As(err, &fe) {
		file.FileErrors = fe.Errors
		return true, nil
	}
	return true, err
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("pipeline: %w", err)
	}
	defer f.Close()
	return hashReader(f, path)
}

// hashReader is the SHA-256 and size of what r holds (the file at path).
func hashReader(r io.Reader, path string) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, fmt.Errorf("pipeline: read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Stage copies a local file into dir (mode 0600, encrypted with key) under
// a name that cannot clash, so a later rerun reads exactly the bytes that
// were processed. The operator's file is only read.
func Stage(path, dir string, key *atrest.Key) (string, error) {
	sum, _, err := hashFile(path)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("pipeline: staging: %w", err)
	}
	dst := filepath.Join(dir, sum[:16]+"-"+enrollsftp.ShortName(filepath.Base(path)))
	if _, err := os.Stat(dst); err == nil {
		return dst, nil // the same bytes are staged already
	}
	src, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("pipeline: staging: %w", err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(dir, ".stage-*")
	if err != nil {
		return "", fmt.Errorf("pipeline: staging: %w", err)
	}
	defer os.Remove(tmp.Name())
	w, err := key.Encrypt(tmp)
	if err == nil {
		_, err = io.Copy(w, src)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		tmp.Close()
		return "", fmt.Errorf("pipeline: staging: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("pipeline: staging: %w", err)
	}
	return dst, os.Rename(tmp.Name(), dst)
}
