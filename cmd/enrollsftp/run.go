package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/ingest"
	"enrollsftp/internal/pgp"
	"enrollsftp/pipeline"
)

// run is one pass over the configured sources. Each source is independent:
// one failing does not stop the others, and the exit code is 1 if any did.
func (a *app) run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	only := fs.String("source", "", "run only this source")
	if pos, err := a.parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return usageErr("run: unexpected %q", pos[0])
	}
	if err := a.needConfig(); err != nil {
		return err
	}
	sources, err := a.sources(*only)
	var bad *sourceConfigError
	if errors.As(err, &bad) {
		// Said on stdout too, as a source failing to connect is: the
		// operator reading the results learns that nothing ran, and why.
		fmt.Fprintf(a.stdout, "source %s FAILED: config: %s\n", bad.source, bad.err)
	}
	if err != nil {
		return err
	}
	// The plans are read and checked before the ledger is opened: a
	// mistake in them creates no ledger and no SSN key.
	pf, err := a.readPlans()
	if err != nil {
		return err
	}
	l, err := a.openLedger()
	if err != nil {
		return err
	}
	defer l.Close()
	if err := a.applyPlans(l, pf); err != nil {
		return err
	}
	opts := pipeline.RunOptions{Staging: a.cfg.path(a.cfg.Staging), LayoutDir: a.cfg.path(a.cfg.Layouts), Now: a.now,
		FileProgress: a.progress()}
	if err := os.MkdirAll(opts.Staging, 0o700); err != nil {
		return err
	}
	a.sweepStaging(l)
	var reports []pipeline.FileReport
	var failed []sourceFailure
	for _, src := range sources {
		release, err := a.lockSource(src.Name, a.g.lockWait)
		if err != nil {
			a.log.Error().Err(err).Str("source", src.Name).Msg("source not run")
			failed = append(failed, sourceFailure{src.Name, "not run: " + err.Error()})
			continue
		}
		reps, err := pipeline.RunSource(a.ctx, l, a.log, src, opts)
		release()
		reports = append(reports, reps...)
		if err != nil {
			a.log.Error().Err(err).Str("source", src.Name).Msg("source failed")
			failed = append(failed, sourceFailure{src.Name, err.Error()})
		}
	}
	printReports(a, reports, failed, len(sources))
	if len(failed) > 0 {
		names := make([]string, len(failed))
		for i, f := range failed {
			names[i] = f.source
		}
		return fmt.Errorf("run: %d of %d sources failed: %v", len(failed), len(sources), names)
	}
	return nil
}

// sourceFailure is a source a run could not finish, and why.
type sourceFailure struct{ source, why string }

// printReports prints what happened to each file, then one line per
// failed source: the results go to stdout, and an operator reading only
// them must not take a source that could not be reached for one that had
// nothing to send.
func printReports(a *app, reports []pipeline.FileReport, failed []sourceFailure, sources int) {
	switch {
	case len(reports) > 0:
		printFiles(a, reports)
	case len(failed) == 0:
		fmt.Fprintln(a.stdout, "no new files")
	case len(failed) < sources:
		fmt.Fprintln(a.stdout, "no new files from the other sources")
	}
	for _, f := range failed {
		// One line each: a wrapped SSH error may span several.
		fmt.Fprintf(a.stdout, "source %s FAILED: %s\n", f.source, strings.Join(strings.Fields(f.why), " "))
	}
}

func printFiles(a *app, reports []pipeline.FileReport) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tFILE\tROWS\tACCEPTED\tREJECTED\tDUPLICATE\tPENDING\tSTATUS")
	for _, r := range reports {
		b := r.Batch
		status := b.Status
		if r.Note != "" {
			status = r.Note
		}
		if b.ID == "" {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t%s\n", r.Source, r.File, status)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", r.Source, r.File, b.Rows, b.Accepted, b.Rejected,
			b.Duplicate, b.PendingKYC, status)
	}
	tw.Flush()
	for _, r := range reports {
		if r.Batch.Status == enrollsftp.BatchHeld && r.Note == "" {
			fmt.Fprintf(a.stdout, "%s: %s held: %s\n", r.Source, r.File, r.Batch.HoldReason())
		}
	}
	for _, r := range reports {
		for _, p := range r.Delivered {
			fmt.Fprintf(a.stdout, "%s: delivered %s\n", r.Source, p)
		}
	}
}

// loadPlans upserts the configured plans file, when there is one, at the
// start of run, serve's passes and rerun. What it creates or changes is in
// the audit trail by the actor "config" (enroll.ConfigActor), the reason
// naming the command and the file as the config gives it; a file that
// changed nothing records nothing.
func (a *app) loadPlans(l *enroll.Ledger) error {
	pf, err := a.readPlans()
	if err != nil {
		return err
	}
	return a.applyPlans(l, pf)
}

// applyPlans upserts the configured plans, read by readPlans (nil: none),
// as the config's actor in the audit trail.
func (a *app) applyPlans(l *enroll.Ledger, pf *enroll.PlansFile) error {
	if pf == nil {
		return nil
	}
	by := enroll.Actor{Name: enroll.ConfigActor, Reason: plansReason("", a.cmd+" loaded "+a.cfg.Plans)}
	_, err := l.LoadPlans(a.ctx, pf, by)
	return err
}

