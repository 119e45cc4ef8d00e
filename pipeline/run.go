package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/export"
	"enrollsftp/ingest"
	"enrollsftp/internal/failpoint"
	"enrollsftp/internal/pgp"
)

// Source is one SFTP source of the config, resolved.
type Source struct {
	Name     string
	Endpoint ingest.Endpoint
	// Embedded, when set, is a seed folder served in-process instead of
	// dialling Endpoint (the demo source).
	Embedded       string
	Inbound        string
	Outbound       string
	Archive        string
	Patterns       map[enrollsftp.FileType]string
	Layouts        map[enrollsftp.FileType]string
	MinFileAge     time.Duration
	MaxRejectRatio float64
	Employers      []string // nil: any employer
	MaxFileSize    int64    // 0: no limit
	MaxLineLength  int      // 0: the default
	// PGP are the source's OpenPGP keys: inbound .pgp/.gpg/.asc files are
	// decrypted with them, outputs encrypted to the vendor. nil: none.
	PGP *pgp.Keys
}

// RunOptions are shared by every source of a run.
type RunOptions struct {
	Staging   string // local staging root; per source: Staging/NAME
	LayoutDir string
	Now       func() time.Time
}

// FileReport is what happened to one remote file.
type FileReport struct {
	Source    string
	File      string
	Batch     enrollsftp.Batch // zero when the file was not processed
	Note      string           // e.g. "already processed", "redelivered"
	Delivered []string         // where the outputs went (local paths for an embedded source)
}

// RunSource makes one pass over a source: deliver what earlier runs
// committed but could not deliver, then take every stable new file in
// order: download, process, deliver, archive. It stops at the first
// failure; what was committed before it stays committed and is delivered
// by the next run.
func RunSource(ctx context.Context, l *enroll.Ledger, log zerolog.Logger, src Source, opts RunOptions) ([]FileReport, error) {
	r, closeFn, err := connect(ctx, l, log, src, opts)
	if err != nil {
		return nil, &StepError{"connect", err}
	}
	defer closeFn()
	// A crash mid-download (or mid-decrypt, mid-seal) leaves a temporary
	// file; the source's lock says no other process is writing now, so any
	// left is stale. Some hold unverified plaintext: they go.
	var stale []string
	for _, pat := range []string{".download-*", ".decrypt-*", filepath.Join("out", ".seal-*")} {
		m, _ := filepath.Glob(filepath.Join(r.stage, pat))
		stale = append(stale, m...)
	}
	if len(stale) > 0 {
		for _, f := range stale {
			os.Remove(f)
		}
		r.log.Info().Int("files", len(stale)).Msg("removed partial downloads of an interrupted run")
	}
	if err := r.redeliver(); err != nil {
		return r.reports, &StepError{"deliver", err}
	}
	listing, err := r.c.Discover(r.inbound, src.Patterns, src.MinFileAge, opts.Now(), src.PGP.CanDecrypt())
	if err != nil {
		return r.reports, &StepError{"list", err}
	}
	for _, ref := range listing.Refused {
		r.log.Warn().Str("file", ref.Name).Str("reason", ref.Reason).Msg("remote file refused, not followed")
	}
	for _, w := range listing.Waiting {
		r.log.Info().Str("file", w.Name).Time("modified", w.ModTime).Msg("file changed recently, waiting for min_file_age")
	}
	for _, f := range listing.Ready {
		if err := r.take(f); err != nil {
			return r.reports, err
		}
	}
	return r.reports, nil
}

// sourceRun is one pass over one source.
type sourceRun struct {
	ctx                        context.Context
	l                          *enroll.Ledger
	log                        zerolog.Logger
	src                        Source
	opts                       RunOptions
	c                          *ingest.Client
	stage                      string
	inbound, outbound, archive string
	reports                    []FileReport
	shown                      func(string) string // a remote path as the operator can find it
}

