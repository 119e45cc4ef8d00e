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
	"enrollsftp/ingest"
	"enrollsftp/internal/atrest"
	"enrollsftp/internal/pgp"
)

// ErrNotRerunnable is returned for a batch rerun cannot take.
var ErrNotRerunnable = errors.New("not rerunnable")

// RerunOptions say how to reprocess a stored batch.
type RerunOptions struct {
	Force     bool   // release a HELD batch: apply it whatever its rejected share
	OutDir    string // local outputs
	LayoutDir string
	// Source is the batch's source as configured now (nil for a local
	// `process` batch, or a source no longer configured): its layouts,
	// limits and employers apply, and the new outputs are delivered to it.
	Source *Source
	Run    RunOptions
	// Type and Layout, when set, replace the batch's own: a file processed
	// with the wrong --type or layout is rerun as what it is.
	Type   enrollsftp.FileType
	Layout string
	// StagedBase resolves a staged path recorded relative (by versions
	// that stored the path as given) when it is not found from here.
	StagedBase string

	// Operator is who reruns the batch, and why: kept in the audit trail.
	Operator enroll.Actor
}

// Rerun reprocesses a FAILED, REJECTED or (with Force) HELD batch from its
// staged copy, as a new batch that supersedes it, and delivers the new
// outputs to the batch's source.
func Rerun(ctx context.Context, l *enroll.Ledger, log zerolog.Logger, id string, o RerunOptions) (Result, error) {
	b, err := l.Batch(ctx, id)
	if err != nil {
		return Result{}, err
	}
	switch {
	case b.SupersededBy != "" && b.Status == enrollsftp.BatchFailed:
		// Its file was processed since, by a rerun or as it came again.
		return Result{}, fmt.Errorf("%w: batch %s failed, and its file was processed since as batch %s",
			enroll.ErrAlreadyProcessed, id, b.SupersededBy)
	case b.StagedRemovedAt != "":
		// Only the copies of APPLIED or superseded batches are swept.
		return Result{}, fmt.Errorf("%w: batch %s is %s and its staged copy was removed by staging_retention at %s (`ack %s` still rebuilds its outputs)",
			ErrNotRerunnable, id, b.Status, b.StagedRemovedAt, id)
	case b.SupersededBy != "":
		if next, err := l.Batch(ctx, b.SupersededBy); err == nil && next.Status == enrollsftp.BatchApplied {
			// Rerun into an applied batch, or its bytes applied since (the
			// same file sent or processed again as the right type).
			return Result{}, fmt.Errorf("%w: batch %s was superseded by batch %s, which applied its bytes: nothing to rerun",
				ErrNotRerunnable, id, b.SupersededBy)
		}
		return Result{}, fmt.Errorf("%w: batch %s was already rerun as %s (rerun that one)", ErrNotRerunnable, id, b.SupersededBy)
	case b.Status == enrollsftp.BatchHeld && !o.Force:
		return Result{}, fmt.Errorf("%w: batch %s is HELD: release it with --force", ErrNotRerunnable, id)
	case b.Status == enrollsftp.BatchApplied || b.Status == enrollsftp.BatchReceived:
		return Result{}, fmt.Errorf("%w: batch %s is %s", ErrNotRerunnable, id, b.Status)
	}
	want := b.SHA256
	if b.StagedSHA256 != "" {
		want = b.StagedSHA256 // the plaintext of an encrypted file
	}
	if b.StagedPath == "" && b.Status == enrollsftp.BatchFailed {
		return Result{}, fmt.Errorf("%w: batch %s failed before its file was received (%s): nothing is staged; the next run of source %s takes the file again",
			ErrNotRerunnable, id, b.Error, b.Source)
	}
	if !filepath.IsAbs(b.StagedPath) && o.StagedBase != "" {
		if _, err := os.Stat(b.StagedPath); err != nil {
			b.StagedPath = filepath.Join(o.StagedBase, b.StagedPath)
		}
	}
	if _, err := os.Stat(b.StagedPath); err != nil && o.Run.Staging != "" {
		// The state folder was moved or restored elsewhere: the copy is
		// under the configured staging root, at the same place in it. Its
		// bytes are checked below whichever path is taken.
		if p := underRoot(b.StagedPath, o.Run.Staging); p != "" {
			b.StagedPath = p
		}
	}
	key := StagingKey(l)
	if sum, _, err := hashStaged(key, b.StagedPath); err != nil {
		return Result{}, fmt.Errorf("%w: the staged copy of batch %s is unreadable: %v", ErrNotRerunnable, id, err)
	} else if sum != want {
		return Result{}, fmt.Errorf("%w: the staged copy %s no longer has the bytes of batch %s", ErrNotRerunnable, b.StagedPath, id)
	}
	received, _ := time.Parse(time.RFC3339, b.ReceivedAt)
	// The new batch is of the same received bytes, whatever is staged.
	po := Options{Path: b.StagedPath, Name: b.File, Source: b.Source, Type: b.Type, Layout: b.Layout,
		LayoutDir: o.LayoutDir, OutDir: o.OutDir, ReceivedAt: received, RerunOf: id,
		SHA256: b.SHA256, Size: b.Size, StagedSHA256: b.StagedSHA256, Encrypted: b.Encrypted, Progress: o.Run.FileProgress,
		Operator: o.Operator}
	if b.Encrypted && b.StagedSHA256 == "" {
		// Kept encrypted because it could not be decrypted then (a key or
		// passphrase since fixed): decrypt it now with the source's keys.
		var keys *pgp.Keys
		if o.Source != nil {
			keys = o.Source.PGP
		}
		path, sum, err := decryptStaged(keys, key, b.StagedPath)
		var fault *enrollsftp.Error
		switch {
		case errors.As(err, &fault):
			po.FileErrors = enrollsftp.Errors{fault}
		case err != nil:
			return Result{}, err
		default:
			po.Path, po.StagedSHA256 = path, sum
		}
	}
	if o.Type != "" && o.Type != b.Type {
		po.Type, po.Layout = o.Type, "" // the new type's default layout, unless named
	}
	if s := o.Source; s != nil {
		if layout := s.Layouts[po.Type]; layout != "" {
			po.Layout = layout
		}
		po.MaxRejectRatio, po.Employers = s.MaxRejectRatio, s.Employers
	}
	if o.Layout != "" {
		po.Layout = o.Layout
	}
	if o.Force {
		po.MaxRejectRatio = 0
	}
	log.Info().Str("batch_id", id).Str("status", b.Status).Bool("force", o.Force).Str("type", string(po.Type)).
		Str("layout", po.Layout).Msg("rerun")
	res, err := ProcessFile(ctx, l, FileLog(log, b.Source, b.File), po)
	if err != nil || o.Source == nil {
		return res, err
	}
	return res, DeliverBatch(ctx, l, log, *o.Source, o.Run, res.Batch.ID)
}

