package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"enrollsftp"
	"enrollsftp/enroll"
	"enrollsftp/export"
	"enrollsftp/pipeline"
	"enrollsftp/report"
	"enrollsftp/schemas"
)

func (a *app) process(args []string) error {
	fs := flag.NewFlagSet("process", flag.ContinueOnError)
	typ := fs.String("type", "", "census or elections")
	dry := fs.Bool("dry-run", false, "validate and write outputs without changing the ledger")
	out := fs.String("out", "", "output folder (default ./out)")
	ratio := fs.Float64("max-reject-ratio", 0, "hold the batch when the rejected share exceeds R (0: never)")
	layout := fs.String("layout", "", "layout name in schemas/ (default TYPE.v1)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("process: want exactly one FILE")
	}
	ft, err := fileType("process", *typ)
	if err != nil {
		return err
	}
	if *ratio < 0 || *ratio > 1 {
		return usageErr("process: --max-reject-ratio: want 0 to 1")
	}
	if st, err := os.Stat(pos[0]); err != nil {
		return usageErr("process: %v", err)
	} else if st.IsDir() {
		return usageErr("process: %s is a directory: want a file", pos[0])
	}
	if *out == "" {
		*out = "out"
	}
	// Found before anything is recorded: a bad layout or an output folder
	// that cannot be written must not leave a FAILED batch, or a committed
	// one whose outputs were never written.
	if err := a.checkLayout(*layout, ft); err != nil {
		return err
	}
	if err := checkOut(*out); err != nil {
		return err
	}
	l, err := a.openLedger()
	if err != nil {
		return err
	}
	defer l.Close()
	o := pipeline.Options{Path: pos[0], Name: filepath.Base(pos[0]), Type: ft, Layout: *layout,
		LayoutDir: a.cfg.path(a.cfg.Layouts), OutDir: *out, DryRun: *dry, MaxRejectRatio: *ratio, ReceivedAt: a.now(),
		MaxFileSize: a.cfg.Limits.MaxFileSize, MaxLineLength: a.cfg.Limits.MaxLineLength}
	if !*dry {
		// A staged copy (0600, encrypted at rest) is what `rerun`
		// reprocesses; the operator's file is only read.
		if o.Path, err = pipeline.Stage(pos[0], filepath.Join(a.cfg.path(a.cfg.Staging), "local"), pipeline.StagingKey(l)); err != nil {
			return err
		}
	}
	o.Progress = a.progress()
	res, err := pipeline.ProcessFile(a.ctx, l, pipeline.FileLog(a.log, "", o.Name), o)
	if errors.Is(err, enroll.ErrAlreadyProcessed) {
		if o.Path != pos[0] {
			// Staged for a batch that was not made: no batch names the copy.
			if inUse, ierr := l.StagedInUse(a.ctx, o.Path); ierr == nil && !inUse {
				os.Remove(o.Path)
			}
		}
		printWrote(a, res.Files)
		return &exitError{code: exitRejected, err: err}
	}
	if err != nil {
		return err
	}
	printSummary(a, res.Batch, *dry)
	printWrote(a, res.Files)
	return batchExit(res.Batch)
}

// batchExit is exit 3 for a rejected or held batch, saying why.
func batchExit(b enrollsftp.Batch) error {
	id := b.ID
	if b.DryRun {
		id = "(dry run)"
	}
	switch b.Status {
	case enrollsftp.BatchHeld:
		return &exitError{code: exitRejected, err: fmt.Errorf("%s: batch %s is HELD: %s", b.File, id, b.HoldReason())}
	case enrollsftp.BatchRejected:
		return &exitError{code: exitRejected, err: fmt.Errorf("%s: batch %s is REJECTED %s", b.File, id, b.FileErrors.Codes())}
	}
	return nil
}

func printWrote(a *app, files export.Files) {
	for _, p := range []string{files.Ack, files.Summary, files.Errors} {
		if p != "" {
			fmt.Fprintln(a.stdout, "wrote", p)
		}
	}
}

