package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/pipeline"
	"enrollsftp/schemas"
)

// rerun reprocesses a stored batch from its staged copy: FAILED, REJECTED
// (after a layout fix) or HELD (with --force), and delivers the new outputs
// to the batch's source when it is still configured.
func (a *app) rerun(args []string) error {
	fs := flag.NewFlagSet("rerun", flag.ContinueOnError)
	force := fs.Bool("force", false, "release a HELD batch: apply it whatever its rejected share")
	out := fs.String("out", "out", "local output folder")
	typ := fs.String("type", "", "process the file as census or elections (default: the batch's type)")
	layout := fs.String("layout", "", "layout name in schemas/ (default: the source's, else TYPE.v1)")
	by := fs.String("by", "", "the operator rerunning (default: the OS user; SUDO_USER when set)")
	reason := fs.String("reason", "", "why (kept in the audit trail; required with --force)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	var ft enrollsftp.FileType
	if *typ != "" {
		if ft, err = enrollsftp.ParseFileType(*typ); err != nil {
			return usageErr("rerun: --type: %v", err)
		}
	}
	if *force && strings.TrimSpace(*reason) == "" {
		return usageErr("rerun: --force releases a hold: give --reason TEXT (kept in the audit trail)")
	}
	op, err := operator("rerun", *by, *reason)
	if err != nil {
		return err
	}
	l, b, err := a.openBatch("rerun", pos, false)
	if err != nil {
		return err
	}
	defer l.Close()
	if *layout != "" {
		want := ft
		if want == "" {
			// A layout alone says the type: a census file rerun with an
			// elections layout is a rerun as elections.
			if l, err := schemas.Load(*layout, a.cfg.path(a.cfg.Layouts)); err == nil {
				want, ft = enrollsftp.FileType(l.Type), enrollsftp.FileType(l.Type)
			}
		}
		if err := a.checkLayout(*layout, want); err != nil {
			return err
		}
	}
	if err := checkOut(*out); err != nil {
		return err
	}
	o := pipeline.RerunOptions{Force: *force, OutDir: *out, LayoutDir: a.cfg.path(a.cfg.Layouts),
		Operator: op, Type: ft, Layout: *layout, StagedBase: a.cfg.path("."),
		Run: pipeline.RunOptions{Staging: a.cfg.path(a.cfg.Staging), LayoutDir: a.cfg.path(a.cfg.Layouts), Now: a.now,
			FileProgress: a.progress()}}
	if b.Source != "" {
		if srcs, err := a.sources(b.Source); err == nil {
			o.Source = &srcs[0]
		} else {
			a.log.Warn().Str("source", b.Source).Msg("the batch's source is not configured: outputs are written locally only")
		}
	}
	if err := a.loadPlans(l); err != nil {
		return err
	}
	res, err := pipeline.Rerun(a.ctx, l, a.log, b.ID, o)
	if errors.Is(err, pipeline.ErrNotRerunnable) {
		return &exitError{code: exitUsage, err: err}
	}
	if errors.Is(err, enroll.ErrAlreadyProcessed) {
		return &exitError{code: exitRejected, err: err}
	}
	if res.Batch.ID != "" {
		printSummary(a, res.Batch, false)
		fmt.Fprintf(a.stdout, "batch %s supersedes %s\n", res.Batch.ID, b.ID)
		// The outputs hold names and addresses: say where they went.
		printWrote(a, res.Files)
		if o.Source != nil && err == nil {
			fmt.Fprintf(a.stdout, "delivered the outputs to source %s (%s)\n", o.Source.Name, o.Source.Outbound)
		}
	}
	if err != nil {
		return err
	}
	if res.Batch.Status == enrollsftp.BatchRejected || res.Batch.Status == enrollsftp.BatchHeld {
		return &exitError{code: exitRejected, err: fmt.Errorf("rerun of %s: batch %s is %s", b.ID, res.Batch.ID, res.Batch.Status)}
	}
	return nil
}
