package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"enrollsftp"
	"enrollsftp/enroll"
)

// Event is an audit event as a reviewer reads it (its JSON form is
// stable): who did what to which entity, and each field it changed, with
// every SSN and date of birth masked.
type Event struct {
	Seq     int64    `json:"seq"`
	At      string   `json:"at"`
	Actor   Actor    `json:"actor"`
	Action  string   `json:"action"`
	Entity  Entity   `json:"entity"`
	Reason  string   `json:"reason"` // an operator's
	Changes []Change `json:"changes"`
}

// Actor says where an event came from: an operator (by name), a file (its
// batch, and the record's line; line 0 for the batch itself), or the
// config (the plans file it names, loaded at the start of run, serve and
// rerun).
type Actor struct {
	Kind     string `json:"kind"` // "operator", "batch" or "config"
	Operator string `json:"operator"`
	BatchID  string `json:"batch_id"`
	Line     int    `json:"line"`
}

// Entity is what an event changed.
type Entity struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Change is one field before and after ("" when absent: a CREATE has no
// before). A date of birth is kept as a keyed tag (dob_tag): it is shown
// as the field dob, masked on both sides, so a corrected date shows as a
// change without showing either date.
type Change struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// AuditEvent makes a stored event readable and masked.
func AuditEvent(e enroll.AuditEvent) Event {
	ev := Event{Seq: e.Seq, At: e.At, Action: e.Action, Entity: Entity{Type: e.Entity, ID: e.EntityID},
		Reason: enrollsftp.ScrubSensitive(e.Reason), Changes: changes(e.Before, e.After)}
	if ev.Reason != "" { // an approval's snapshot repeats it
		ev.Changes = slices.DeleteFunc(ev.Changes, func(c Change) bool {
			return c.Field == "reason" && c.Before == "" && c.After == ev.Reason
		})
	}
	switch {
	case e.Actor == enroll.ConfigActor && e.BatchID == "":
		ev.Actor = Actor{Kind: "config"}
	case e.Actor != "" || e.BatchID == "":
		// An operator's; with no batch and no name, an approval recorded
		// before operators were named.
		ev.Actor = Actor{Kind: "operator", Operator: enrollsftp.ScrubSSN(e.Actor), BatchID: e.BatchID}
	default:
		ev.Actor = Actor{Kind: "batch", BatchID: e.BatchID, Line: e.Line}
	}
	return ev
}

// changes lists the fields of two JSON snapshots, in name order, each
// masked. A snapshot that is not a JSON object is shown as one field.
// When there are both, a field only the before has is left out: a change
// stores the same fields on both sides, and an approval's before is the
// whole row, most of which it did not touch.
func changes(before, after string) []Change {
	b, a := fields(before), fields(after)
	names := make([]string, 0, len(b)+len(a))
	for k := range b {
		if _, ok := a[k]; ok || a == nil {
			names = append(names, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	out := make([]Change, 0, len(names))
	for _, k := range names {
		field := k
		if k == "dob_tag" {
			field = "dob"
		}
		out = append(out, Change{Field: field, Before: Mask(k, b[k]), After: Mask(k, a[k])})
	}
	return out
}

// fields reads a snapshot's fields as text.
func fields(snapshot string) map[string]string {
	if strings.TrimSpace(snapshot) == "" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(snapshot), &m); err != nil {
		return map[string]string{"value": snapshot}
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = text(v)
	}
	return out
}

// text is a JSON value as plain text: a string unquoted, null as "".
func text(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if string(v) == "null" {
		return ""
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) == nil {
		return buf.String()
	}
	return string(v)
}

// anID is an identifier the system made (a UUID).
var anID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Mask hides what a field's value must not show, whatever the field: an
// SSN (ssn_last4 as ***-**-1234, any other ssn field masked whole but its
// last four), a date of birth (****-**-**), and any SSN-shaped value
// elsewhere. Free text (a reason, an error, a message) has every SSN- and
// date-shaped value masked, as it may quote a date of birth, and so has any
// field but the few that hold other dates.
func Mask(field, v string) string {
	f := strings.ToLower(field)
	switch {
	case v == "":
		return ""
	case anID.MatchString(v):
		return v // one of ours: nine digits in a row there are no SSN
	case f == "ssn_last4":
		if len(v) == 4 && strings.Trim(v, "0123456789") == "" {
			return "***-**-" + v
		}
		return "***-**-****"
	case strings.Contains(f, "ssn"):
		return enrollsftp.MaskSSN(v)
	case strings.Contains(f, "dob") || strings.Contains(f, "birth"):
		if v == "true" || v == "false" { // has_dob
			return v
		}
		return enrollsftp.MaskDOB(v)
	case f == "reason" || f == "error" || f == "message" || f == "value":
		return enrollsftp.ScrubSensitive(v)
	case notBirthDate(f):
		return enrollsftp.ScrubSSN(v)
	}
	// A name, an address, an email: a date there is a date of birth in the
	// wrong column, as likely as not.
	return enrollsftp.ScrubSensitive(v)
}

// notBirthDate reports whether a field holds a date that is not a date of
// birth (hired, effective, a plan year's bounds, a time of ours).
func notBirthDate(f string) bool {
	switch f {
	case "start", "end", "enrollment_start", "enrollment_end", "runout_end":
		return true
	}
	return strings.HasSuffix(f, "_date") || strings.HasSuffix(f, "_at")
}

// AuditWriter writes events as they come, as a text table or a JSON
// array, so that a long trail is never held in memory.
type AuditWriter struct {
	w      io.Writer
	asJSON bool
	tw     *tabwriter.Writer
	n      int
	err    error
}

// auditBlock is how many events the text table aligns at a time.
const auditBlock = 1000

// NewAuditWriter starts a text table (time, actor, action, entity, then
// each changed field, and an operator's reason, on a line of its own) or,
// asJSON, a JSON array of events, one a line.
func NewAuditWriter(w io.Writer, asJSON bool) *AuditWriter {
	a := &AuditWriter{w: w, asJSON: asJSON}
	if asJSON {
		_, a.err = io.WriteString(w, "[")
	} else {
		a.tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		_, a.err = fmt.Fprintln(a.tw, "TIME\tACTOR\tACTION\tENTITY\tCHANGES")
	}
	return a
}

// Write writes one event.
func (a *AuditWriter) Write(e Event) error {
	if a.err != nil {
		return a.err
	}
	a.n++
	if a.asJSON {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		sep := ",\n  "
		if a.n == 1 {
			sep = "\n  "
		}
		_, a.err = fmt.Fprintf(a.w, "%s%s", sep, b)
		return a.err
	}
	var lines []string
	if e.Reason != "" {
		lines = append(lines, "why: "+OneLine(e.Reason))
	}
	for _, c := range e.Changes {
		lines = append(lines, OneLine(c.Field)+": "+changeShown(e.Action, c))
	}
	if len(lines) == 0 {
		lines = []string{"-"}
	}
	fmt.Fprintf(a.tw, "%s\t%s\t%s\t%s %s\t%s\n", OneLine(e.At), OneLine(e.Actor.String()), OneLine(e.Action),
		OneLine(e.Entity.Type), OneLine(e.Entity.ID), lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintf(a.tw, "\t\t\t\t%s\n", l)
	}
	if a.n%auditBlock == 0 {
		a.err = a.tw.Flush()
	}
	return a.err
}

// Close ends the table or the array.
func (a *AuditWriter) Close() error {
	if a.err != nil {
		return a.err
	}
	if !a.asJSON {
		return a.tw.Flush()
	}
	end := "]\n"
	if a.n > 0 {
		end = "\n]\n"
	}
	_, err := io.WriteString(a.w, end)
	return err
}

// changeShown is a change as the text table shows it, on one line: the
// value a CREATE set, else before → after ("-" for none), or "changed"
// when the masks of both sides read the same (a corrected date of birth).
func changeShown(action string, c Change) string {
	before, after := OneLine(c.Before), OneLine(c.After)
	switch {
	case action == "CREATE" && before == "":
		return dash(after)
	case before != "" && before == after:
		return "changed"
	}
	return dash(before) + " → " + dash(after)
}

// OneLine makes a value safe to print on one line of a text output: line
// breaks, tabs and other control characters, the Unicode line and
// paragraph separators and the bidirectional controls (which can make a
// line read as another) are written as escapes (\n, \r, \t, \x1b,
// \u202e), and so is a backslash (\\), so that what is shown can be read
// back; a byte that is not UTF-8 is written \xNN. Anything else is left
// as it is. The JSON forms need none of this: their encoding escapes.
func OneLine(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unsafeFormat(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// unsafeFormat reports the invisible characters that move or break a
// line: the line and paragraph separators and the bidirectional marks,
// embeddings, overrides and isolates.
func unsafeFormat(r rune) bool {
	switch {
	case r == 0x2028, r == 0x2029, r == 0x061c, r == 0x200e, r == 0x200f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// String is the actor as the text table shows it.
func (a Actor) String() string {
	switch {
	case a.Kind == "config":
		return "config"
	case a.Kind == "operator" && a.Operator == "":
		return "operator (not recorded)"
	case a.Kind == "operator":
		return "operator " + a.Operator
	case a.Line > 0:
		return fmt.Sprintf("batch %s line %d", a.BatchID, a.Line)
	}
	return "batch " + a.BatchID
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
