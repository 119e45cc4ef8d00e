package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"enrollsftp/daemon"
	"enrollsftp/internal/lockfile"
	"enrollsftp/pipeline"
)

// serve is the daemon: one cron schedule per source, HTTP health and
// metrics, graceful stop on SIGINT/SIGTERM (exit 0).
func (a *app) serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("http", "", "listen address for /healthz and /metrics (default: http.addr of the config)")
	if pos, err := a.parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return usageErr("serve: unexpected %q", pos[0])
	}
	if err := a.needConfig(); err != nil {
		return err
	}
	if *addr == "" {
		*addr = a.cfg.HTTP.Addr
	}
	sources, err := a.sources("")
	if err != nil {
		return err
	}
	var jobs []daemon.Job
	for i, s := range sources {
		sched := a.cfg.Sources[i].Schedule
		if sched == "" {
			return configErr("serve: source %s has no schedule: give it sources[%d].schedule, or take it with run", s.Name, i)
		}
		jobs = append(jobs, daemon.Job{Source: s, Schedule: sched})
	}
	// A plans file that is wrong stops serve before it makes anything;
	// each pass reads it again, so that an edit takes effect.
	if _, err := a.readPlans(); err != nil {
		return err
	}
	ledgerPath := a.cfg.path(a.cfg.Ledger)
	if err := os.MkdirAll(filepath.Dir(ledgerPath), 0o700); err != nil {
		return err
	}
	// One serve per ledger; the per-source locks keep a manual `run` and
	// this daemon from taking the same files.
	serveLock, err := lockfile.Acquire(ledgerPath+".serve.lock", lockfile.Me("serve"), 0)
	if err != nil {
		var held *lockfile.HeldError
		if errors.As(err, &held) {
			return fmt.Errorf("serve: another serve runs on this ledger: %w", err)
		}
		return err
	}
	defer serveLock.Release()
	l, err := a.openLedger()
	if err != nil {
		return err
	}
	defer l.Close()
	d, err := daemon.New(daemon.Config{Ledger: l, LedgerPath: ledgerPath, Jobs: jobs, Addr: *addr,
		Shutdown: a.cfg.ShutdownTimeout, Log: a.log,
		Run:        pipeline.RunOptions{Staging: a.cfg.path(a.cfg.Staging), LayoutDir: a.cfg.path(a.cfg.Layouts), Now: a.now},
		BeforePass: func(context.Context) error { a.sweepStaging(l); return a.loadPlans(l) },
		Lock: func(source string) (func(), error) {
			lk, err := lockfile.Acquire(sourceLockPath(ledgerPath, source), lockfile.Me("serve"), 0)
			if err != nil {
				return nil, err
			}
			return func() { lk.Release() }, nil
		}})
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if d.Addr() != "" {
		fmt.Fprintf(a.stdout, "serving http://%s/healthz and /metrics\n", d.Addr())
	}
	return d.Serve(a.ctx)
}

func sourceLockPath(ledger, source string) string { return ledger + "." + source + ".lock" }

// lockSource takes a source's lock for `run`, waiting up to wait (the
// --lock-wait that also bounds each write's wait for the ledger) for a run
// or serve that holds it.
func (a *app) lockSource(source string, wait time.Duration) (func(), error) {
	lk, err := lockfile.AcquireContext(a.ctx, sourceLockPath(a.cfg.path(a.cfg.Ledger), source), lockfile.Me(a.cmd), wait)
	if err != nil {
		return nil, err
	}
	return func() { lk.Release() }, nil
}