// checkLayout is a usage error for a layout that does not exist or is for
// the other file type ("" is the type's default).
func (a *app) checkLayout(name string, ft enrollsftp.FileType) error {
	if name == "" {
		name = string(ft) + ".v1"
	}
	layout, err := schemas.Load(name, a.cfg.path(a.cfg.Layouts))
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("--layout: %w", err)}
	}
	if layout.Type != string(ft) {
		return &exitError{code: exitUsage, err: fmt.Errorf("--layout %s is for %s files, not %s", name, layout.Type, ft)}
	}
	return nil
}

// checkOut makes sure outputs can be written into dir: a folder that
// cannot be made or written is a usage error before the batch commits.
func checkOut(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("--out %s: %w", dir, err)}
	}
	f, err := os.CreateTemp(dir, ".enrollsftp-check-*")
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("--out %s: cannot write there: %w", dir, err)}
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func printSummary(a *app, b enrollsftp.Batch, dry bool) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tROWS\tACCEPTED\tREJECTED\tDUPLICATE\tPENDING_KYC\tSTATUS\tBATCH")
	status, id := b.Status, b.ID
	if dry {
		// The ledger keeps no batch of a dry run: no id to look up.
		status, id = enrollsftp.BatchDryRun, "-"
	}
	fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", b.File, b.Rows, b.Accepted, b.Rejected, b.Duplicate,
		b.PendingKYC, status, id)
	tw.Flush()
	if dry {
		fmt.Fprintf(a.stdout, "dry run: nothing was applied and no batch was recorded; the file would be %s\n", b.Status)
	}
	if b.Status == enrollsftp.BatchHeld {
		fmt.Fprintf(a.stdout, "held: %s\n", b.HoldReason())
	}
	for _, e := range b.FileErrors {
		fmt.Fprintf(a.stdout, "file error %s: %s\n", e.Code, e.Message)
	}
}

// plansLoad loads a plans file by an operator: each employer, plan year
// and plan it creates or changes is an audit event naming them (--by,
// else the OS user) and why (--reason, optional; the file's name is
// added).
func (a *app) plansLoad(args []string) error {
	fs := flag.NewFlagSet("plans load", flag.ContinueOnError)
	by := fs.String("by", "", "the operator loading the plans (default: the OS user; SUDO_USER when set)")
	reason := fs.String("reason", "", "why the plans change (kept in the audit trail)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("plans load: want exactly one FILE")
	}
	op, err := operator("plans load", *by, *reason)
	if err != nil {
		return err
	}
	op.Reason = plansReason(op.Reason, "plans load "+filepath.Base(pos[0]))
	pf, err := enroll.ReadPlans(pos[0])
	if err != nil {
		// The file is wrong, not the command line: no usage text.
		return &exitError{code: exitUsage, err: err}
	}
	l, err := a.openLedger()
	if err != nil {
		return err
	}
	defer l.Close()
	changed, err := l.LoadPlans(a.ctx, pf, op)
	if err != nil {
		return err
	}
	n := 0
	for _, e := range pf.Employers {
		n += len(e.Plans)
		for _, py := range e.PlanYears {
			n += len(py.Plans)
		}
	}
	fmt.Fprintf(a.stdout, "loaded %d employers, %d plans from %s by %s: %d created or changed (see audit --entity %s)\n",
		len(pf.Employers), n, pos[0], op.Name, changed, plansEntities)
	return nil
}

// plansEntities are the audit trail's entity types a plans file sets.
const plansEntities = "employer,plan_year,plan"

// plansReason is why a plans file was loaded, as the audit trail keeps it:
// the operator's reason, if any, and where the plans came from.
func plansReason(reason, from string) string {
	if reason == "" {
		return from
	}
	return reason + " (" + from + ")"
}

// batchJSON is the stable shape of SPEC §9.
type batchJSON struct {
	BatchID     string `json:"batch_id"`
	Source      string `json:"source"`
	File        string `json:"file"`
	Type        string `json:"type"`
	SHA256      string `json:"sha256"`
	Status      string `json:"status"`
	Rows        int    `json:"rows"`
	Accepted    int    `json:"accepted"`
	Rejected    int    `json:"rejected"`
	Duplicate   int    `json:"duplicate"`
	PendingKYC  int    `json:"pending_kyc"`
	ReceivedAt  string `json:"received_at"`
	ProcessedAt string `json:"processed_at"`
	// More keys than SPEC §9 lists: for operators.
	SupersededBy string `json:"superseded_by"`
	// StagedRemovedAt: when staging_retention deleted the staged copy.
	StagedRemovedAt string         `json:"staged_removed_at,omitempty"`
	Error           string         `json:"error,omitempty"`
	ErrorCodes      map[string]int `json:"error_codes,omitempty"`
	Layout          string         `json:"layout,omitempty"`
	Hold            *holdJSON      `json:"hold,omitempty"`
	// Reruns (batch show): who reran or released the batch, or made it by
	// rerunning another, and why.
	Reruns []rerunJSON `json:"reruns,omitempty"`
}

