// Package report turns the ledger's record into what a compliance reviewer
// reads: the audit trail of a person or a batch (audit.go), and the report
// of a period — every file received, what became of it, who reran or
// released it and why, what was delivered, every manual KYC approval —
// as one self-contained HTML page, CSV or JSON.
//
// It reads through enroll's read methods and decides nothing: Build is a
// pure function of the enroll.Period it is given. No SSN or date of birth
// reaches its output: the ledger's snapshots hold neither, and every text
// that echoes input or an operator's words is masked again here.
package report

import (
	"cmp"
	"slices"
	"time"

	"enrollsftp"
	"enrollsftp/enroll"
)

// Report is the compliance report of a period (its JSON form is stable).
type Report struct {
	Since       string `json:"since"` // RFC 3339: the period is Since ≤ t < Until
	Until       string `json:"until"`
	Source      string `json:"source"` // "" for every source
	GeneratedAt string `json:"generated_at"`
	Totals      Totals `json:"totals"`
	// Files are the files received in the period, in the order they came.
	Files []File `json:"files"`
	// KYCApprovals are the manual approvals made in the period, of any
	// source's people.
	KYCApprovals []Approval `json:"kyc_approvals"`
	// OperatorActions is what was done in the period, by its own time,
	// oldest first: every rerun, release of a hold and KYC approval
	// (whenever the file concerned was received), and the deliveries of
	// files received before the period (those of the period's own files
	// are with them, in Files).
	OperatorActions []Action `json:"operator_actions"`
	// RejectionsByCode counts, over the files' outcomes, each error code of
	// a rejected record or a rejected file (a record rejected with two
	// codes counts under each), most frequent first.
	RejectionsByCode []CodeCount `json:"rejections_by_code"`
	// RejectionsByDay counts the rejected records (a file rejected whole
	// counts once) by the day they were processed, every day of the period.
	RejectionsByDay []DayCount `json:"rejections_by_day"`
}

// Totals sum the period.
type Totals struct {
	Files            int `json:"files"`
	FilesApplied     int `json:"files_applied"`
	FilesRejected    int `json:"files_rejected"`
	FilesHeld        int `json:"files_held"` // still HELD at the report's time
	FilesFailed      int `json:"files_failed"`
	Rows             int `json:"rows"`
	Accepted         int `json:"accepted"`
	Rejected         int `json:"rejected"`
	Duplicate        int `json:"duplicate"`
	PendingKYC       int `json:"pending_kyc"`
	Holds            int `json:"holds"`          // files held at some point
	HoldsReleased    int `json:"holds_released"` // by an operator's rerun --force
	Reruns           int `json:"reruns"`         // every rerun, releases included
	KYCApprovals     int `json:"kyc_approvals"`
	OutputsDelivered int `json:"outputs_delivered"`
	// FilesAlreadyProcessed are the files received whose bytes an earlier
	// batch had applied (also counted in Files).
	FilesAlreadyProcessed int `json:"files_already_processed"`
	// The operator actions of the period by their own time (Holds,
	// HoldsReleased and Reruns count those of the period's files).
	ReleasesInPeriod int `json:"releases_in_period"`
	RerunsInPeriod   int `json:"reruns_in_period"` // releases included, as Reruns
	// DeliveriesOfEarlierFiles counts the deliveries made in the period of
	// files received before it.
	DeliveriesOfEarlierFiles int `json:"deliveries_of_earlier_files"`
}

// StatusAlreadyProcessed is the status of a file whose bytes an earlier
// batch had applied: answered FILE_ALREADY_PROCESSED (as REJECTED, to the
// vendor), never processed, no batch of its own.
const StatusAlreadyProcessed = "ALREADY_PROCESSED"

// LocalSource is how the report shows the source of a file processed
// locally (`process`), which has none: its JSON keeps source "".
const LocalSource = "local"

// File is one file received and what became of it: the figures are those
// of the batch that counts (the last rerun, or the delivery of the file
// that settled earlier failures); Batches lists every batch of the file.
type File struct {
	Source      string      `json:"source"` // "" for a local file (shown as LocalSource)
	Name        string      `json:"file"`
	Type        string      `json:"type"`
	SHA256      string      `json:"sha256"`
	Size        int64       `json:"size"`
	ReceivedAt  string      `json:"received_at"`
	ProcessedAt string      `json:"processed_at"`
	Status      string      `json:"status"`
	BatchID     string      `json:"batch_id"` // "" for a file already processed: it has no batch
	Rows        int         `json:"rows"`
	Accepted    int         `json:"accepted"`
	Rejected    int         `json:"rejected"`
	Duplicate   int         `json:"duplicate"`
	PendingKYC  int         `json:"pending_kyc"`
	Codes       []CodeCount `json:"codes"` // per code, warnings included
	Error       string      `json:"error"` // why a FAILED batch failed
	Held        bool        `json:"held"`  // held at some point
	Batches     []Attempt   `json:"batches"`
	Reruns      []Rerun     `json:"reruns"`
	Outputs     []Output    `json:"outputs"`
	// EarlierBatchID is, for a file already processed, the batch that had
	// applied its bytes.
	EarlierBatchID string `json:"earlier_batch_id"`
}