// take downloads, processes and delivers one file.
func (r *sourceRun) take(f ingest.RemoteFile) error {
	log := r.log.With().Str("file", f.Name).Logger()
	var staged ingest.Staged
	var err error
	if r.src.MaxFileSize > 0 && f.Size > r.src.MaxFileSize {
		// Too large to stage: hashed in passing, rejected, acked, archived.
		staged.SHA256, staged.Size, err = r.c.Hash(r.ctx, f)
	} else {
		start := time.Now()
		var decode ingest.Decoder
		if f.Encrypted {
			decode = r.src.PGP.Decrypt // nil keys: PGP_DECRYPT_FAILED, the source has no key
		}
		staged, err = r.c.DownloadDecoded(r.ctx, f, r.stage, decode)
		if err == nil {
			log.Info().Int64("bytes", staged.Size).Bool("decrypted", staged.PlainSHA256 != "").
				Dur("took", time.Since(start)).Msg("downloaded")
		}
	}
	if err != nil {
		return &StepError{"download", err} // a failed download is never processed
	}
	if prior, err := r.l.AlreadyProcessed(r.ctx, staged.SHA256); err != nil {
		return err
	} else if prior != "" {
		if staged.Path != "" {
			os.Remove(staged.Path)
		}
		dst, err := export.Archive(r.c.SFTP, f.Path, r.archive, r.opts.Now())
		if err != nil {
			return &StepError{"archive", err}
		}
		log.Info().Str("batch_id", prior).Str("archived", dst).Msg("same bytes already processed: archived without processing")
		r.reports = append(r.reports, FileReport{Source: r.src.Name, File: f.Name, Note: "already processed as batch " + prior})
		return nil
	}
	o := Options{Path: staged.Path, Name: f.Name, Source: r.src.Name,
		Type: f.Type, Layout: r.src.Layouts[f.Type], LayoutDir: r.opts.LayoutDir,
		OutDir: filepath.Join(r.stage, "out"), MaxRejectRatio: r.src.MaxRejectRatio,
		Employers: r.src.Employers, ReceivedAt: r.opts.Now(), MaxFileSize: r.src.MaxFileSize,
		MaxLineLength: r.src.MaxLineLength, SHA256: staged.SHA256, Size: staged.Size,
		StagedSHA256: staged.PlainSHA256, Encrypted: f.Encrypted}
	if staged.Fault != nil {
		log.Warn().Str("code", string(staged.Fault.Code)).Str("reason", staged.Fault.Message).Msg("encrypted file refused: rejected, nothing applied")
		o.FileErrors = enrollsftp.Errors{staged.Fault}
	}
	res, err := ProcessFile(r.ctx, r.l, log, o)
	if errors.Is(err, enroll.ErrAlreadyProcessed) {
		return nil // another process took it between our check and our commit
	}
	if err != nil {
		return &StepError{"process", err}
	}
	rep := FileReport{Source: r.src.Name, File: f.Name, Batch: res.Batch}
	rep.Delivered, err = r.deliver(res.Batch, res.Files, f.Path)
	r.reports = append(r.reports, rep)
	if err != nil {
		return &StepError{"deliver", err}
	}
	return nil
}

// StepError says which step of a pass over a source failed: connect,
// list, download, process, deliver or archive.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// Step names the step an error of RunSource came from ("other" if none).
func Step(err error) string {
	var se *StepError
	if errors.As(err, &se) {
		return se.Step
	}
	return "other"
}

// deliver uploads a committed batch's outputs, archives its input (when it
// is still in inbound) and records the delivery.
func (r *sourceRun) deliver(b enrollsftp.Batch, files export.Files, input string) ([]string, error) {
	var sent []string
	encrypt := r.src.PGP.Encrypts()
	if encrypt {
		// The vendor's key was usable at start-up; a daemon runs for months.
		if err := r.src.PGP.CheckEncrypt(); err != nil {
			// The vendor still learns what happened to the file: the ack and
			// summary hold no full SSN or DOB. The error file holds the
			// rejected rows' names and addresses: it waits for a key.
			r.log.Error().Err(err).Str("batch_id", b.ID).
				Msg("encryption to the vendor failed: the ack and summary go back unencrypted, the error file is withheld (send it with `ack ID` once encrypt_to is fixed)")
			encrypt, files.Errors = false, ""
		}
	}
	for _, p := range []string{files.Ack, files.Summary, files.Errors} {
		if p == "" {
			continue
		}
		if encrypt {
			sealed, err := export.Seal(p, r.src.PGP.Encrypt)
			if err != nil { // the key is good: a local failure; the next run delivers again
				return sent, fmt.Errorf("pipeline: deliver batch %s (committed; the next run delivers it): %w", b.ID, err)
			}
			p = sealed
			defer os.Remove(sealed)
		}
		dst, err := export.Upload(r.c.SFTP, p, r.outbound)
		if err != nil {
			return sent, fmt.Errorf("pipeline: deliver batch %s (committed; the next run delivers it): %w", b.ID, err)
		}
		sent = append(sent, r.shown(dst))
	}
	if input != "" {
		failpoint.Hit(failpoint.BeforeArchive)
		if _, err := r.c.SFTP.Stat(input); err == nil {
			if _, err := export.Archive(r.c.SFTP, input, r.archive, r.opts.Now()); err != nil {
				return sent, err
			}
		}
	}
	if err := r.l.MarkDelivered(r.ctx, b.ID, r.opts.Now()); err != nil {
		return sent, err
	}
	r.log.Info().Str("batch_id", b.ID).Str("file", b.File).Strs("outputs", sent).Msg("outputs delivered")
	return sent, nil
}

// redeliver sends the outputs of batches an earlier run committed but could
// not deliver, rebuilt from the ledger byte for byte.
func (r *sourceRun) redeliver() error {
	pending, err := r.l.Undelivered(r.ctx, r.src.Name)
	if err != nil {
		return err
	}
	for _, b := range pending {
		files, err := r.rebuild(b)
		if err != nil {
			return err
		}
		// The input is not archived here: a file of the same name may be a new
		// one. Discovery finds the input, sees its bytes were processed, and
		// archives it then.
		sent, err := r.deliver(b, files, "")
		r.reports = append(r.reports, FileReport{Source: r.src.Name, File: b.File, Batch: b, Note: "redelivered", Delivered: sent})
		if err != nil {
			return err
		}
	}
	return nil
}

// rebuild writes a batch's outputs from the ledger into the local outbox.
func (r *sourceRun) rebuild(b enrollsftp.Batch) (export.Files, error) {
	var files export.Files
	err := r.l.View(r.ctx, b.ID, func(v enroll.View) error {
		var err error
		files, err = export.Write(filepath.Join(r.stage, "out"), v.Batch, export.Records(v.Each))
		return err
	})
	return files, err
}
