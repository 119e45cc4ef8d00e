package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"enrollsftp"
	"enrollsftp/enroll"
)

var (
	since = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	until = time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)
	now   = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
)

// period is a record of three files: one HELD, then released by alice
// (applied on the 5th, after the period); one rejected whole; one whose
// first download failed and whose second was delivered.
func period() *enroll.Period {
	batch := func(id, file, status, received, processed string) enroll.PeriodBatch {
		return enroll.PeriodBatch{Batch: enrollsftp.Batch{ID: id, Source: "acme", File: file, Type: enrollsftp.Elections,
			SHA256: "sha-" + file, Size: 100, Status: status, ReceivedAt: received, ProcessedAt: processed},
			Codes: map[string]int{}, Rejections: map[string]int{}}
	}
	held := batch("A", "elections_1.csv", enrollsftp.BatchHeld, "2026-11-01T02:00:00Z", "2026-11-01T02:00:00Z")
	held.Rows, held.Accepted, held.Rejected, held.SupersededBy = 3, 1, 2, "B"
	held.Codes["INVALID_AMOUNT"], held.Rejections["INVALID_AMOUNT"] = 2, 2
	held.Actions = []enroll.AuditEvent{{At: "2026-11-05T09:00:00Z", Action: "RELEASED", Actor: "alice",
		Reason: "vendor confirmed, see SSN 123-45-6789 DOB 1980-04-12", EntityID: "A", BatchID: "B"}}
	released := batch("B", "elections_1.csv", enrollsftp.BatchApplied, "2026-11-01T02:00:00Z", "2026-11-05T09:00:00Z")
	released.Rows, released.Accepted, released.Rejected = 3, 1, 2
	released.Codes["INVALID_AMOUNT"], released.Rejections["INVALID_AMOUNT"] = 2, 2
	released.Codes["KYC_FAILED"] = 1
	rejected := batch("C", "=census_2.csv", enrollsftp.BatchRejected, "2026-11-02T02:00:00Z", "2026-11-02T02:00:00Z")
	rejected.FileErrors = enrollsftp.Errors{{Code: "HEADER_MISSING_COLUMN"}, {Code: "HEADER_MISSING_COLUMN"}}
	rejected.Codes["HEADER_MISSING_COLUMN"], rejected.Rejections["HEADER_MISSING_COLUMN"] = 2, 2
	rejected.Codes["HEADER_UNKNOWN_COLUMN"], rejected.Rejections["HEADER_UNKNOWN_COLUMN"] = 3, 3
	failed := batch("D", "census_3.csv", enrollsftp.BatchFailed, "2026-11-03T02:00:00Z", "2026-11-03T02:00:00Z")
	failed.SHA256, failed.SupersededBy = "", "E"
	delivered := batch("E", "census_3.csv", enrollsftp.BatchApplied, "2026-11-03T03:00:00Z", "2026-11-03T03:00:00Z")
	delivered.Rows, delivered.Accepted, delivered.DeliveredAt = 5, 5, "2026-11-03T03:00:01Z"
	delivered.Outputs = []enroll.Output{{Name: "census_3.ack.csv", SHA256: "s1", Size: 9, DeliveredAt: "2026-11-03T03:00:01Z"},
		{Name: "census_3.ack.json", SHA256: "s2", Size: 8, DeliveredAt: "2026-11-03T03:00:01Z"}}
	return &enroll.Period{
		Batches: []enroll.PeriodBatch{held, rejected, failed, delivered, released}, // B was followed out of the period
		Approvals: []enroll.Approval{{At: "2026-11-02T10:00:00Z", By: "bob", Reason: "passport, DOB 1990-02-02",
			PersonID: "P", FirstName: "Cy", LastName: "Young"}},
	}
}

