package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"enrollsftp"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteCSV writes the report as CSV in sections, each a title row, a
// header row and its rows, with a blank line between sections: report,
// totals, files, kyc_approvals, operator_actions, rejections_by_code,
// rejections_by_day. A file's codes, batches, reruns and outputs are each
// one cell, their items separated by "; ". A local file's source is
// written LocalSource. Every cell is neutralized against formula injection.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	t := r.Totals
	sections := []struct {
		title  string
		header []string
		rows   [][]string
	}{
		{"report", []string{"since", "until", "source", "generated_at"},
			[][]string{{r.Since, r.Until, r.Source, r.GeneratedAt}}},
		{"totals", []string{"files", "files_applied", "files_rejected", "files_held", "files_failed", "rows",
			"accepted", "rejected", "duplicate", "pending_kyc", "holds", "holds_released", "reruns", "kyc_approvals",
			"outputs_delivered", "files_already_processed", "releases_in_period", "reruns_in_period",
			"deliveries_of_earlier_files"},
			[][]string{itoa(t.Files, t.FilesApplied, t.FilesRejected, t.FilesHeld, t.FilesFailed, t.Rows, t.Accepted,
				t.Rejected, t.Duplicate, t.PendingKYC, t.Holds, t.HoldsReleased, t.Reruns, t.KYCApprovals,
				t.OutputsDelivered, t.FilesAlreadyProcessed, t.ReleasesInPeriod, t.RerunsInPeriod,
				t.DeliveriesOfEarlierFiles)}},
		{"files", []string{"received_at", "source", "file", "type", "sha256", "size", "processed_at", "status",
			"batch_id", "rows", "accepted", "rejected", "duplicate", "pending_kyc", "codes", "held", "batches",
			"reruns", "outputs", "error", "earlier_batch_id"}, fileRows(r.Files)},
		{"kyc_approvals", []string{"approved_at", "approved_by", "person_id", "first_name", "last_name", "reason"},
			approvalRows(r.KYCApprovals)},
		{"operator_actions", []string{"at", "action", "by", "reason", "source", "file", "received_at", "batch_id",
			"rerun_batch_id", "person_id", "first_name", "last_name", "outputs"}, actionRows(r.OperatorActions)},
		{"rejections_by_code", []string{"code", "count"}, codeRows(r.RejectionsByCode)},
		{"rejections_by_day", []string{"day", "count"}, dayRows(r.RejectionsByDay)},
	}
	for i, s := range sections {
		if i > 0 {
			cw.Flush()
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := cw.Write([]string{s.title}); err != nil {
			return err
		}
		if err := cw.Write(s.header); err != nil {
			return err
		}
		for _, row := range s.rows {
			for j := range row {
				row[j] = enrollsftp.NeutralizeCell(row[j])
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func fileRows(files []File) [][]string {
	var out [][]string
	for _, f := range files {
		var codes, batches, reruns, outputs []string
		for _, c := range f.Codes {
			codes = append(codes, fmt.Sprintf("%s=%d", c.Code, c.Count))
		}
		for _, b := range f.Batches {
			batches = append(batches, attemptText(b))
		}
		for _, rr := range f.Reruns {
			reruns = append(reruns, rerunText(rr))
		}
		for _, o := range f.Outputs {
			outputs = append(outputs, outputText(o))
		}
		out = append(out, []string{f.ReceivedAt, sourceLabel(f.Source), f.Name, f.Type, f.SHA256, strconv.FormatInt(f.Size, 10),
			f.ProcessedAt, f.Status, f.BatchID, strconv.Itoa(f.Rows), strconv.Itoa(f.Accepted), strconv.Itoa(f.Rejected),
			strconv.Itoa(f.Duplicate), strconv.Itoa(f.PendingKYC), strings.Join(codes, "; "), strconv.FormatBool(f.Held),
			strings.Join(batches, "; "), strings.Join(reruns, "; "), strings.Join(outputs, "; "), f.Error,
			f.EarlierBatchID})
	}
	return out
}

// sourceLabel is a file's source as shown: LocalSource for a local file.
func sourceLabel(source string) string {
	if source == "" {
		return LocalSource
	}
	return source
}

// outputText is an output delivered in a line.
func outputText(o Output) string {
	return fmt.Sprintf("%s sha256:%s %d bytes delivered %s", o.Name, o.SHA256, o.Size, o.DeliveredAt)
}

func actionRows(as []Action) [][]string {
	var out [][]string
	for _, a := range as {
		var outputs []string
		for _, o := range a.Outputs {
			outputs = append(outputs, outputText(o))
		}
		source := a.Source
		if a.File != "" {
			source = sourceLabel(a.Source)
		}
		by := a.By
		if by == "" && a.Action != "DELIVERED" {
			by = "(not recorded)"
		}
		out = append(out, []string{a.At, a.Action, by, a.Reason, source, a.File, a.ReceivedAt, a.BatchID,
			a.RerunBatchID, a.PersonID, a.FirstName, a.LastName, strings.Join(outputs, "; ")})
	}
	return out
}

// attemptText is one batch of a file in a line.
func attemptText(b Attempt) string {
	s := fmt.Sprintf("%s %s processed %s", b.BatchID, b.Status, b.ProcessedAt)
	if b.DeliveredAt != "" {
		s += " delivered " + b.DeliveredAt
	}
	if b.SupersededBy != "" {
		s += " superseded by " + b.SupersededBy
	}
	return s
}

// rerunText is an operator's rerun in a line.
func rerunText(r Rerun) string {
	by := r.By
	if by == "" {
		by = "(not recorded)"
	}
	verb := "rerun"
	if r.Action == "RELEASED" {
		verb = "hold released"
	}
	why := ": " + r.Reason
	if r.Reason == "" {
		why = " (no reason given)"
	}
	return fmt.Sprintf("%s %s by %s%s (batch %s → %s)", r.At, verb, by, why, r.BatchID, r.RerunBatchID)
}

func approvalRows(as []Approval) [][]string {
	var out [][]string
	for _, a := range as {
		out = append(out, []string{a.At, a.By, a.PersonID, a.FirstName, a.LastName, a.Reason})
	}
	return out
}

func codeRows(cs []CodeCount) [][]string {
	var out [][]string
	for _, c := range cs {
		out = append(out, []string{c.Code, strconv.Itoa(c.Count)})
	}
	return out
}

func dayRows(ds []DayCount) [][]string {
	var out [][]string
	for _, d := range ds {
		out = append(out, []string{d.Day, strconv.Itoa(d.Count)})
	}
	return out
}

func itoa(ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strconv.Itoa(n)
	}
	return out
}