// readPlans reads and checks the configured plans file: nil when there is
// none, a configuration error (exit 2) naming the file and every mistake
// in it when it is wrong.
func (a *app) readPlans() (*enroll.PlansFile, error) {
	if a.cfg.Plans == "" {
		return nil, nil
	}
	pf, err := enroll.ReadPlans(a.cfg.path(a.cfg.Plans))
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return pf, nil
}

// needConfig is for the commands that do nothing without a config file
// (run, serve): the defaults that let process and lookup work without one
// have no sources, so say where the file was looked for.
func (a *app) needConfig() error {
	if a.cfg.file != "" {
		return nil
	}
	abs, _ := filepath.Abs(a.g.config)
	return &exitError{code: exitUsage, err: fmt.Errorf("%s: no config file found: looked for %s (give one with --config FILE)", a.cmd, abs)}
}

// sources resolves the configured sources into what the pipeline runs.
func (a *app) sources(only string) ([]pipeline.Source, error) {
	var out []pipeline.Source
	for _, s := range a.cfg.Sources {
		if only != "" && s.Name != only {
			continue
		}
		src := pipeline.Source{Name: s.Name, Inbound: s.Inbound, Outbound: s.Outbound, Archive: s.Archive,
			MinFileAge: s.MinFileAge, MaxRejectRatio: s.MaxRejectRatio, Employers: s.Employers,
			MaxFileSize: a.cfg.Limits.MaxFileSize, MaxLineLength: a.cfg.Limits.MaxLineLength,
			Patterns: map[enrollsftp.FileType]string{}, Layouts: map[enrollsftp.FileType]string{}}
		for k, v := range s.Patterns {
			t, err := enrollsftp.ParseFileType(k)
			if err != nil {
				return nil, configErr("source %s: patterns: %v", s.Name, err)
			}
			src.Patterns[t] = v
		}
		for k, v := range s.Layouts {
			t, err := enrollsftp.ParseFileType(k)
			if err != nil {
				return nil, configErr("source %s: layouts: %v", s.Name, err)
			}
			src.Layouts[t] = v
		}
		if s.SFTP.Embedded != "" {
			src.Embedded = a.cfg.path(s.SFTP.Embedded)
		} else {
			src.Endpoint = ingest.Endpoint{Host: s.SFTP.Host, Port: s.SFTP.Port, User: s.SFTP.User,
				PrivateKey: a.cfg.path(s.SFTP.PrivateKey), Password: s.SFTP.Password,
				KnownHosts: a.cfg.path(s.SFTP.KnownHosts), DialTimeout: s.SFTP.Timeout}
		}
		if s.PGP != nil {
			c := *s.PGP
			c.DecryptKey, c.VerifyKey, c.EncryptTo = a.cfg.path(c.DecryptKey), a.cfg.path(c.VerifyKey), a.cfg.path(c.EncryptTo)
			// Keys expire in real time: --now (a replay's clock) does not move it.
			c.MaxPlaintext = a.cfg.Limits.MaxFileSize
			keys, err := pgp.Load(c)
			if err != nil {
				return nil, configErr("source %s: %v", s.Name, err)
			}
			src.PGP = keys
		}
		if src.Embedded == "" {
			// A key file that is not there is the config's fault, found
			// before anything is recorded, not a failed connection.
			for _, kp := range [][2]string{{"known_hosts", src.Endpoint.KnownHosts}, {"private_key", src.Endpoint.PrivateKey}} {
				key, p := kp[0], kp[1]
				if p == "" {
					continue
				}
				if f, err := os.Open(p); err != nil {
					return nil, &exitError{code: exitUsage, err: &sourceConfigError{s.Name, fmt.Errorf("sftp.%s: %w", key, err)}}
				} else {
					f.Close()
				}
			}
		}
		out = append(out, src)
	}
	if only != "" && len(out) == 0 {
		names := make([]string, len(a.cfg.Sources))
		for i, s := range a.cfg.Sources {
			names[i] = s.Name
		}
		if len(names) == 0 {
			return nil, usageErr("%s: no source named %q: config %s has no sources", a.cmd, only, a.cfg.file)
		}
		return nil, usageErr("%s: no source named %q (configured: %s)", a.cmd, only, strings.Join(names, ", "))
	}
	if len(out) == 0 {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("%s: config %s has no sources", a.cmd, a.cfg.file)}
	}
	return out, nil
}

// sourceConfigError is a source's configuration that cannot work, found
// before the run starts (exit 2).
type sourceConfigError struct {
	source string
	err    error
}

func (e *sourceConfigError) Error() string { return "source " + e.source + ": " + e.err.Error() }
func (e *sourceConfigError) Unwrap() error { return e.err }

// sweepStaging deletes the staged copies past staging_retention, at the
// start of every run and serve pass. A failure is logged, not fatal: the
// copies wait for the next pass, and the files still come in.
func (a *app) sweepStaging(l *enroll.Ledger) {
	if _, err := pipeline.SweepStaging(a.ctx, l, a.log, a.cfg.path(a.cfg.Staging), a.cfg.StagingRetention); err != nil {
		a.log.Error().Err(err).Msg("retention: staged copies not swept")
	}
}