func TestBuildFollowsEachFileToTheBatchThatCounts(t *testing.T) {
	r := Build(period(), since, until, "acme", now)
	if len(r.Files) != 3 {
		t.Fatalf("got %d files, want 3: %+v", len(r.Files), r.Files)
	}
	tests := []struct {
		file, status, batch string
		batches, reruns     int
		held                bool
	}{
		{"elections_1.csv", "APPLIED", "B", 2, 1, true},
		{"=census_2.csv", "REJECTED", "C", 1, 0, false},
		{"census_3.csv", "APPLIED", "E", 2, 0, false},
	}
	for i, tt := range tests {
		f := r.Files[i]
		if f.Name != tt.file || f.Status != tt.status || f.BatchID != tt.batch || len(f.Batches) != tt.batches ||
			len(f.Reruns) != tt.reruns || f.Held != tt.held {
			t.Errorf("file %d: got %s %s batch %s, %d batches, %d reruns, held %v; want %+v", i, f.Name, f.Status,
				f.BatchID, len(f.Batches), len(f.Reruns), f.Held, tt)
		}
	}
	if f := r.Files[0]; f.Batches[len(f.Batches)-1].BatchID != "B" || f.Reruns[0].By != "alice" ||
		f.Reruns[0].Reason != "vendor confirmed, see SSN ***-**-6789 DOB ****-**-**" || f.Reruns[0].RerunBatchID != "B" {
		t.Errorf("the released file: %+v", f)
	}
	if f := r.Files[2]; len(f.Outputs) != 2 || f.Outputs[0].SHA256 != "s1" || f.Outputs[0].BatchID != "E" {
		t.Errorf("the delivered file's outputs: %+v", f.Outputs)
	}
	want := Totals{Files: 3, FilesApplied: 2, FilesRejected: 1, Rows: 8, Accepted: 6, Rejected: 2, Holds: 1,
		HoldsReleased: 1, Reruns: 1, KYCApprovals: 1, OutputsDelivered: 2}
	if r.Totals != want {
		t.Errorf("totals: got %+v, want %+v", r.Totals, want)
	}
	// Most frequent first, then by name.
	if got := r.RejectionsByCode; len(got) != 3 || got[0] != (CodeCount{"HEADER_UNKNOWN_COLUMN", 3}) ||
		got[1] != (CodeCount{"HEADER_MISSING_COLUMN", 2}) || got[2] != (CodeCount{"INVALID_AMOUNT", 2}) {
		t.Errorf("rejections by code: %+v", got)
	}
	// Every day of the period, and the day after it when the release was
	// processed; a file rejected whole counts once.
	wantDays := []DayCount{{"2026-11-01", 0}, {"2026-11-02", 1}, {"2026-11-03", 0}, {"2026-11-05", 2}}
	if got := r.RejectionsByDay; len(got) != len(wantDays) {
		t.Errorf("rejections by day: got %+v, want %+v", got, wantDays)
	} else {
		for i := range got {
			if got[i] != wantDays[i] {
				t.Errorf("rejections by day: got %+v, want %+v", got, wantDays)
				break
			}
		}
	}
	if a := r.KYCApprovals; len(a) != 1 || a[0].By != "bob" || a[0].Reason != "passport, DOB ****-**-**" {
		t.Errorf("approvals: %+v", a)
	}
}

// The HTML is one file: inline CSS with print rules, inline SVG charts (a
// bar per code, a bar per day), no script, nothing fetched.
func TestHTMLIsSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, Build(period(), since, until, "acme", now)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, banned := range []string{"<script", "javascript:", "http:", "https:", "src=", "href=", "@import", "url(",
		"<link", "<img", "<iframe", "<object", "@font-face"} {
		if strings.Contains(strings.ToLower(page), banned) {
			t.Errorf("the page contains %q", banned)
		}
	}
	for _, want := range []string{"<style>", "@media print", "<svg", "Hold released", "alice", "=census_2.csv",
		"sha256 s1"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(page, "<svg"); n != 2 {
		t.Errorf("%d charts, want 2", n)
	}
	// 3 codes + 4 days.
	if n := strings.Count(page, `<rect class="bar"`); n != 7 {
		t.Errorf("%d bars, want 7", n)
	}
}

// The CSV reads back as sections; a cell a spreadsheet would evaluate is
// neutralized.
func TestCSVSections(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, Build(period(), since, until, "acme", now)); err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(&buf)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string][][]string{}
	var cur string
	for _, rec := range recs {
		if len(rec) == 1 && sections[rec[0]] == nil && cur != rec[0] {
			cur = rec[0]
			sections[cur] = [][]string{}
			continue
		}
		sections[cur] = append(sections[cur], rec)
	}
	for name, rows := range map[string]int{"report": 2, "totals": 2, "files": 4, "kyc_approvals": 2,
		"rejections_by_code": 4, "rejections_by_day": 5} {
		if len(sections[name]) != rows {
			t.Errorf("section %s: %d rows, want %d (header included)", name, len(sections[name]), rows)
		}
	}
	files := sections["files"]
	if len(files) == 4 && files[2][2] != "'=census_2.csv" {
		t.Errorf("file name cell %q, want it neutralized", files[2][2])
	}
	if len(files) == 4 && !strings.Contains(files[1][17], "hold released by alice") {
		t.Errorf("reruns cell %q", files[1][17])
	}
}

