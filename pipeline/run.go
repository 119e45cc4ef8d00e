package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
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
	// Progress, when set, is called as a pass makes progress (bytes from
	// the server, rows processed): the daemon's sign of life.
	Progress func()
	// FileProgress, when set, shows each file's progress as it is read.
	FileProgress *Progress
}

// FileReport is what happened to one remote file.
type FileReport struct {
	Source string
	File   string
	Batch  enrollsftp.Batch // zero when the file was not processed
	Note   string           // e.g. "already processed", "redelivered"
	// Status is why a file got no batch this run (Batch.ID is empty):
	// StatusSkipped, StatusRefused or StatusDeferred.
	Status    string
	Delivered []string // where the outputs went (local paths for an embedded source)
}

// RunSource makes one pass over a source: deliver what earlier runs
// committed but could not deliver, then take every stable new file in
// order: download, process, deliver, archive. One file that fails does not
// stop the files behind it: a failed download is recorded (a FAILED batch)
// and retried by later runs with backoff, a connection cut under it is
// dialled again, and the pass goes on; its error then says how many files
// failed. Only a source that cannot be reached or listed stops the pass.
func RunSource(ctx context.Context, l *enroll.Ledger, log zerolog.Logger, src Source, opts RunOptions) ([]FileReport, error) {
	if opts.Progress != nil {
		ctx = enroll.WithWaitBeat(ctx, opts.Progress) // waiting on the ledger is progress too
	}
	r, closeFn, err := connect(ctx, l, log, src, opts)
	if err != nil {
		return nil, &StepError{"connect", err}
	}
	defer closeFn()
	r.removeStale()
	var failed []error
	if err := r.redeliver(); err != nil {
		failed = append(failed, &StepError{"deliver", err})
		if r.c.Broken() {
			if err := r.redial(); err != nil {
				return r.reports, &StepError{"connect", err}
			}
		}
	}
	listing, err := r.c.Discover(r.inbound, src.Patterns, src.MinFileAge, opts.Now(), src.PGP.CanDecrypt())
	if err != nil {
		return r.reports, &StepError{"list", r.c.Explain(err)}
	}
	for _, ref := range listing.Refused {
		r.log.Warn().Str("file", ref.Name).Str("reason", ref.Reason).Msg("remote file refused, not followed")
	}
	for _, w := range listing.Waiting {
		r.log.Info().Str("file", w.Name).Time("modified", w.ModTime).Msg("file changed recently, waiting for min_file_age")
	}
	// A drop whose census did not go through holds back its elections,
	// which may name people only that census brings; other drops go on.
	held := map[string]string{}
	suspect := false // something failed: the connection may be gone
	for _, f := range ByDrop(listing.Ready) {
		if err := ctx.Err(); err != nil {
			return r.reports, err
		}
		log := r.log.With().Str("file", f.Name).Logger()
		drop := Drop(f.Name)
		if census, ok := held[drop]; ok && f.Type == enrollsftp.Elections {
			log.Warn().Str("census", census).Msg("elections held back: the census of the same drop did not go through; taken on a later run")
			r.reports = append(r.reports, FileReport{Source: src.Name, File: f.Name, Status: StatusDeferred,
				Note: "waiting for " + census})
			continue
		}
		if until, n, ok := r.backingOff(f); ok {
			log.Warn().Int("failures", n).Time("retry_after", until).Msg("download failed before: not retried yet")
			r.reports = append(r.reports, FileReport{Source: src.Name, File: f.Name, Status: StatusDeferred,
				Note: fmt.Sprintf("download failed %d times; retried after %s", n, until.UTC().Format(time.RFC3339))})
			if f.Type == enrollsftp.Census {
				held[drop] = f.Name
			}
			continue
		}
		if suspect && r.c.Broken() {
			if err := r.redial(); err != nil {
				return r.reports, &StepError{"connect", err}
			}
		}
		err := r.take(f)
		if suspect = err != nil; !suspect {
			continue
		}
		if cerr := ctx.Err(); cerr != nil {
			return r.reports, err
		}
		if f.Type == enrollsftp.Census {
			held[drop] = f.Name
		}
		var refused *ingest.RefusedError
		switch {
		case errors.As(err, new(*ingest.StagingError)):
			// Our disk, not the file: every file behind it would fail the
			// same way, and none of them should be blamed for it.
			return r.reports, &StepError{"stage", err}
		case errors.As(err, &refused), errors.Is(err, ingest.ErrTooLarge):
			// Not the file that was listed: left alone, taken again once it
			// is a stable regular file (and then too large, if it is).
			log.Warn().Err(err).Msg("file refused at download: not processed, not archived")
			r.reports = append(r.reports, FileReport{Source: src.Name, File: f.Name, Status: StatusRefused, Note: err.Error()})
		case Step(err) == "download":
			b, rerr := r.l.RecordFailure(context.WithoutCancel(ctx), enroll.File{Source: src.Name, Name: f.Name,
				Type: f.Type, Size: f.Size, ReceivedAt: r.opts.Now()}, err)
			if rerr != nil {
				return r.reports, rerr
			}
			log.Error().Err(err).Str("batch_id", b.ID).Msg("download failed: recorded FAILED, retried by a later run; going on with the next file")
			r.reports = append(r.reports, FileReport{Source: src.Name, File: f.Name, Batch: b})
			failed = append(failed, err)
		default:
			log.Error().Err(err).Msg("file failed; going on with the next file")
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return r.reports, &StepError{Step(failed[0]), fmt.Errorf("%d file(s) failed, the others were taken; first: %w", len(failed), failed[0])}
	}
	return r.reports, nil
}

// Outcomes of a file that got no batch this run.
const (
	StatusSkipped  = "SKIPPED"  // its bytes were processed before: archived
	StatusRefused  = "REFUSED"  // not the file listed (a symlink or FIFO swapped in, changed, grown past the limit)
	StatusDeferred = "DEFERRED" // backing off after failed downloads, or waiting for its drop's census
)

// removeStale deletes what a killed run left half-written. The source's
// lock says no other process is writing now, so any left is stale. Some
// hold unverified plaintext or PII: they go.
func (r *sourceRun) removeStale() {
	var stale []string
	for _, pat := range []string{".download-*", ".decrypt-*", filepath.Join("out", ".seal-*"), filepath.Join("out", ".*.tmp")} {
		m, _ := filepath.Glob(filepath.Join(r.stage, pat))
		stale = append(stale, m...)
	}
	if len(stale) > 0 {
		for _, f := range stale {
			os.Remove(f)
		}
		r.log.Info().Int("files", len(stale)).Msg("removed partial files of an interrupted run")
	}
}

// downloadBackoff is the wait after the second failed download of a file
// in a row, doubled after each further one up to maxDownloadBackoff. The
// first failure waits for nothing: it may have been the connection's (a
// server restarted), not the file's.
const (
	downloadBackoff    = 5 * time.Minute
	maxDownloadBackoff = 6 * time.Hour
)

// backingOff reports whether f's earlier downloads failed recently enough
// that it waits: until when, after how many failures. A file that changed
// size since is tried at once.
func (r *sourceRun) backingOff(f ingest.RemoteFile) (time.Time, int, bool) {
	n, last, size, err := r.l.DownloadFailures(r.ctx, r.src.Name, f.Name)
	if err != nil || n < 2 || size != f.Size {
		return time.Time{}, n, false
	}
	wait := maxDownloadBackoff
	if n < 9 {
		wait = min(downloadBackoff<<(n-2), maxDownloadBackoff)
	}
	until := last.Add(wait)
	return until, n, r.opts.Now().Before(until)
}

// ByDrop orders files for processing: by drop (the date stamp in the name,
// oldest first), then census before elections, then by name. Census files
// go first within a drop because its elections may name people only that
// census brings; across drops that order is not needed, so an old census
// that cannot be taken does not hold back today's elections.
func ByDrop(files []ingest.RemoteFile) []ingest.RemoteFile {
	out := slices.Clone(files)
	slices.SortStableFunc(out, func(a, b ingest.RemoteFile) int {
		if c := strings.Compare(Drop(a.Name), Drop(b.Name)); c != 0 {
			return c
		}
		if a.Type != b.Type {
			if a.Type == enrollsftp.Census {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// dateStamp finds a date in a file name: 20261115, 2026-11-15, 2026_11_15.
var dateStamp = regexp.MustCompile(`(?:^|[^0-9])((?:19|20)[0-9]{2})[-_]?(0[1-9]|1[0-2])[-_]?(0[1-9]|[12][0-9]|3[01])(?:[^0-9]|$)`)

// Drop is the date stamp of a file name as YYYYMMDD, or "" when it has
// none (such files are one drop, taken before the dated ones).
func Drop(name string) string {
	m := dateStamp.FindStringSubmatch(name)
	if m == nil {
		return ""
	}
	return m[1] + m[2] + m[3]
}

// redial replaces a connection that was cut (a stalled server, a transfer
// that broke) so the pass can go on with the next file.
func (r *sourceRun) redial() error {
	r.unwatch()
	r.c.Close()
	c, err := ingest.Dial(r.ctx, r.ep, r.log)
	if err != nil {
		r.unwatch = func() bool { return false }
		return err
	}
	r.unwatch = c.AbortOn(r.ctx)
	c.MaxFileSize, c.AtRest = r.src.MaxFileSize, r.c.AtRest
	r.c = c
	r.log.Info().Msg("reconnected after the connection was cut")
	return nil
}

// sourceRun is one pass over one source.
type sourceRun struct {
	ctx                        context.Context
	l                          *enroll.Ledger
	log                        zerolog.Logger
	src                        Source
	opts                       RunOptions
	c                          *ingest.Client
	ep                         ingest.Endpoint // to dial again after a cut
	unwatch                    func() bool     // stops closing c when ctx ends
	stage                      string
	inbound, outbound, archive string
	reports                    []FileReport
	shown                      func(string) string // a remote path as the operator can find it
	// owed: the batches this run found committed but not delivered; their
	// inputs may still be in inbound.
	owed map[string]bool
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
		if staged.Path != "" && !stagedCopyOf(r.ctx, r.l, prior, staged.Path) {
			os.Remove(staged.Path)
		}
		// Earlier failed downloads of it are settled: it came whole.
		if err := r.l.SettleDownloadFailures(r.ctx, r.src.Name, f.Name, prior); err != nil {
			return err
		}
		rep := FileReport{Source: r.src.Name, File: f.Name, Status: StatusSkipped, Note: "already processed as batch " + prior}
		if answer, err := r.resent(f, prior); err != nil {
			return err
		} else if answer {
			// Every file gets an answer: the vendor learns this one was not
			// applied again, and which batch applied its bytes.
			now := r.opts.Now()
			b := alreadyProcessed(r.src.Name, f.Name, f.Type, staged.SHA256, staged.Size, now, prior)
			files, err := export.WriteAnswer(filepath.Join(r.stage, "out"), b, false)
			if err != nil {
				return &StepError{"deliver", err}
			}
			var outputs []enroll.Output
			if rep.Delivered, outputs, err = r.upload(prior, files); err != nil {
				return &StepError{"deliver", err}
			}
			// Every file received is on the record, with its answer. Kept
			// before the input is archived: should the archive fail, the
			// next run answers it again, and that answer is on the record too.
			if _, err := r.l.RecordRefusal(r.ctx, enroll.File{Source: r.src.Name, Name: f.Name, Type: f.Type,
				SHA256: staged.SHA256, Size: staged.Size, ReceivedAt: now}, prior, now, outputs...); err != nil {
				return err
			}
			rep.Note += ", answered " + string(enrollsftp.FileAlreadyProcessed)
		}
		dst, err := export.Archive(r.c.SFTP, f.Path, r.archive, r.opts.Now())
		if err != nil {
			return &StepError{"archive", r.c.Explain(err)}
		}
		log.Info().Str("batch_id", prior).Str("archived", dst).Strs("outputs", rep.Delivered).
			Msg("same bytes already processed: answered FILE_ALREADY_PROCESSED and archived without processing")
		r.reports = append(r.reports, rep)
		return nil
	}
	o := Options{Path: staged.Path, Name: f.Name, Source: r.src.Name,
		Type: f.Type, Layout: r.src.Layouts[f.Type], LayoutDir: r.opts.LayoutDir,
		OutDir: filepath.Join(r.stage, "out"), MaxRejectRatio: r.src.MaxRejectRatio,
		Employers: r.src.Employers, ReceivedAt: r.opts.Now(), MaxFileSize: r.src.MaxFileSize,
		MaxLineLength: r.src.MaxLineLength, SHA256: staged.SHA256, Size: staged.Size,
		StagedSHA256: staged.PlainSHA256, Encrypted: f.Encrypted, Beat: r.opts.Progress, Progress: r.opts.FileProgress}
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

// resent tells a file whose bytes batch prior applied, sent again (under
// any name) and owed an answer, from the very file prior processed, left
// in inbound because its delivery did not finish (the batch was owed a
// delivery when this run began): that one has its answer under its own
// name, and a FILE_ALREADY_PROCESSED ack would overwrite it.
func (r *sourceRun) resent(f ingest.RemoteFile, prior string) (bool, error) {
	if !r.owed[prior] {
		return true, nil
	}
	b, err := r.l.Batch(r.ctx, prior)
	if err != nil {
		return false, err
	}
	return b.Source != r.src.Name || b.File != f.Name, nil
}

// FileLog is log for one file: its name as "file" and, when it came from
// one, its source as "source" (a local file has none: the key is left out,
// not written empty). It is the logger ProcessFile expects.
func FileLog(log zerolog.Logger, source, name string) zerolog.Logger {
	c := log.With()
	if source != "" {
		c = c.Str("source", source)
	}
	return c.Str("file", name).Logger()
}

// StepError says which step of a pass over a source failed: connect,
// list, download, stage (the local staging folder), process, deliver or
// archive.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// Steps are the steps a StepError names, and "other": every value Step
// returns (the daemon exports a series for each before any fails).
var Steps = []string{"connect", "list", "download", "stage", "process", "deliver", "archive", "other"}

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
	sent, outputs, err := r.upload(b.ID, files)
	if err != nil {
		return sent, err
	}
	if files.Errors == "" {
		// An error file of this name from an earlier batch (the same file
		// rejected before, fixed and sent again) would tell the vendor to
		// fix rows that are fine now.
		stale := path.Join(r.outbound, strings.TrimSuffix(path.Base(filepath.ToSlash(files.Ack)), ".ack.csv")+".errors.csv")
		for _, p := range []string{stale, stale + ".pgp"} {
			if err := r.c.SFTP.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				r.log.Warn().Err(r.c.Explain(err)).Str("stale", path.Base(p)).Msg("a stale error file could not be removed from outbound")
			}
		}
	}
	if input != "" {
		failpoint.Hit(failpoint.BeforeArchive)
		if _, err := r.c.SFTP.Stat(input); err == nil {
			if _, err := export.Archive(r.c.SFTP, input, r.archive, r.opts.Now()); err != nil {
				return sent, err
			}
		}
	}
	if err := r.l.MarkDelivered(r.ctx, b.ID, r.opts.Now(), outputs...); err != nil {
		return sent, err
	}
	r.log.Info().Str("batch_id", b.ID).Str("file", b.File).Strs("outputs", sent).Msg("outputs delivered")
	return sent, nil
}

// upload sends outputs to the source's outbound folder, sealed to the
// vendor's key when the source encrypts, and returns what was sent: the
// names as shown, and each sent file's SHA-256 and size for the compliance
// report. id names the batch in errors.
func (r *sourceRun) upload(id string, files export.Files) ([]string, []enroll.Output, error) {
	var sent []string
	var outputs []enroll.Output
	encrypt := r.src.PGP.Encrypts()
	if encrypt {
		// The vendor's key was usable at start-up; a daemon runs for months.
		if err := r.src.PGP.CheckEncrypt(); err != nil {
			// The vendor still learns what happened to the file: the ack and
			// summary hold no full SSN or DOB. The error file holds the
			// rejected rows' names and addresses: it waits for a key.
			r.log.Error().Err(err).Str("batch_id", id).
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
				return sent, outputs, fmt.Errorf("pipeline: deliver batch %s (committed; the next run delivers it): %w", id, err)
			}
			p = sealed
			defer os.Remove(sealed)
		}
		sum, size, err := hashFile(p) // what is sent, for the compliance report
		if err != nil {
			return sent, outputs, fmt.Errorf("pipeline: deliver batch %s (committed; the next run delivers it): %w", id, err)
		}
		dst, err := export.Upload(r.c.SFTP, p, r.outbound)
		if err != nil {
			return sent, outputs, fmt.Errorf("pipeline: deliver batch %s (committed; the next run delivers it): %w", id, err)
		}
		sent = append(sent, r.shown(dst))
		outputs = append(outputs, enroll.Output{Name: path.Base(dst), SHA256: sum, Size: size})
	}
	return sent, outputs, nil
}

// redeliver sends the outputs of batches an earlier run committed but could
// not deliver, rebuilt from the ledger byte for byte.
func (r *sourceRun) redeliver() error {
	pending, err := r.l.Undelivered(r.ctx, r.src.Name)
	if err != nil {
		return err
	}
	r.owed = make(map[string]bool, len(pending))
	for _, b := range pending {
		r.owed[b.ID] = true
	}
	// One batch that cannot be delivered does not hold back the others,
	// nor the new files: its outputs stay in the ledger for the next run.
	var first error
	for _, b := range pending {
		if first != nil && r.c.Broken() {
			if err := r.redial(); err != nil {
				return err
			}
		}
		files, err := r.rebuild(b)
		if err == nil {
			// The input is not archived here: a file of the same name may be a
			// new one. Discovery finds the input, sees its bytes were
			// processed, and archives it then.
			var sent []string
			sent, err = r.deliver(b, files, "")
			r.reports = append(r.reports, FileReport{Source: r.src.Name, File: b.File, Batch: b, Note: "redelivered", Delivered: sent})
		}
		if err != nil {
			r.log.Error().Err(err).Str("batch_id", b.ID).Msg("redelivery failed; the next run tries again")
			if first == nil {
				first = err
			}
		}
	}
	return first
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
