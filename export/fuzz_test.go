package export

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"unicode"

	"enrollsftp"
)

// FuzzWriteAck: whatever the cells hold, the ack and error files parse
// back as CSV with one line per record, no cell can start a spreadsheet
// formula, and removing the guard apostrophe gives the cell back (with
// any SSN shape masked).
func FuzzWriteAck(f *testing.F) {
	for _, seed := range [][3]string{
		{"R1", "ACME", "fine"},
		{"=HYPERLINK(\"http://x\")", "+1", "-2"},
		{"@SUM(A1)", "\tTab", "\rCR"},
		{"a,b", "\"quoted\"", "line\nbreak"},
		{"", "", ""},
		{"'already", "名前", "😀"},
		{"\u00a0=1", "\u200b+1", " \t@x"},
		{"\ufeff=1", "\u2060-1", "\u200c\u200d=1"},
		{"＝1", "＋1", "－1"},
		{"＠x", " ＝1", "-5"},
		{"123-45-6789", "123.45.6789", "１２３－４５－６７８９"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, recordID, employer, message string) {
		outs := []enrollsftp.Outcome{
			{Line: 2, RecordID: recordID, EmployerID: employer, EmployeeID: "E1", Action: "UPSERT", Status: "REJECTED",
				Codes: "INVALID_ZIP", Message: message, Raw: []string{recordID, employer, message}},
			{Line: 3, RecordID: "R2", EmployerID: employer, Action: "UPSERT", Status: "ACCEPTED"},
		}
		records := func(fn func(enrollsftp.Outcome) error) error {
			for _, o := range outs {
				if err := fn(o); err != nil {
					return err
				}
			}
			return nil
		}
		var ack, errs bytes.Buffer
		if err := WriteAck(&ack, records); err != nil {
			t.Fatal(err)
		}
		b := enrollsftp.Batch{Header: []string{"record_id", "employer_id", "note"}, Rejected: 1}
		if err := WriteErrors(&errs, b, records); err != nil {
			t.Fatal(err)
		}
		for name, buf := range map[string]*bytes.Buffer{"ack": &ack, "errors": &errs} {
			rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
			if err != nil {
				t.Fatalf("%s does not parse back: %v", name, err)
			}
			want := map[string]int{"ack": 3, "errors": 2}[name]
			if len(rows) != want {
				t.Fatalf("%s: got %d rows, want %d", name, len(rows), want)
			}
			for _, row := range rows {
				for _, cell := range row {
					if startsFormula(cell) {
						t.Fatalf("%s: cell %q can start a formula", name, cell)
					}
				}
			}
		}
		rows, _ := csv.NewReader(bytes.NewReader(ack.Bytes())).ReadAll()
		// An SSN shape is masked; encoding/csv turns \r\n inside a quoted
		// field into \n.
		masked := enrollsftp.ScrubSSN(recordID)
		got := rows[1][1]
		if enrollsftp.NeutralizeCell(masked) != masked {
			got = strings.TrimPrefix(got, "'")
		}
		if want := strings.ReplaceAll(masked, "\r\n", "\n"); got != want && !strings.Contains(recordID, "\r") {
			t.Fatalf("record_id round trip: got %q, want %q", got, want)
		}
	})
}

// startsFormula reports whether a spreadsheet could take cell for a
// formula: its first character is tab or CR, or its first visible one
// (past spaces, control and format characters and the other invisible
// ones) is = + - @ or a full-width or small form of one. A leading
// apostrophe makes the cell text.
func startsFormula(cell string) bool {
	for _, r := range cell {
		switch {
		case strings.ContainsRune("=+-@\t\r＝＋－＠﹦﹢﹣﹫", r):
			return true
		case unicode.IsSpace(r) || unicode.In(r, unicode.Cc, unicode.Cf) || strings.ContainsRune("\u115f\u1160\u3164\uffa0\u2800\u034f", r):
			continue
		}
		return false
	}
	return false
}