// holdJSON gives why a HELD (or released) batch was held.
type holdJSON struct {
	Ratio          float64 `json:"ratio"`
	MaxRejectRatio float64 `json:"max_reject_ratio"`
	Rejected       int     `json:"rejected"`
	Rows           int     `json:"rows"`
}

func toJSON(b enrollsftp.Batch) batchJSON {
	j := batchJSON{BatchID: b.ID, Source: b.Source, File: b.File, Type: string(b.Type), SHA256: b.SHA256,
		Status: b.Shown(), Rows: b.Rows, Accepted: b.Accepted, Rejected: b.Rejected, Duplicate: b.Duplicate,
		PendingKYC: b.PendingKYC, ReceivedAt: b.ReceivedAt, ProcessedAt: b.ProcessedAt, SupersededBy: b.SupersededBy,
		StagedRemovedAt: b.StagedRemovedAt, Error: b.Error, Layout: b.Layout}
	if b.Status == enrollsftp.BatchHeld {
		j.Hold = &holdJSON{Ratio: b.RejectRatio(), MaxRejectRatio: b.MaxRejectRatio, Rejected: b.Rejected, Rows: b.Rows}
	}
	return j
}

func (a *app) batches(args []string) error {
	fs := flag.NewFlagSet("batches", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	status := fs.String("status", "", "only batches with this status: "+strings.Join(enrollsftp.Statuses, ", "))
	source := fs.String("source", "", "only batches from this source")
	since := fs.String("since", "", "only batches received at or after this time (RFC 3339, or a date: its midnight UTC)")
	if pos, err := a.parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return usageErr("batches: unexpected %q", pos[0])
	}
	f := enroll.Filter{Status: strings.ToUpper(*status), Source: *source}
	if f.Status != "" && !slices.Contains(enrollsftp.Statuses, f.Status) {
		return usageErr("batches: --status %q: want one of %s", *status, strings.Join(enrollsftp.Statuses, ", "))
	}
	if *since != "" {
		t, err := when(*since, false)
		if err != nil {
			return usageErr("batches: --since %q: want RFC 3339 (2026-11-15T02:00:00Z) or a date (2026-11-15)", *since)
		}
		f.Since = t
	}
	l, err := a.openLedgerReadOnly()
	if err != nil {
		return err
	}
	defer l.Close()
	list, err := l.Batches(a.ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]batchJSON, 0, len(list))
		for _, b := range list {
			out = append(out, toJSON(b))
		}
		return a.printJSON(out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BATCH\tSOURCE\tFILE\tTYPE\tSTATUS\tROWS\tACCEPTED\tREJECTED\tDUPLICATE\tPENDING_KYC\tRECEIVED\tSUPERSEDED_BY")
	for _, b := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", b.ID, dash(b.Source), report.OneLine(b.File), b.Type, b.Shown(),
			b.Rows, b.Accepted, b.Rejected, b.Duplicate, b.PendingKYC, b.ReceivedAt, dash(b.SupersededBy))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) batchShow(args []string) error {
	fs := flag.NewFlagSet("batch show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	l, b, err := a.openBatch("batch show", pos, true)
	if err != nil {
		return err
	}
	defer l.Close()
	counts, err := l.CodeCounts(a.ctx, b.ID)
	if err != nil {
		return err
	}
	for _, e := range b.FileErrors {
		counts[string(e.Code)]++
	}
	reruns, err := l.Reruns(a.ctx, b.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		j := toJSON(b)
		j.ErrorCodes = counts
		j.Reruns = rerunsJSON(reruns)
		return a.printJSON(j)
	}
	// Each value on one line (report.OneLine): a file's name or an error
	// quoting a vendor's cell may hold a line break.
	o := report.OneLine
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{{"batch", b.ID}, {"source", dash(b.Source)}, {"file", b.File},
		{"type", string(b.Type)}, {"layout", dash(b.Layout)}, {"sha256", b.SHA256}, {"size", fmt.Sprint(b.Size)}, {"status", b.Shown()},
		{"rows", fmt.Sprint(b.Rows)}, {"accepted", fmt.Sprint(b.Accepted)}, {"rejected", fmt.Sprint(b.Rejected)},
		{"duplicate", fmt.Sprint(b.Duplicate)}, {"pending_kyc", fmt.Sprint(b.PendingKYC)},
		{"received_at", b.ReceivedAt}, {"processed_at", b.ProcessedAt}, {"superseded_by", dash(b.SupersededBy)},
		{"delivered_at", dash(b.DeliveredAt)}, {"staged", stagedShown(b)}, {"error", dash(b.Error)}} {
		fmt.Fprintf(tw, "%s\t%s\n", kv[0], o(kv[1]))
	}
	codes := make([]string, 0, len(counts))
	for c := range counts {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		fmt.Fprintf(tw, "code %s\t%d\n", o(c), counts[c])
	}
	for _, e := range b.FileErrors {
		fmt.Fprintf(tw, "file error\t%s: %s\n", e.Code, o(e.Message))
	}
	if b.Status == enrollsftp.BatchHeld {
		reason := b.HoldReason()
		if b.SupersededBy != "" {
			reason = fmt.Sprintf("was held: %d of %d rows rejected (%.1f%%), over %g; released as batch %s",
				b.Rejected, b.Rows, 100*b.RejectRatio(), b.MaxRejectRatio, b.SupersededBy)
		}
		fmt.Fprintf(tw, "held\t%s\n", reason)
	}
	for _, r := range rerunsJSON(reruns) {
		fmt.Fprintf(tw, "%s\t%s\n", rerunLabel(r, b.ID), o(rerunShown(r)))
	}
	return tw.Flush()
}

// stagedShown is the staged copy as `batch show` gives it: its path, or
// that retention removed it.
func stagedShown(b enrollsftp.Batch) string {
	if b.StagedRemovedAt != "" {
		return fmt.Sprintf("removed by staging_retention at %s (was %s); `ack ID` still rebuilds the outputs", b.StagedRemovedAt, b.StagedPath)
	}
	return dash(b.StagedPath)
}

func (a *app) ack(args []string) error {
	fs := flag.NewFlagSet("ack", flag.ContinueOnError)
	out := fs.String("out", "out", "output folder")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("ack: want exactly one batch ID")
	}
	if err := checkBatchID(pos[0]); err != nil {
		return err
	}
	l, err := a.openLedgerReadOnly()
	if err != nil {
		return err
	}
	defer l.Close()
	var files export.Files
	err = l.View(a.ctx, pos[0], func(v enroll.View) error {
		files, err = export.Write(*out, v.Batch, export.Records(v.Each))
		return err
	})
	if errors.Is(err, enroll.ErrBatchNotFound) || errors.Is(err, enroll.ErrBatchAmbiguous) {
		return notFound(err)
	}
	if err != nil {
		return err
	}
	for _, p := range []string{files.Ack, files.Summary, files.Errors} {
		if p != "" {
			fmt.Fprintln(a.stdout, "wrote", p)
		}
	}
	return nil
}