func TestJSONKeys(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, Build(period(), since, until, "acme", now)); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"since", "until", "source", "generated_at", "totals", "files", "kyc_approvals",
		"rejections_by_code", "rejections_by_day"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no key %q", k)
		}
	}
	if m["until"] != "2026-11-04T00:00:00Z" || m["generated_at"] != "2026-12-01T00:00:00Z" {
		t.Errorf("until %v, generated_at %v", m["until"], m["generated_at"])
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ field, in, want string }{
		{"ssn_last4", "6789", "***-**-6789"},
		{"ssn_last4", "x", "***-**-****"},
		{"ssn", "123-45-6789", "***-**-6789"},
		{"dob", "1980-04-12", "****-**-**"},
		{"date_of_birth", "04/12/1980", "****-**-**"},
		{"has_dob", "true", "true"},
		{"reason", "DOB 1980-04-12, SSN 123456789", "DOB ****-**-**, SSN ***-**-6789"},
		{"employee_id", "123-45-6789", "***-**-6789"},
		{"hire_date", "2020-01-06", "2020-01-06"},
		{"city", "Boston", "Boston"},
		{"plan_id", "01a22afd-526f-7ccd-9b14-123451675deb", "01a22afd-526f-7ccd-9b14-123451675deb"}, // nine digits in a row
		{"employee_id", "x-123451675-y", "x-***-**-1675-y"},
		{"middle_name", "", ""},
		// A date of birth typed into an address: masked; dates that are
		// not birth dates stay.
		{"address_line2", "SSN 345678912 born 1979-07-07", "SSN ***-**-8912 born ****-**-**"},
		{"effective_date", "2026-01-01", "2026-01-01"},
		{"enrollment_start", "2026-11-01", "2026-11-01"},
		{"approved_at", "2026-11-19T10:00:00Z", "2026-11-19T10:00:00Z"},
	}
	for _, tt := range tests {
		if got := Mask(tt.field, tt.in); got != tt.want {
			t.Errorf("Mask(%q, %q) = %q, want %q", tt.field, tt.in, got, tt.want)
		}
	}
}