// underRoot finds the file recorded at old under root instead: root joined
// with old's last one, two, three or four path elements, the first that
// exists ("" if none does).
func underRoot(old, root string) string {
	parts := strings.Split(filepath.ToSlash(old), "/")
	for k := 1; k <= 4 && k <= len(parts); k++ {
		p := filepath.Join(append([]string{root}, parts[len(parts)-k:]...)...)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// DeliverBatch connects to a source and delivers one batch's outputs,
// rebuilt from the ledger.
func DeliverBatch(ctx context.Context, l *enroll.Ledger, log zerolog.Logger, src Source, opts RunOptions, id string) error {
	r, closeFn, err := connect(ctx, l, log, src, opts)
	if err != nil {
		return err
	}
	defer closeFn()
	b, err := l.Batch(ctx, id)
	if err != nil {
		return err
	}
	files, err := r.rebuild(b)
	if err != nil {
		return err
	}
	_, err = r.deliver(b, files, "")
	return err
}

// connect opens a source (starting the embedded server when it is one)
// and returns a sourceRun on it.
func connect(ctx context.Context, l *enroll.Ledger, log zerolog.Logger, src Source, opts RunOptions) (*sourceRun, func(), error) {
	log = log.With().Str("source", src.Name).Logger()
	folders := [3]string{src.Inbound, src.Outbound, src.Archive}
	ep := src.Endpoint
	shown := func(p string) string { return p }
	var srv *ingest.Embedded
	if src.Embedded != "" {
		work := filepath.Join(opts.Staging, "embedded", src.Name)
		if err := ingest.SeedOnce(src.Embedded, work); err != nil {
			return nil, nil, err
		}
		var err error
		if srv, err = ingest.StartEmbedded(work, log); err != nil {
			return nil, nil, err
		}
		ep = srv.Endpoint
		root := srv.Root
		shown = func(p string) string { return filepath.Join(root, p) }
		for i, f := range folders {
			folders[i] = ingest.ServedPath(f)
		}
	}
	stop := func() {
		if srv != nil {
			srv.Close()
		}
	}
	ep.Progress = opts.Progress
	c, err := ingest.Dial(ctx, ep, log)
	if err != nil {
		stop()
		return nil, nil, err
	}
	c.MaxFileSize = src.MaxFileSize
	c.AtRest = StagingKey(l) // downloads are staged encrypted
	r := &sourceRun{ctx: ctx, l: l, log: log, src: src, opts: opts, c: c, ep: ep,
		stage: filepath.Join(opts.Staging, src.Name), shown: shown,
		inbound: folders[0], outbound: folders[1], archive: folders[2]}
	for _, dir := range []string{r.outbound, r.archive} {
		if err := c.SFTP.MkdirAll(dir); err != nil {
			c.Close()
			stop()
			return nil, nil, fmt.Errorf("pipeline: remote folder %s: %w", dir, c.Explain(err))
		}
	}
	r.unwatch = c.AbortOn(ctx)
	return r, func() { r.unwatch(); r.c.Close(); stop() }, nil
}

// decryptStaged decrypts a staged OpenPGP file beside it (mode 0600) and
// returns the plaintext's path and hash. Both the OpenPGP file and what it
// decrypts to are encrypted at rest with at: the plaintext never reaches
// the disk, and its hash is of the plaintext. A file at fault gives an
// *enrollsftp.Error and leaves nothing behind.
func decryptStaged(keys *pgp.Keys, at *atrest.Key, path string) (string, string, error) {
	src, err := at.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("pipeline: rerun: %w", err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".decrypt-*") // 0600
	if err != nil {
		return "", "", fmt.Errorf("pipeline: rerun: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	w, err := at.Encrypt(tmp)
	if err != nil {
		tmp.Close()
		return "", "", fmt.Errorf("pipeline: rerun: %w", err)
	}
	h := sha256.New()
	err = keys.Decrypt(io.MultiWriter(w, h), src)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", err
	}
	plain, ok := pgp.Plain(path)
	if !ok {
		plain += ".decrypted"
	}
	if err := os.Rename(tmp.Name(), plain); err != nil {
		return "", "", fmt.Errorf("pipeline: rerun: %w", err)
	}
	return plain, hex.EncodeToString(h.Sum(nil)), nil
}