// Attempt is one batch of a file.
type Attempt struct {
	BatchID      string `json:"batch_id"`
	Status       string `json:"status"`
	ProcessedAt  string `json:"processed_at"`
	DeliveredAt  string `json:"delivered_at"`
	SupersededBy string `json:"superseded_by"`
}

// Rerun is an operator's rerun of a batch: RERUN, or RELEASED for a HELD
// batch released with --force.
type Rerun struct {
	At           string `json:"at"`
	Action       string `json:"action"`
	By           string `json:"by"`
	Reason       string `json:"reason"`
	BatchID      string `json:"batch_id"`       // the batch rerun
	RerunBatchID string `json:"rerun_batch_id"` // the batch it became
}

// Output is a file delivered to the source's outbound folder.
type Output struct {
	BatchID     string `json:"batch_id"` // "" for the answer to a file already processed
	Name        string `json:"name"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	DeliveredAt string `json:"delivered_at"`
}

// Approval is a manual KYC approval.
type Approval struct {
	At        string `json:"approved_at"`
	By        string `json:"approved_by"`
	Reason    string `json:"reason"`
	PersonID  string `json:"person_id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// Action is something done in the period, placed by its own time: an
// operator's rerun (RERUN), release of a hold (RELEASED) or KYC approval
// (KYC_APPROVED), or the delivery (DELIVERED) of the outputs of a file
// received before the period.
type Action struct {
	At     string `json:"at"`
	Action string `json:"action"`
	By     string `json:"by"` // the operator; "" when not recorded, and for a delivery
	Reason string `json:"reason"`
	// Source, File and ReceivedAt are those of the file a rerun, release
	// or delivery concerns ("" for an approval; Source "" for a local file).
	Source     string `json:"source"`
	File       string `json:"file"`
	ReceivedAt string `json:"received_at"`
	// BatchID is the batch rerun, released or delivered; RerunBatchID the
	// batch a rerun or release became.
	BatchID      string `json:"batch_id"`
	RerunBatchID string `json:"rerun_batch_id"`
	// PersonID and the names are those of the person an approval is of.
	PersonID  string   `json:"person_id"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Outputs   []Output `json:"outputs"` // what a delivery sent
}

// CodeCount is a code and how often it occurred.
type CodeCount struct {
	Code  string `json:"code"`
	Count int    `json:"count"`
}

// DayCount is a day (YYYY-MM-DD) and a count.
type DayCount struct {
	Day   string `json:"day"`
	Count int    `json:"count"`
}

// maxDays bounds the days RejectionsByDay lists one by one; a longer
// period lists only the days that had rejections.
const maxDays = 400

// Build makes the report of period p, the ledger's record of
// [since, until) for source ("" for all), as of now.
func Build(p *enroll.Period, since, until time.Time, source string, now time.Time) *Report {
	r := &Report{Since: stamp(since), Until: stamp(until), Source: source, GeneratedAt: stamp(now),
		Files: []File{}, KYCApprovals: []Approval{}, OperatorActions: []Action{}}
	byCode, byDay := map[string]int{}, map[string]int{}
	refusals := p.Refusals
	for _, chain := range chains(p.Batches) {
		// The files already processed come among the others, in the order
		// they were received.
		for len(refusals) > 0 && refusals[0].ReceivedAt < chain[0].ReceivedAt {
			r.addRefusal(refusals[0], byCode, byDay)
			refusals = refusals[1:]
		}
		f := fileOf(chain)
		last := chain[len(chain)-1]
		for c, n := range last.Rejections {
			byCode[c] += n
		}
		if day := dayOf(last.ProcessedAt); day != "" {
			n := last.Rejected
			if len(last.FileErrors) > 0 {
				n++ // rejected whole
			}
			byDay[day] += n
		}
		r.Files = append(r.Files, f)
		t := &r.Totals
		t.Files++
		switch f.Status {
		case enrollsftp.BatchApplied:
			t.FilesApplied++
		case enrollsftp.BatchRejected:
			t.FilesRejected++
		case enrollsftp.BatchHeld:
			t.FilesHeld++
		case enrollsftp.BatchFailed:
			t.FilesFailed++
		}
		t.Rows += f.Rows
		t.Accepted += f.Accepted
		t.Rejected += f.Rejected
		t.Duplicate += f.Duplicate
		t.PendingKYC += f.PendingKYC
		if f.Held {
			t.Holds++
		}
		for _, rr := range f.Reruns {
			t.Reruns++
			if rr.Action == "RELEASED" {
				t.HoldsReleased++
			}
		}
		t.OutputsDelivered += len(f.Outputs)
	}
	for _, rf := range refusals {
		r.addRefusal(rf, byCode, byDay)
	}
	for _, a := range p.Approvals {
		r.KYCApprovals = append(r.KYCApprovals, Approval{At: a.At, By: enrollsftp.ScrubSSN(a.By),
			Reason: enrollsftp.ScrubSensitive(a.Reason), PersonID: a.PersonID,
			FirstName: enrollsftp.ScrubSensitive(a.FirstName), LastName: enrollsftp.ScrubSensitive(a.LastName)})
	}
	r.Totals.KYCApprovals = len(r.KYCApprovals)
	r.OperatorActions = actions(p, r.KYCApprovals)
	for _, a := range r.OperatorActions {
		switch a.Action {
		case "RELEASED":
			r.Totals.ReleasesInPeriod++
			r.Totals.RerunsInPeriod++
		case "RERUN":
			r.Totals.RerunsInPeriod++
		case "DELIVERED":
			r.Totals.DeliveriesOfEarlierFiles++
		}
	}
	r.RejectionsByCode = counts(byCode)
	slices.SortStableFunc(r.RejectionsByCode, func(a, b CodeCount) int { return cmp.Compare(b.Count, a.Count) })
	r.RejectionsByDay = days(byDay, since, until)
	return r
}

// addRefusal adds a file already processed: a file received like any
// other, answered FILE_ALREADY_PROCESSED. The vendor's answer says
// REJECTED with that code, so the code counts among the rejections (once,
// on the day it was answered), as a file rejected whole does.
func (r *Report) addRefusal(rf enroll.Refusal, byCode, byDay map[string]int) {
	code := string(enrollsftp.FileAlreadyProcessed)
	f := File{Source: rf.Source, Name: enrollsftp.ScrubSSN(rf.File), Type: string(rf.Type), SHA256: rf.SHA256,
		Size: rf.Size, ReceivedAt: rf.ReceivedAt, ProcessedAt: rf.ReceivedAt, Status: StatusAlreadyProcessed,
		EarlierBatchID: rf.EarlierBatchID, Codes: []CodeCount{{Code: code, Count: 1}}, Batches: []Attempt{},
		Reruns: []Rerun{}, Outputs: outputsOf("", rf.Outputs)}
	byCode[code]++
	if day := dayOf(rf.ReceivedAt); day != "" {
		byDay[day]++
	}
	r.Files = append(r.Files, f)
	r.Totals.Files++
	r.Totals.FilesAlreadyProcessed++
	r.Totals.OutputsDelivered += len(f.Outputs)
}

// actions are the period's operator actions and deliveries of earlier
// files, by their own time (approvals, already masked, as given).
func actions(p *enroll.Period, approvals []Approval) []Action {
	out := []Action{}
	for _, rr := range p.Reruns {
		out = append(out, Action{At: rr.At, Action: rr.Action, By: enrollsftp.ScrubSSN(rr.Actor),
			Reason: enrollsftp.ScrubSensitive(rr.Reason), Source: rr.File.Source, File: enrollsftp.ScrubSSN(rr.File.Name),
			ReceivedAt: rr.File.ReceivedAt, BatchID: rr.EntityID, RerunBatchID: rr.BatchID, Outputs: []Output{}})
	}
	for _, a := range approvals {
		out = append(out, Action{At: a.At, Action: "KYC_APPROVED", By: a.By, Reason: a.Reason, PersonID: a.PersonID,
			FirstName: a.FirstName, LastName: a.LastName, Outputs: []Output{}})
	}
	for _, d := range p.Deliveries {
		out = append(out, Action{At: d.At, Action: "DELIVERED", Source: d.File.Source,
			File: enrollsftp.ScrubSSN(d.File.Name), ReceivedAt: d.File.ReceivedAt, BatchID: d.BatchID,
			Outputs: outputsOf(d.BatchID, d.Outputs)})
	}
	slices.SortStableFunc(out, func(a, b Action) int { return cmp.Compare(a.At, b.At) })
	return out
}

// outputsOf are a batch's outputs as the report shows them.
func outputsOf(batch string, sent []enroll.Output) []Output {
	out := make([]Output, 0, len(sent))
	for _, o := range sent {
		out = append(out, Output{BatchID: batch, Name: enrollsftp.ScrubSSN(o.Name), SHA256: o.SHA256, Size: o.Size,
			DeliveredAt: o.DeliveredAt})
	}
	return out
}

// chains groups the batches by file: each batch with the batches that
// superseded it, down to the one that counts (last). A file's chain comes
// where its first batch came.
func chains(batches []enroll.PeriodBatch) [][]enroll.PeriodBatch {
	index := make(map[string]int, len(batches))
	for i, b := range batches {
		index[b.ID] = i
	}
	final := func(i int) int {
		for seen := 0; seen < len(batches); seen++ { // a cycle cannot be stored, but never loop
			j, ok := index[batches[i].SupersededBy]
			if batches[i].SupersededBy == "" || !ok {
				break
			}
			i = j
		}
		return i
	}
	var order []int
	groups := map[int][]int{} // the final batch → the batches of its file, in order
	for i := range batches {
		f := final(i)
		if _, ok := groups[f]; !ok {
			order = append(order, f)
		}
		if i != f {
			groups[f] = append(groups[f], i)
		}
	}
	out := make([][]enroll.PeriodBatch, 0, len(order))
	for _, f := range order {
		var chain []enroll.PeriodBatch
		for _, i := range groups[f] {
			chain = append(chain, batches[i])
		}
		out = append(out, append(chain, batches[f]))
	}
	return out
}

// fileOf describes a file from its chain of batches.
func fileOf(chain []enroll.PeriodBatch) File {
	last := chain[len(chain)-1]
	f := File{Source: last.Source, Name: enrollsftp.ScrubSSN(last.File), Type: string(last.Type), SHA256: last.SHA256,
		Size: last.Size, ReceivedAt: last.ReceivedAt, ProcessedAt: last.ProcessedAt, Status: last.Status,
		BatchID: last.ID, Rows: last.Rows, Accepted: last.Accepted, Rejected: last.Rejected, Duplicate: last.Duplicate,
		PendingKYC: last.PendingKYC, Codes: counts(last.Codes), Batches: []Attempt{}, Reruns: []Rerun{},
		Outputs: []Output{}}
	if last.Status == enrollsftp.BatchFailed {
		f.Error = enrollsftp.ScrubSensitive(last.Error)
	}
	for _, b := range chain {
		f.Held = f.Held || b.Status == enrollsftp.BatchHeld
		f.Batches = append(f.Batches, Attempt{BatchID: b.ID, Status: b.Status, ProcessedAt: b.ProcessedAt,
			DeliveredAt: b.DeliveredAt, SupersededBy: b.SupersededBy})
		for _, e := range b.Actions {
			if e.Action != "RERUN" && e.Action != "RELEASED" {
				continue
			}
			f.Reruns = append(f.Reruns, Rerun{At: e.At, Action: e.Action, By: enrollsftp.ScrubSSN(e.Actor),
				Reason: enrollsftp.ScrubSensitive(e.Reason), BatchID: e.EntityID, RerunBatchID: e.BatchID})
		}
		f.Outputs = append(f.Outputs, outputsOf(b.ID, b.Outputs)...)
	}
	return f
}

// counts lists a map's codes in name order.
func counts(m map[string]int) []CodeCount {
	out := make([]CodeCount, 0, len(m))
	for c, n := range m {
		out = append(out, CodeCount{Code: c, Count: n})
	}
	slices.SortFunc(out, func(a, b CodeCount) int { return cmp.Compare(a.Code, b.Code) })
	return out
}

// days lists every day of [since, until) with its count (for a period
// longer than maxDays, only the days that have one), and any day outside
// it that has one.
func days(m map[string]int, since, until time.Time) []DayCount {
	all := map[string]int{}
	first := since.UTC().Truncate(24 * time.Hour)
	last := until.UTC().Add(-time.Nanosecond).Truncate(24 * time.Hour)
	if n := int(last.Sub(first).Hours()/24) + 1; n > 0 && n <= maxDays {
		for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
			all[d.Format(time.DateOnly)] = 0
		}
	}
	for day, n := range m { // a rerun may have been processed after the period
		all[day] += n
	}
	out := make([]DayCount, 0, len(all))
	for day, n := range all {
		out = append(out, DayCount{Day: day, Count: n})
	}
	slices.SortFunc(out, func(a, b DayCount) int { return cmp.Compare(a.Day, b.Day) })
	return out
}

func dayOf(rfc3339 string) string {
	if len(rfc3339) < len(time.DateOnly) {
		return ""
	}
	return rfc3339[:len(time.DateOnly)]
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