func TestAuditEvent(t *testing.T) {
	tests := []struct {
		name    string
		in      enroll.AuditEvent
		actor   string
		changes []Change
	}{
		{"a row's create", enroll.AuditEvent{BatchID: "B", Line: 4, Action: "CREATE", Entity: "person",
			After: `{"first_name":"Cy","ssn_last4":"1120","has_dob":true,"dob":"1990-02-02"}`},
			"batch B line 4", []Change{{"dob", "", "****-**-**"}, {"first_name", "", "Cy"}, {"has_dob", "", "true"},
				{"ssn_last4", "", "***-**-1120"}}},
		{"a batch's status", enroll.AuditEvent{BatchID: "B", Action: "APPLIED", Entity: "batch"}, "batch B", []Change{}},
		{"an approval: the untouched fields of the whole row before are left out, the reason shown once",
			enroll.AuditEvent{Actor: "alice", Reason: "ok", Action: "KYC_APPROVED", Entity: "person",
				Before: `{"city":"Boston","kyc_status":"FAILED"}`, After: `{"kyc_status":"APPROVED","reason":"ok"}`},
			"operator alice", []Change{{"kyc_status", "FAILED", "APPROVED"}}},
		{"an approval before operators were named", enroll.AuditEvent{Action: "KYC_APPROVED", Entity: "person",
			After: `{"kyc_status":"APPROVED"}`}, "operator (not recorded)", []Change{{"kyc_status", "", "APPROVED"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AuditEvent(tt.in)
			if got.Actor.String() != tt.actor {
				t.Errorf("actor %q, want %q", got.Actor.String(), tt.actor)
			}
			if len(got.Changes) != len(tt.changes) {
				t.Fatalf("changes %+v, want %+v", got.Changes, tt.changes)
			}
			for i := range got.Changes {
				if got.Changes[i] != tt.changes[i] {
					t.Errorf("changes %+v, want %+v", got.Changes, tt.changes)
				}
			}
		})
	}
}

// The JSON form is an array however many events come, none included.
func TestAuditWriterJSON(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		var buf bytes.Buffer
		w := NewAuditWriter(&buf, true)
		for i := range n {
			if err := w.Write(AuditEvent(enroll.AuditEvent{Seq: int64(i), BatchID: "B", Action: "APPLIED", Entity: "batch"})); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var got []Event
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil || len(got) != n {
			t.Errorf("%d events: got %d, %v from %q", n, len(got), err, buf.String())
		}
	}
}

// refusedPeriod is a record of November 1-3: a file refused on the 1st
// (its bytes applied as batch OLD), a local file received on the 2nd, a
// local file refused on the 3rd; and, done in the period, the release and
// delivery of a file received in October, and a KYC approval.
func refusedPeriod() *enroll.Period {
	b := enroll.PeriodBatch{Batch: enrollsftp.Batch{ID: "L", File: "census_2.csv", Type: enrollsftp.Census, SHA256: "s2",
		Size: 50, Status: enrollsftp.BatchApplied, Rows: 2, Accepted: 2, ReceivedAt: "2026-11-02T02:00:00Z",
		ProcessedAt: "2026-11-02T02:00:00Z"}, Codes: map[string]int{}, Rejections: map[string]int{}}
	return &enroll.Period{
		Batches: []enroll.PeriodBatch{b},
		Refusals: []enroll.Refusal{
			{Source: "acme", File: "census_1.csv", Type: enrollsftp.Census, SHA256: "s1", Size: 40,
				ReceivedAt: "2026-11-01T02:00:00Z", EarlierBatchID: "OLD",
				Outputs: []enroll.Output{{Name: "census_1.ack.csv", SHA256: "o1", Size: 3, DeliveredAt: "2026-11-01T02:00:00Z"},
					{Name: "census_1.ack.json", SHA256: "o2", Size: 4, DeliveredAt: "2026-11-01T02:00:00Z"}}},
			{File: "census_3.csv", Type: enrollsftp.Census, SHA256: "s2", Size: 50, ReceivedAt: "2026-11-03T02:00:00Z",
				EarlierBatchID: "L"},
		},
		Reruns: []enroll.PeriodRerun{{AuditEvent: enroll.AuditEvent{At: "2026-11-02T09:00:00Z", Action: "RELEASED",
			Actor: "dana", Reason: "vendor called; SSN 123-45-6789, DOB 1980-04-12", EntityID: "OCT", BatchID: "OCT2"},
			File: enroll.FileRef{Source: "acme", Name: "elections_oct.csv", ReceivedAt: "2026-10-30T02:00:00Z"}}},
		Deliveries: []enroll.PeriodDelivery{{BatchID: "OCT2", At: "2026-11-02T09:00:05Z",
			File:    enroll.FileRef{Source: "acme", Name: "elections_oct.csv", ReceivedAt: "2026-10-30T02:00:00Z"},
			Outputs: []enroll.Output{{Name: "elections_oct.ack.csv", SHA256: "d1", Size: 9, DeliveredAt: "2026-11-02T09:00:05Z"}}}},
		Approvals: []enroll.Approval{{At: "2026-11-02T10:00:00Z", PersonID: "P", FirstName: "Cy", LastName: "Young",
			Reason: "passport"}},
	}
}

// Every file received is listed, those whose bytes were already applied
// too (among the others, by time, with the batch that had applied them and
// the answer delivered); the actions of the period are listed by their own
// time, the release of a file received before the period included.
func TestBuildListsRefusedFilesAndActionsOfThePeriod(t *testing.T) {
	r := Build(refusedPeriod(), since, until, "", now)
	var got []string
	for _, f := range r.Files {
		got = append(got, f.Name+" "+f.Status+" "+f.BatchID+"/"+f.EarlierBatchID)
	}
	want := []string{"census_1.csv ALREADY_PROCESSED /OLD", "census_2.csv APPLIED L/", "census_3.csv ALREADY_PROCESSED /L"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f := r.Files[0]; len(f.Outputs) != 2 || f.Outputs[0].SHA256 != "o1" || f.Outputs[0].BatchID != "" ||
		len(f.Codes) != 1 || f.Codes[0] != (CodeCount{"FILE_ALREADY_PROCESSED", 1}) {
		t.Errorf("the refused file: %+v", f)
	}
	wantTotals := Totals{Files: 3, FilesApplied: 1, Rows: 2, Accepted: 2, KYCApprovals: 1, OutputsDelivered: 2,
		FilesAlreadyProcessed: 2, ReleasesInPeriod: 1, RerunsInPeriod: 1, DeliveriesOfEarlierFiles: 1}
	if r.Totals != wantTotals {
		t.Errorf("totals: got %+v, want %+v", r.Totals, wantTotals)
	}
	if got := r.RejectionsByCode; len(got) != 1 || got[0] != (CodeCount{"FILE_ALREADY_PROCESSED", 2}) {
		t.Errorf("rejections by code: %+v", got)
	}
	wantDays := []DayCount{{"2026-11-01", 1}, {"2026-11-02", 0}, {"2026-11-03", 1}}
	if len(r.RejectionsByDay) != 3 || r.RejectionsByDay[0] != wantDays[0] || r.RejectionsByDay[2] != wantDays[2] {
		t.Errorf("rejections by day: %+v, want %+v", r.RejectionsByDay, wantDays)
	}
	var acts []string
	for _, a := range r.OperatorActions {
		acts = append(acts, a.At+" "+a.Action+" "+a.By+" "+a.BatchID+" "+a.PersonID)
	}
	wantActs := []string{"2026-11-02T09:00:00Z RELEASED dana OCT ", "2026-11-02T09:00:05Z DELIVERED  OCT2 ",
		"2026-11-02T10:00:00Z KYC_APPROVED   P"}
	if strings.Join(acts, "\n") != strings.Join(wantActs, "\n") {
		t.Errorf("operator actions:\n%s\nwant:\n%s", strings.Join(acts, "\n"), strings.Join(wantActs, "\n"))
	}
	if a := r.OperatorActions[0]; a.Reason != "vendor called; SSN ***-**-6789, DOB ****-**-**" ||
		a.RerunBatchID != "OCT2" || a.File != "elections_oct.csv" || a.ReceivedAt != "2026-10-30T02:00:00Z" {
		t.Errorf("the release: %+v", a)
	}

	var html, csvOut, js bytes.Buffer
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Operator actions in the period", "Hold released", "dana", "elections_oct.csv",
		"received 2026-10-30T02:00:00Z", "sha256 d1", "ALREADY_PROCESSED", "already applied as batch <span class=\"mono\">OLD</span>",
		"KYC approved", "sha256 o1"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if err := WriteCSV(&csvOut, r); err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(&csvOut)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]bool{"report": true, "totals": true, "files": true, "kyc_approvals": true,
		"operator_actions": true, "rejections_by_code": true, "rejections_by_day": true}
	var section string
	rows := map[string][][]string{} // each section's header and rows
	for _, rec := range recs {
		if len(rec) == 1 && titles[rec[0]] {
			section = rec[0]
			continue
		}
		rows[section] = append(rows[section], rec)
	}
	if acts := rows["operator_actions"]; len(acts) != 4 || acts[1][1] != "RELEASED" || acts[2][2] != "" ||
		!strings.Contains(acts[2][12], "elections_oct.ack.csv sha256:d1") || acts[3][9] != "P" {
		t.Errorf("operator_actions section: %q", acts)
	}
	if files := rows["files"]; len(files) != 4 || files[2][1] != "local" || files[1][20] != "OLD" || files[1][7] != "ALREADY_PROCESSED" {
		t.Errorf("files section: %q", files)
	}
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Totals          map[string]any   `json:"totals"`
		Files           []map[string]any `json:"files"`
		OperatorActions []map[string]any `json:"operator_actions"`
	}
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.OperatorActions) != 3 || m.Files[1]["source"] != "" || m.Files[0]["earlier_batch_id"] != "OLD" ||
		m.Totals["files_already_processed"] != 2.0 || m.Totals["deliveries_of_earlier_files"] != 1.0 {
		t.Errorf("JSON: %s", js.String())
	}
}
