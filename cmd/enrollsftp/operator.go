package main

import (
	"fmt"
	"os"
	"os/user"
	"strings"
	"unicode"
	"unicode/utf8"

	"enrollsftp"
	"enrollsftp/enroll"
)

// maxOperatorName is the longest operator name --by takes, in characters.
const maxOperatorName = 100

// operator is who runs an operator's command (kyc approve, rerun, plans
// load), and why: --by, else the OS user. The audit trail keeps both, each
// on one line: a name is refused when it holds a line break, a control or
// an invisible formatting character, or is longer than maxOperatorName; a
// reason may hold line breaks and tabs (kept as spaces) but no other
// control or formatting character. The name "config" is the plans file
// named by the config (enroll.ConfigActor): no operator may take it.
func operator(cmd, by, reason string) (enroll.Actor, error) {
	name := strings.TrimSpace(by)
	from := "--by"
	if name == "" {
		name, from = osUser(), "the OS user (SUDO_USER or USER)"
	}
	if name == "" {
		return enroll.Actor{}, usageErr("%s: no OS user found: name the operator with --by NAME", cmd)
	}
	if r, ok := unprintable(name, false); !ok {
		return enroll.Actor{}, badValue("%s: %s %q holds %s: want a name on one line, printable characters only", cmd,
			from, name, r)
	}
	if n := utf8.RuneCountInString(name); n > maxOperatorName {
		return enroll.Actor{}, badValue("%s: %s is %d characters long: at most %d", cmd, from, n, maxOperatorName)
	}
	if strings.EqualFold(name, enroll.ConfigActor) {
		return enroll.Actor{}, badValue("%s: %s %q is reserved for the plans file the config names: give your own name",
			cmd, from, name)
	}
	if r, ok := unprintable(reason, true); !ok {
		return enroll.Actor{}, badValue("%s: --reason holds %s: only printable characters, line breaks and tabs", cmd, r)
	}
	return enroll.Actor{Name: name, Reason: strings.TrimSpace(reason)}, nil
}

// badValue is a usage error (exit 2) about a flag's value: the message
// says what is wrong, the usage text would not.
func badValue(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// unprintable finds the first character of s a one-line record must not
// hold: a control character (but for line breaks and tabs when breaks is
// set), an invisible formatting character (bidirectional controls, zero
// widths), or a byte that is not UTF-8; ok is false when there is one, r
// names it.
func unprintable(s string, breaks bool) (r string, ok bool) {
	for i, c := range s {
		switch {
		case c == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return fmt.Sprintf("a byte that is not UTF-8 (0x%02X)", s[i]), false
		case breaks && (c == '\n' || c == '\r' || c == '\t'):
		case unicode.IsControl(c) || unicode.Is(unicode.Cf, c) || c == '\u2028' || c == '\u2029':
			return fmt.Sprintf("the control or formatting character U+%04X", c), false
		}
	}
	return "", true
}

// osUser is the operator by default: SUDO_USER when set (the person who
// ran sudo, not root), else the user the process runs as.
func osUser() string {
	if u := strings.TrimSpace(os.Getenv("SUDO_USER")); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return strings.TrimSpace(os.Getenv("USER"))
}

// rerunJSON is a rerun a batch took part in, as `batch show --json` gives
// it: the batch rerun (batch_id), the batch it became (rerun_batch_id),
// and who did it and why. action is RERUN, or RELEASED for a HELD batch
// released with --force.
type rerunJSON struct {
	Action       string `json:"action"`
	At           string `json:"at"`
	By           string `json:"by"`
	Reason       string `json:"reason"`
	BatchID      string `json:"batch_id"`
	RerunBatchID string `json:"rerun_batch_id"`
}

func rerunsJSON(events []enroll.AuditEvent) []rerunJSON {
	var out []rerunJSON
	for _, e := range events {
		out = append(out, rerunJSON{Action: e.Action, At: e.At, By: e.Actor, Reason: enrollsftp.ScrubSensitive(e.Reason),
			BatchID: e.EntityID, RerunBatchID: e.BatchID})
	}
	return out
}

// rerunLabel names a rerun's line in `batch show` of batch id: what it
// is to that batch.
func rerunLabel(r rerunJSON, id string) string {
	switch {
	case r.BatchID != id:
		return "rerun_of"
	case r.Action == "RELEASED":
		return "released_by"
	}
	return "rerun_by"
}

func rerunShown(r rerunJSON) string {
	by := r.By
	if by == "" {
		by = "(not recorded)"
	}
	return fmt.Sprintf("%s %s by %s: %s (batch %s → %s)", r.At, r.Action, by, dash(r.Reason), r.BatchID, r.RerunBatchID)
}
