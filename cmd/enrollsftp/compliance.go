package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"enrollsftp/enroll"
	"enrollsftp/report"
)

// audit prints the audit trail, filtered: who changed what, when, from
// which file or by which operator, with SSN and DOB masked. Read-only.
func (a *app) audit(args []string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	person := fs.String("person", "", "one person's events (and their employments', enrollments', …)")
	employer := fs.String("employer", "", "with --employee: the person employed under that number")
	employee := fs.String("employee", "", "with --employer")
	batch := fs.String("batch", "", "what a batch changed, and what happened to it")
	entity := fs.String("entity", "", "only events of these entity types, comma-separated: "+strings.Join(auditEntities, ", "))
	since := fs.String("since", "", "events at or after this time (RFC 3339, or a date: its start, UTC)")
	until := fs.String("until", "", "events up to this time, included (RFC 3339), or to the end of this date")
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := a.parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return usageErr("audit: unexpected %q", pos[0])
	}
	if (*employer == "") != (*employee == "") {
		return usageErr("audit: --employer and --employee go together")
	}
	f := enroll.AuditFilter{PersonID: *person, EmployerID: *employer, EmployeeID: *employee}
	if *entity != "" {
		for _, e := range strings.Split(*entity, ",") {
			e = strings.ToLower(strings.TrimSpace(e))
			if !slices.Contains(auditEntities, e) {
				return usageErr("audit: --entity %q: want one or more of %s", e, strings.Join(auditEntities, ", "))
			}
			f.Entities = append(f.Entities, e)
		}
	}
	var err error
	if f.Since, f.Until, err = period("audit", *since, *until, true); err != nil {
		return err
	}
	l, err := a.openLedgerReadOnly()
	if err != nil {
		return err
	}
	defer l.Close()
	if *batch != "" {
		b, err := l.Batch(a.ctx, *batch)
		if errors.Is(err, enroll.ErrBatchNotFound) {
			return notFound(err)
		}
		if err != nil {
			return err
		}
		f.BatchID = b.ID
	}
	var w *report.AuditWriter // started with the first event: an unknown person prints nothing
	err = l.Audit(a.ctx, f, func(e enroll.AuditEvent) error {
		if w == nil {
			w = report.NewAuditWriter(a.stdout, *asJSON)
		}
		return w.Write(report.AuditEvent(e))
	})
	if errors.Is(err, enroll.ErrPersonNotFound) {
		return &exitError{code: exitFailure, err: err} // as lookup
	}
	if err != nil {
		return err
	}
	if w == nil {
		w = report.NewAuditWriter(a.stdout, *asJSON)
	}
	return w.Close()
}

// report writes the compliance report of a period: HTML (one
// self-contained file), CSV or JSON, to stdout or --out (mode 0600).
// Read-only.
func (a *app) report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	since := fs.String("since", "", "the period's start (RFC 3339, or a date: its start, UTC); required")
	until := fs.String("until", "", "the period's end (RFC 3339, exclusive, or a date: through its end); required")
	source := fs.String("source", "", "only the files of this source (\"local\": the files processed locally)")
	format := fs.String("format", "html", "html, csv or json")
	out := fs.String("out", "", "write to FILE (mode 0600) instead of stdout")
	if pos, err := a.parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return usageErr("report: unexpected %q", pos[0])
	}
	if *since == "" || *until == "" {
		return usageErr("report: want --since D --until D")
	}
	from, to, err := period("report", *since, *until, false)
	if err != nil {
		return err
	}
	write := map[string]func(*bytes.Buffer, *report.Report) error{
		"html": func(b *bytes.Buffer, r *report.Report) error { return report.WriteHTML(b, r) },
		"csv":  func(b *bytes.Buffer, r *report.Report) error { return report.WriteCSV(b, r) },
		"json": func(b *bytes.Buffer, r *report.Report) error { return report.WriteJSON(b, r) },
	}[*format]
	if write == nil {
		return usageErr("report: --format %q: want html, csv or json", *format)
	}
	l, err := a.openLedgerReadOnly()
	if err != nil {
		return err
	}
	defer l.Close()
	f := enroll.PeriodFilter{Since: from, Until: to, Source: *source}
	if *source != "" {
		if f, err = a.reportSource(l, f); err != nil {
			return err
		}
	}
	p, err := l.Period(a.ctx, f)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := write(&buf, report.Build(p, from, to, *source, a.now())); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if *out == "" {
		_, err := a.stdout.Write(buf.Bytes())
		return err
	}
	return writePrivate(*out, buf.Bytes())
}

// reportSource checks report's --source: a configured source, or one a
// file came from, is taken as named; otherwise "local" (report.LocalSource,
// as the report labels them) selects the files processed locally, and any
// other name is a usage error, not an empty report.
func (a *app) reportSource(l *enroll.Ledger, f enroll.PeriodFilter) (enroll.PeriodFilter, error) {
	var names []string
	for _, s := range a.cfg.Sources {
		if s.Name == f.Source {
			return f, nil
		}
		names = append(names, s.Name)
	}
	known, err := l.KnownSource(a.ctx, f.Source)
	switch {
	case err != nil:
		return f, err
	case known:
		return f, nil
	case f.Source == report.LocalSource:
		f.Source, f.Local = "", true
		return f, nil
	}
	configured := "none configured"
	if len(names) > 0 {
		configured = "configured: " + strings.Join(names, ", ")
	}
	return f, usageErr("report: --source %q: no source of that name is configured or sent a file (%s; %q for the files processed locally)",
		f.Source, configured, report.LocalSource)
}

// auditEntities are the entity types of the audit trail (--entity).
var auditEntities = []string{"person", "employment", "account", "enrollment", "election", "batch", "employer",
	"plan_year", "plan"}

// period reads --since and --until: RFC 3339, or a plain date (since: its
// midnight UTC; until: the midnight after it, so the date is included).
// Both are made bounds of the stored stamps (RFC 3339 in whole seconds,
// UTC, compared as text): from is rounded down to its second; to, returned
// exclusive, is rounded up to a second or, when inclusive (audit), is the
// second after the one --until names.
func period(cmd, since, until string, inclusive bool) (from, to time.Time, err error) {
	if since != "" {
		if from, err = when(since, false); err != nil {
			return from, to, usageErr("%s: --since %q: want RFC 3339 (2026-10-01T00:00:00Z) or a date (2026-10-01)", cmd, since)
		}
	}
	if until != "" {
		if to, err = when(until, true); err != nil {
			return from, to, usageErr("%s: --until %q: want RFC 3339 (2027-01-01T00:00:00Z) or a date (2026-12-31)", cmd, until)
		}
	}
	from = from.UTC().Truncate(time.Second)
	if until != "" && !isDate(until) {
		switch whole := to.UTC().Truncate(time.Second); {
		case inclusive:
			to = whole.Add(time.Second) // the second --until names is in
		case !whole.Equal(to):
			to = whole.Add(time.Second) // an event stamped in that second came before --until
		}
	}
	to = to.UTC()
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, usageErr("%s: --since must come before --until", cmd)
	}
	return from, to, nil
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// when reads a time: RFC 3339, or a date at its start (or, as an end,
// the start of the next day).
func when(s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return t, err
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// writePrivate writes data to path atomically, mode 0600: a report names
// people and files.
func writePrivate(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*") // 0600
	if err != nil {
		return usageErr("--out: %v", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