func (a *app) kycApprove(args []string) error {
	fs := flag.NewFlagSet("kyc approve", flag.ContinueOnError)
	person := fs.String("person", "", "person id")
	reason := fs.String("reason", "", "why the identity is approved (kept in the audit trail)")
	by := fs.String("by", "", "the operator approving (default: the OS user; SUDO_USER when set)")
	if pos, err := a.parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 || *person == "" || strings.TrimSpace(*reason) == "" {
		return usageErr("kyc approve: want --person ID --reason TEXT [--by NAME]")
	}
	op, err := operator("kyc approve", *by, *reason)
	if err != nil {
		return err
	}
	l, err := a.openExistingLedger()
	if err != nil {
		return err
	}
	defer l.Close()
	n, err := l.ApproveKYC(a.ctx, *person, op)
	if errors.Is(err, enroll.ErrPersonNotFound) {
		return notFound(err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "approved KYC for person %s by %s; %d pending enrollment(s) applied\n", *person, op.Name, n)
	return nil
}

func (a *app) lookup(args []string) error {
	fs := flag.NewFlagSet("lookup", flag.ContinueOnError)
	employer := fs.String("employer", "", "employer id")
	employee := fs.String("employee", "", "employee number")
	person := fs.String("person", "", "person id")
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := a.parse(fs, args); err != nil {
		return err
	} else if len(pos) != 0 {
		return usageErr("lookup: unexpected %q", pos[0])
	}
	byPerson := *person != ""
	byEmployee := *employer != "" && *employee != ""
	if byPerson == byEmployee {
		return usageErr("lookup: want --employer E --employee N, or --person ID")
	}
	l, err := a.openLedgerReadOnly()
	if err != nil {
		return err
	}
	defer l.Close()
	var p *enroll.Person
	if byPerson {
		p, err = l.LookupPerson(a.ctx, *person)
	} else {
		p, err = l.LookupEmployee(a.ctx, *employer, *employee)
	}
	if errors.Is(err, enroll.ErrPersonNotFound) {
		return &exitError{code: exitFailure, err: err}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return a.printJSON(p)
	}
	printPerson(a, p)
	return nil
}

// printPerson writes lookup's text: each value on its line, line breaks
// and control characters in it escaped (report.OneLine).
func printPerson(a *app, p *enroll.Person) {
	w := a.stdout
	o := report.OneLine
	fmt.Fprintf(w, "person %s: %s %s  ssn %s  kyc %s %s\n", o(p.PersonID), o(p.FirstName), o(p.LastName), dash(p.SSN),
		p.KYC.Status, o(strings.Join(p.KYC.Codes, ";")))
	for _, ap := range p.KYC.Approvals {
		fmt.Fprintf(w, "  kyc approved %s by %s: %s\n", ap.ApprovedAt, o(dash(ap.ApprovedBy)), o(ap.Reason))
	}
	for _, e := range p.Employments {
		fmt.Fprintf(w, "  employment %s/%s %s hired %s terminated %s\n", o(e.EmployerID), o(e.EmployeeID), e.Status,
			dash(e.HireDate), dash(e.TerminationDate))
	}
	for _, e := range p.Enrollments {
		det := ""
		if e.Detached {
			det = " (detached)"
		}
		fmt.Fprintf(w, "  enrollment %s %s %s/%s %s%s %s..%s account %s\n", e.EnrollmentID, e.PlanType, o(e.EmployerID),
			o(e.PlanCode), e.Status, det, e.EffectiveDate, dash(e.EndDate), e.AccountID)
		for _, el := range e.Elections {
			fmt.Fprintf(w, "    election %s %s %s/period %s from %s\n", el.Status, el.AnnualAmount, el.PerPayPeriodAmount,
				el.CoverageTier, el.EffectiveDate)
		}
	}
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// openBatch opens the ledger (read-only, or for writing) and loads the
// batch named by the command's one argument; the caller closes the ledger.
func (a *app) openBatch(cmd string, pos []string, readOnly bool) (*enroll.Ledger, enrollsftp.Batch, error) {
	if len(pos) != 1 {
		return nil, enrollsftp.Batch{}, usageErr("%s: want exactly one batch ID", cmd)
	}
	if err := checkBatchID(pos[0]); err != nil {
		return nil, enrollsftp.Batch{}, err
	}
	open := a.openExistingLedger // a rerun of a batch needs the ledger that has it
	if readOnly {
		open = a.openLedgerReadOnly
	}
	l, err := open()
	if err != nil {
		return nil, enrollsftp.Batch{}, err
	}
	b, err := l.Batch(a.ctx, pos[0])
	if err != nil {
		l.Close()
		if errors.Is(err, enroll.ErrBatchNotFound) || errors.Is(err, enroll.ErrBatchAmbiguous) {
			return nil, b, notFound(err)
		}
		return nil, b, err
	}
	return l, b, nil
}

// checkBatchID refuses an empty batch id with a usage error, rather than
// "not found" of nothing.
func checkBatchID(id string) error {
	if strings.TrimSpace(id) == "" {
		return usageErr("batch id: empty: give the id, or at least %d of its first characters", enroll.MinBatchPrefix)
	}
	return nil
}
